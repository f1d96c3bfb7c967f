/// HTTP integration tests: the real jobrt-server, started as a child process on
/// a free port, driven over HTTP by a small Beast client.

#define BOOST_TEST_MODULE jobrt_server_http
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstring>
#include <string_view>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>

#include "server_process.hpp"

namespace json = boost::json;
namespace http = boost::beast::http;
using namespace test_support;

namespace {

constexpr const char* admin = "admin-secret";
constexpr const char* acme = "acme-secret";
constexpr const char* globex = "globex-secret";

/// One server with tokens for a whole suite: an admin token and two owner tokens.
struct server_fixture {
  server_process server{{"--token", admin, "--owner-token", std::string{acme} + "=acme",
                         "--owner-token", std::string{globex} + "=globex"}};
  jobrt_client::http_client api = server.client(admin);

  jobrt_client::reply get(const std::string& target) { return api.request(http::verb::get, target); }
  jobrt_client::reply post(const std::string& target, const std::string& body = {}) {
    return api.request(http::verb::post, target, body);
  }

  /// Submits a countdown and returns its id.
  std::uint64_t submit_countdown(jobrt_client::http_client& c, int n, int pace_ms,
                                 const std::string& extra = {}) {
    auto r = c.request(http::verb::post, "/api/jobs",
                       R"({"type":"countdown","params":{"n":)" + std::to_string(n)
                         + R"(,"pace_ms":)" + std::to_string(pace_ms) + "}" + extra + "}");
    BOOST_REQUIRE_EQUAL(r.status, 202);
    return body_of(r).at("id").to_number<std::uint64_t>();
  }
  std::uint64_t submit_countdown(int n, int pace_ms, const std::string& extra = {}) {
    return submit_countdown(api, n, pace_ms, extra);
  }

  /// Submits an approval job and waits until it waits for its signal.
  std::uint64_t submit_approval(jobrt_client::http_client& c) {
    auto r = c.request(http::verb::post, "/api/jobs", R"({"type":"approval","params":{}})");
    BOOST_REQUIRE_EQUAL(r.status, 202);
    auto id = body_of(r).at("id").to_number<std::uint64_t>();
    BOOST_REQUIRE(wait_for_status(api, id, "waiting"));
    return id;
  }
  std::uint64_t submit_approval() { return submit_approval(api); }
};

/// A whole HTTP exchange over a plain socket: sends `bytes`, then reads until
/// the server closes the connection or `timeout` passes (send `Connection:
/// close`). Returns everything read, headers included; empty if nothing came.
/// A server that stops reading early may reset the connection: what was read
/// until then is returned.
std::string raw_exchange(const server_process& server, const std::string& bytes,
                         std::chrono::milliseconds timeout = std::chrono::seconds{10});

/// A plain TCP connection to the server (close it with ::close).
int connect_to(const server_process& server) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  BOOST_REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<unsigned short>(std::stoi(server.address().port)));
  BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

std::string raw_exchange(const server_process& server, const std::string& bytes,
                         std::chrono::milliseconds timeout) {
  int fd = connect_to(server);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string in;
  std::size_t sent = 0;
  char buf[65536];
  bool open = true;
  while (open && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, static_cast<short>(POLLIN | (sent < bytes.size() ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, 50) <= 0)
      continue;
    if (p.revents & POLLIN) {
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0)
        open = false;
      else
        in.append(buf, static_cast<std::size_t>(n));
    } else if (p.revents & POLLOUT) {
      auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n < 0)
        sent = bytes.size(); // the server stopped reading; take what it answered
      else
        sent += static_cast<std::size_t>(n);
    } else {
      open = false; // hang-up or error
    }
  }
  ::close(fd);
  return in;
}

/// The status code of a raw answer ("HTTP/1.1 431 ..."), 0 if there is none.
int raw_status(const std::string& answer) {
  if (answer.size() < 12 || answer.compare(0, 5, "HTTP/") != 0)
    return 0;
  return std::atoi(answer.c_str() + 9);
}

/// True if the raw answer's header section has `name: value` (case-insensitive name).
bool raw_has_header(const std::string& answer, std::string name, const std::string& value) {
  auto end = answer.find("\r\n\r\n");
  auto head = answer.substr(0, end == std::string::npos ? end : end + 2); // with the last CRLF
  for (auto& c : head)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (auto& c : name)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto v = value;
  for (auto& c : v)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return head.find("\r\n" + name + ": " + v + "\r\n") != std::string::npos;
}

/// A chunked POST /api/jobs of a small countdown, with `headers` (each ending
/// in CRLF) and a trailer section of `trailer` (each field ending in CRLF).
std::string chunked_submit(const std::string& headers, const std::string& trailer,
                           const std::string& transfer_encoding = "chunked") {
  std::string body = R"({"type":"countdown","params":{"n":1}})";
  char size[16];
  std::snprintf(size, sizeof size, "%zx", body.size());
  return "POST /api/jobs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
         "Content-Type: application/json\r\nTransfer-Encoding: "
         + transfer_encoding + "\r\n" + headers + "\r\n" + size + "\r\n" + body + "\r\n0\r\n"
         + trailer + "\r\n";
}

std::string bearer(const char* token) {
  return std::string{"Authorization: Bearer "} + token + "\r\n";
}

std::string error_code(const jobrt_client::reply& r) {
  auto doc = body_of(r);
  if (!doc.is_object() || !doc.as_object().contains("error"))
    return "<no error field: " + r.body + ">";
  return std::string{doc.at("error").as_string()};
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(http_api, server_fixture)

BOOST_AUTO_TEST_CASE(healthz_answers_without_a_token) {
  auto r = server.client().request(http::verb::get, "/healthz");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(body_of(r).at("status") == "ok");
}

BOOST_AUTO_TEST_CASE(job_types_list_each_types_parameters) {
  auto r = get("/api/job-types");
  BOOST_REQUIRE_EQUAL(r.status, 200);
  bool found = false;
  auto doc = body_of(r);
  for (const auto& t : doc.at("types").as_array()) {
    if (t.at("name") != "countdown")
      continue;
    found = true;
    const auto& params = t.at("params").as_array();
    BOOST_REQUIRE_EQUAL(params.size(), 2u);
    BOOST_TEST(params[0].at("name") == "n");
    BOOST_TEST(params[0].at("type") == "integer");
    BOOST_TEST(params[0].at("required") == true);
    BOOST_TEST(params[1].at("required") == false);
  }
  BOOST_TEST(found);
}

BOOST_AUTO_TEST_CASE(submit_answers_202_and_get_returns_the_whole_record) {
  auto r = post("/api/jobs", R"({"type":"countdown","params":{"n":3},"priority":5,"owner":"acme"})");
  BOOST_REQUIRE_EQUAL(r.status, 202);
  auto doc = body_of(r);
  // The status when the answer was made: a fast job may already run or be done.
  auto status = std::string{doc.at("status").as_string()};
  BOOST_TEST((status == "queued" || status == "running" || status == "completed"), status);
  auto id = doc.at("id").to_number<std::uint64_t>();
  BOOST_REQUIRE(wait_for_status(api, id, "completed"));
  auto rec = body_of(get("/api/jobs/" + std::to_string(id)));
  BOOST_TEST(rec.at("type") == "countdown");
  BOOST_TEST(rec.at("owner") == "acme");
  BOOST_TEST(rec.at("priority") == 5);
  BOOST_TEST(rec.at("params").at("n") == 3);
  BOOST_TEST(rec.at("output").at("counted") == 3);
  BOOST_TEST(rec.at("attempts") == 1);
  for (auto key : {"created_at", "started_at", "finished_at", "checkpoint_at", "progress", "error"})
    BOOST_TEST(rec.as_object().contains(key), key);
}

BOOST_AUTO_TEST_CASE(list_filters_and_pages_newest_first) {
  auto a = submit_countdown(0, 0, R"(,"owner":"lister")");
  auto b = submit_countdown(0, 0, R"(,"owner":"lister")");
  auto c = submit_countdown(0, 0, R"(,"owner":"lister")");
  BOOST_REQUIRE(wait_for_status(api, c, "completed"));
  BOOST_REQUIRE(wait_for_status(api, a, "completed"));
  auto page1 = body_of(get("/api/jobs?owner=lister&type=countdown&status=completed&limit=2"));
  const auto& jobs1 = page1.at("jobs").as_array();
  BOOST_REQUIRE_EQUAL(jobs1.size(), 2u);
  BOOST_TEST(jobs1[0].at("id").to_number<std::uint64_t>() == c);
  BOOST_TEST(jobs1[1].at("id").to_number<std::uint64_t>() == b);
  BOOST_REQUIRE(!page1.at("next_cursor").is_null());
  auto page2 = body_of(get("/api/jobs?owner=lister&limit=2&cursor="
                           + json::serialize(page1.at("next_cursor"))));
  const auto& jobs2 = page2.at("jobs").as_array();
  BOOST_REQUIRE_EQUAL(jobs2.size(), 1u);
  BOOST_TEST(jobs2[0].at("id").to_number<std::uint64_t>() == a);
  BOOST_TEST(page2.at("next_cursor").is_null());
  auto none = body_of(get("/api/jobs?owner=lister&status=failed,cancelled"));
  BOOST_TEST(none.at("jobs").as_array().empty());
}

BOOST_AUTO_TEST_CASE(list_rejects_a_bad_query) {
  BOOST_TEST(get("/api/jobs?status=bogus").status == 400);
  BOOST_TEST(get("/api/jobs?limit=0").status == 400);
  BOOST_TEST(get("/api/jobs?limit=abc").status == 400);
  BOOST_TEST(get("/api/jobs?cursor=-1").status == 400);
  BOOST_TEST(get("/api/jobs?owner=%zz").status == 400);
}

BOOST_AUTO_TEST_CASE(malformed_json_answers_400) {
  auto r = post("/api/jobs", R"({"type":"countdown",)");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(error_code(r) == "malformed_json");
  BOOST_TEST(post("/api/jobs", "[1,2]").status == 400);
  BOOST_TEST(post("/api/jobs", R"({"params":{}})").status == 400);
  BOOST_TEST(post("/api/jobs", R"({"type":"countdown","bogus":1})").status == 400);
  BOOST_TEST(post("/api/jobs", R"({"type":"countdown","params":{"n":1},"priority":1.5})").status == 400);
}

BOOST_AUTO_TEST_CASE(unknown_type_answers_400) {
  auto r = post("/api/jobs", R"({"type":"no_such_type","params":{}})");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(error_code(r) == "unknown_job_type");
}

BOOST_AUTO_TEST_CASE(invalid_params_answer_400_naming_the_field) {
  auto r = post("/api/jobs", R"({"type":"countdown","params":{"n":"ten"}})");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(error_code(r) == "invalid_params");
  BOOST_TEST(r.body.find("'n'") != std::string::npos);
  BOOST_TEST(post("/api/jobs", R"({"type":"countdown","params":{}})").status == 400);
}

BOOST_AUTO_TEST_CASE(a_second_submit_with_the_same_idempotency_key_returns_the_first_job) {
  auto body = R"({"type":"countdown","params":{"n":1},"idempotency_key":"invoice-42"})";
  auto first = post("/api/jobs", body);
  BOOST_REQUIRE_EQUAL(first.status, 202);
  auto second = post("/api/jobs", body);
  BOOST_REQUIRE_EQUAL(second.status, 202);
  BOOST_TEST(body_of(first).at("id") == body_of(second).at("id"));
  auto bad = post("/api/jobs", R"({"type":"countdown","params":{"n":1},"idempotency_key":7})");
  BOOST_TEST(bad.status == 400);
}

BOOST_AUTO_TEST_CASE(a_job_with_a_future_run_at_waits_as_scheduled) {
  auto r = post("/api/jobs", R"({"type":"countdown","params":{"n":1},"run_at":4102444800000})");
  BOOST_REQUIRE_EQUAL(r.status, 202);
  BOOST_TEST(body_of(r).at("status") == "waiting");
  auto rec = body_of(get("/api/jobs/" + std::to_string(body_of(r).at("id").as_int64())));
  BOOST_TEST(rec.at("waiting_for") == "scheduled");
  BOOST_TEST(post("/api/jobs", R"({"type":"countdown","params":{"n":1},"run_at":"soon"})").status
             == 400);
}

BOOST_AUTO_TEST_CASE(an_oversized_body_answers_413) {
  std::string big = R"({"type":"countdown","params":{"n":1,"pad":")" + std::string(2u << 20, 'x')
                    + "\"}}";
  auto r = post("/api/jobs", big);
  BOOST_TEST(r.status == 413);
  BOOST_TEST(error_code(r) == "payload_too_large");
  BOOST_TEST(get("/healthz").status == 200);
}

BOOST_AUTO_TEST_CASE(a_missing_or_wrong_token_answers_401) {
  auto none = server.client().request(http::verb::get, "/api/jobs");
  BOOST_TEST(none.status == 401);
  BOOST_TEST(error_code(none) == "unauthorized");
  BOOST_TEST(server.client("wrong").request(http::verb::get, "/api/jobs").status == 401);
  BOOST_TEST(server.client("wrong").request(http::verb::post, "/api/jobs",
                                            R"({"type":"countdown","params":{"n":1}})").status == 401);
  BOOST_TEST(server.client("wrong").request(http::verb::get, "/metrics").status == 401);
}

BOOST_AUTO_TEST_CASE(an_owner_token_sees_and_steers_only_its_own_jobs) {
  auto acme_api = server.client(acme);
  auto globex_api = server.client(globex);
  // Submits are made as the token's owner; another owner is refused.
  auto mine = submit_countdown(acme_api, 2000, 20);
  BOOST_TEST(body_of(get("/api/jobs/" + std::to_string(mine))).at("owner") == "acme");
  auto other = acme_api.request(http::verb::post, "/api/jobs",
                                R"({"type":"countdown","params":{"n":1},"owner":"globex"})");
  BOOST_TEST(other.status == 403);
  // Another owner's job: 403 for get and every steer, and the job is unchanged.
  auto path = "/api/jobs/" + std::to_string(mine);
  BOOST_TEST(globex_api.request(http::verb::get, path).status == 403);
  for (auto action : {"/pause", "/cancel", "/resume", "/retry"})
    BOOST_TEST(globex_api.request(http::verb::post, path + action).status == 403, action);
  BOOST_TEST(acme_api.request(http::verb::get, path).status == 200);
  // Lists are filtered to the owner; asking for another owner is refused.
  auto listed = body_of(globex_api.request(http::verb::get, "/api/jobs"));
  for (const auto& j : listed.at("jobs").as_array())
    BOOST_TEST(j.at("owner") == "globex");
  BOOST_TEST(globex_api.request(http::verb::get, "/api/jobs?owner=acme").status == 403);
  BOOST_TEST(acme_api.request(http::verb::get, "/metrics").status == 403);
  BOOST_TEST(acme_api.request(http::verb::post, path + "/cancel").status == 200);
}

BOOST_AUTO_TEST_CASE(pause_resume_cancel_and_illegal_transitions) {
  auto id = submit_countdown(100000, 20);
  auto path = "/api/jobs/" + std::to_string(id);
  BOOST_REQUIRE(wait_for_status(api, id, "running"));
  auto paused = post(path + "/pause");
  BOOST_REQUIRE_EQUAL(paused.status, 200);
  BOOST_TEST(body_of(paused).at("status") == "paused");
  auto again = post(path + "/pause");
  BOOST_TEST(again.status == 409);
  BOOST_TEST(error_code(again) == "illegal_transition");
  BOOST_TEST(post(path + "/retry").status == 409); // only failed jobs retry
  BOOST_TEST(body_of(get(path)).at("status") == "paused");
  BOOST_TEST(post(path + "/resume").status == 200);
  BOOST_REQUIRE(wait_for_status(api, id, "running"));
  auto cancelled = post(path + "/cancel");
  BOOST_REQUIRE_EQUAL(cancelled.status, 200);
  BOOST_TEST(body_of(cancelled).at("status") == "cancelled");
  BOOST_TEST(post(path + "/resume").status == 409);
  BOOST_TEST(post(path + "/cancel").status == 409);
}

BOOST_AUTO_TEST_CASE(a_failed_job_can_be_retried) {
  auto id = submit_countdown(-1, 0); // countdown fails for a negative n
  BOOST_REQUIRE(wait_for_status(api, id, "failed"));
  auto rec = body_of(get("/api/jobs/" + std::to_string(id)));
  BOOST_TEST(!rec.at("error").as_string().empty());
  auto r = post("/api/jobs/" + std::to_string(id) + "/retry");
  BOOST_TEST(r.status == 200);
  BOOST_REQUIRE(wait_for_status(api, id, "failed"));
  BOOST_TEST(body_of(get("/api/jobs/" + std::to_string(id))).at("attempts") == 2);
}

BOOST_AUTO_TEST_CASE(unknown_ids_routes_and_methods) {
  auto r = get("/api/jobs/999999");
  BOOST_TEST(r.status == 404);
  BOOST_TEST(error_code(r) == "not_found");
  BOOST_TEST(post("/api/jobs/999999/pause").status == 404);
  BOOST_TEST(get("/api/jobs/abc").status == 404);
  BOOST_TEST(get("/api/jobs/0").status == 404);
  BOOST_TEST(get("/api/jobs/99999999999999999999999").status == 404);
  BOOST_TEST(post("/api/jobs/1/explode").status == 404);
  BOOST_TEST(get("/api/nothing").status == 404);
  BOOST_TEST(get("/nothing.html").status == 404);
  BOOST_TEST(api.request(http::verb::put, "/api/jobs").status == 405);
  BOOST_TEST(get("/api/jobs/1/pause").status == 405);
}

BOOST_AUTO_TEST_CASE(delete_removes_a_finished_job_and_refuses_an_unfinished_one) {
  auto running = submit_countdown(1000, 50);
  auto refused = api.request(http::verb::delete_, "/api/jobs/" + std::to_string(running));
  BOOST_TEST(refused.status == 409);
  BOOST_TEST(post("/api/jobs/" + std::to_string(running) + "/cancel").status == 200);
  auto r = api.request(http::verb::delete_, "/api/jobs/" + std::to_string(running));
  BOOST_TEST(r.status == 200);
  BOOST_TEST(get("/api/jobs/" + std::to_string(running)).status == 404);
}

BOOST_AUTO_TEST_CASE(metrics_expose_counts_and_the_duration_histogram) {
  auto id = submit_countdown(2, 0);
  BOOST_REQUIRE(wait_for_status(api, id, "completed"));
  // The histogram is fed by the server's own event subscription: poll for it.
  std::string text;
  BOOST_TEST(poll_until([&] {
    auto r = get("/metrics");
    text = r.body;
    return r.status == 200 && text.find("jobrt_job_duration_seconds_count{type=\"countdown\"}") != std::string::npos;
  }));
  for (auto name : {"jobrt_jobs{status=\"queued\"}", "jobrt_jobs_submitted_total", "jobrt_jobs_completed_total",
                    "jobrt_jobs_failed_total", "jobrt_queue_depth", "jobrt_jobs_running",
                    "jobrt_job_duration_seconds_bucket{type=\"countdown\",le=\"+Inf\"}",
                    "jobrt_checkpoint_write_seconds_bucket{le=\"+Inf\"}",
                    "jobrt_checkpoint_write_seconds_count",
                    "jobrt_http_requests_total{code=\"200\"}"})
    BOOST_TEST(text.find(name) != std::string::npos, name);
}

BOOST_AUTO_TEST_CASE(hostile_requests_do_not_crash_the_server_or_touch_jobs) {
  auto id = submit_countdown(100000, 20);
  BOOST_REQUIRE(wait_for_status(api, id, "running"));
  auto garbage = api.raw("GARBAGE\r\n\r\n");
  BOOST_TEST(garbage.status == 400);
  auto bad_length = api.raw("POST /api/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n");
  BOOST_TEST(bad_length.status == 400);
  std::string huge_header = "GET /api/jobs HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'a')
                            + "\r\n\r\n";
  BOOST_TEST(api.raw(huge_header).status == 431);
  auto traversal = server.client().request(http::verb::get, "/../../etc/passwd");
  BOOST_TEST(traversal.status == 404);
  auto path = "/api/jobs/" + std::to_string(id);
  BOOST_TEST(post(path + "/pause%00").status == 404);
  BOOST_TEST(post("/api/jobs", std::string(1000, '{')).status == 400);
  BOOST_TEST(body_of(get(path)).at("status") == "running");
  BOOST_TEST(post(path + "/cancel").status == 200);
  BOOST_TEST(get("/healthz").status == 200);
}

BOOST_AUTO_TEST_CASE(the_dashboard_is_served_from_the_binary) {
  auto page = server.client().request(http::verb::get, "/");
  BOOST_TEST(page.status == 200);
  BOOST_TEST(page.content_type.find("text/html") == 0);
  BOOST_TEST(page.body.find("jobrt dashboard") != std::string::npos);
  auto js = server.client().request(http::verb::get, "/app.js");
  BOOST_TEST(js.status == 200);
  BOOST_TEST(js.content_type.find("text/javascript") == 0);
  BOOST_TEST(server.client().request(http::verb::get, "/app.css").status == 200);
}


// -- request framing: trailers, transfer codings ------------------------------------

BOOST_AUTO_TEST_CASE(a_trailer_field_over_64_kib_answers_431_and_the_server_lives_on) {
  // basic_fields refuses a field value over 65535 bytes by throwing; no token needed.
  auto answer = raw_exchange(server, chunked_submit("", "X-Pad: " + std::string(70'000, 'a') + "\r\n"));
  BOOST_TEST(raw_status(answer) == 431);
  BOOST_TEST(server.client().request(http::verb::get, "/healthz").status == 200);
}

BOOST_AUTO_TEST_CASE(many_trailer_fields_answer_431) {
  // 200k small fields (2.6 MB): the trailer counts against the header limit and
  // the read buffer has a maximum size, so neither is held in memory.
  std::string trailer;
  trailer.reserve(200'000 * 14);
  for (int i = 0; i < 200'000; ++i)
    trailer += "X-T: 1234567\r\n";
  auto answer = raw_exchange(server, chunked_submit(bearer(admin), trailer), std::chrono::seconds{20});
  BOOST_TEST(raw_status(answer) == 431);
  BOOST_TEST(get("/healthz").status == 200);
}

BOOST_AUTO_TEST_CASE(headers_and_trailer_share_one_limit) {
  // Each fits under 16 KiB on its own; together they do not.
  auto answer = raw_exchange(server, chunked_submit(bearer(admin) + "X-A: " + std::string(9'000, 'a') + "\r\n",
                                                    "X-B: " + std::string(9'000, 'b') + "\r\n"));
  BOOST_TEST(raw_status(answer) == 431);
  // A trailer alone over the limit, in fields of 1000 bytes.
  std::string trailer;
  for (int i = 0; i < 20; ++i)
    trailer += "X-T" + std::to_string(i) + ": " + std::string(1'000, 't') + "\r\n";
  BOOST_TEST(raw_status(raw_exchange(server, chunked_submit(bearer(admin), trailer))) == 431);
}

BOOST_AUTO_TEST_CASE(a_small_trailer_is_accepted_and_never_merged_into_the_headers) {
  auto ok = raw_exchange(server, chunked_submit(bearer(admin), "X-Checksum: abc\r\n"));
  BOOST_TEST(raw_status(ok) == 202, ok);
  // A trailer cannot supply the token the headers lack.
  auto no_token = raw_exchange(server, chunked_submit("", bearer(admin)));
  BOOST_TEST(raw_status(no_token) == 401, no_token);
  // Nor an owner token's owner another token: the job stays acme's.
  auto as_acme = raw_exchange(server, chunked_submit(bearer(acme), bearer(admin)));
  BOOST_REQUIRE_EQUAL(raw_status(as_acme), 202);
  auto doc = json::parse(as_acme.substr(as_acme.find("\r\n\r\n") + 4));
  auto id = doc.at("id").to_number<std::uint64_t>();
  BOOST_TEST(body_of(get("/api/jobs/" + std::to_string(id))).at("owner") == "acme");
}

BOOST_AUTO_TEST_CASE(chunk_extensions_count_against_the_header_limit) {
  // Extensions are ignored, but read: 20 kB of them answer 431, and a chunk line
  // of 200 kB cannot grow the read buffer past its maximum.
  auto with_extension = [&](std::size_t n) {
    std::string body = R"({"type":"countdown","params":{"n":1}})";
    char size[16];
    std::snprintf(size, sizeof size, "%zx", body.size());
    return "POST /api/jobs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + bearer(admin)
           + "Transfer-Encoding: chunked\r\n\r\n" + size + ";x=" + std::string(n, 'e') + "\r\n" + body
           + "\r\n0\r\n\r\n";
  };
  BOOST_TEST(raw_status(raw_exchange(server, with_extension(10))) == 202);
  BOOST_TEST(raw_status(raw_exchange(server, with_extension(20'000))) == 431);
  BOOST_TEST(raw_status(raw_exchange(server, with_extension(200'000))) == 431);
  BOOST_TEST(get("/healthz").status == 200);
}

BOOST_AUTO_TEST_CASE(a_body_near_the_limit_is_read_whole_in_one_piece_or_in_chunks) {
  // The read buffer's maximum bounds what waits to be parsed, not the body.
  std::string rules;
  for (int i = 0; rules.size() < 950'000; ++i)
    rules += (i ? "," : "") + std::string{"\"c"} + std::to_string(i) + R"(":[")" + std::string(90, 'm') + "\"]";
  std::string body = R"({"type":"bank_categorize","params":{"csv_path":"/nonexistent.csv","rules":{)" + rules + "}}}";
  BOOST_REQUIRE_LT(body.size(), std::size_t{1} << 20);
  BOOST_TEST(post("/api/jobs", body).status == 202);
  std::string chunks;
  for (std::size_t at = 0; at < body.size(); at += 100'000) {
    auto piece = body.substr(at, 100'000);
    char size[16];
    std::snprintf(size, sizeof size, "%zx", piece.size());
    chunks += std::string{size} + "\r\n" + piece + "\r\n";
  }
  auto answer = raw_exchange(server, "POST /api/jobs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + bearer(admin)
                                       + "Transfer-Encoding: chunked\r\n\r\n" + chunks + "0\r\n\r\n");
  BOOST_TEST(raw_status(answer) == 202, answer.substr(0, 200));
}

BOOST_AUTO_TEST_CASE(transfer_codings_other_than_chunked_answer_501) {
  for (auto te : {"gzip, chunked", "chunked, gzip", "gzip", "deflate", "identity", "chunked;q=1"}) {
    auto answer = raw_exchange(server, chunked_submit(bearer(admin), "", te));
    BOOST_TEST(raw_status(answer) == 501, te << ": " << answer);
  }
  BOOST_TEST(raw_status(raw_exchange(server, chunked_submit(bearer(admin), "", "Chunked"))) == 202);
  BOOST_TEST(get("/healthz").status == 200);
}

// -- query numbers ----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(query_numbers_are_digits_only) {
  for (auto bad : {"+5", "%205", "%0a5", "5%20", "-5", "5.0", "0x5", "1e2", "", "%2B5", "1001",
                   "99999999999999999999", "18446744073709551621"}) {
    auto r = get(std::string{"/api/jobs?limit="} + bad);
    BOOST_TEST(r.status == 400, bad);
    BOOST_TEST(error_code(r) == "invalid_argument", bad);
    BOOST_TEST(r.body.find("limit") != std::string::npos, bad);
  }
  BOOST_TEST(get("/api/jobs?limit=5").status == 200);
  BOOST_TEST(get("/api/jobs?limit=1000").status == 200);
  for (auto bad : {"+5", "%205", "%0a5", "0", "-1", "18446744073709551616"})
    BOOST_TEST(get(std::string{"/api/jobs?cursor="} + bad).status == 400, bad);
  BOOST_TEST(get("/api/jobs?cursor=18446744073709551615").status == 200);
  // The event stream checks its query before it opens.
  for (auto bad : {"job=+5", "job=%205", "job=0", "progress=maybe", "progress=%20false"}) {
    auto r = get(std::string{"/api/events?"} + bad);
    BOOST_TEST(r.status == 400, bad);
    BOOST_TEST(error_code(r) == "invalid_argument", bad);
  }
}

BOOST_AUTO_TEST_CASE(repeated_or_too_many_query_parameters_answer_400) {
  BOOST_TEST(get("/api/jobs?limit=5&limit=6").status == 400);
  std::string many = "/api/jobs?type=countdown";
  for (int i = 0; i < 100; ++i)
    many += "&x" + std::to_string(i) + "=1";
  auto r = get(many);
  BOOST_TEST(r.status == 400);
  BOOST_TEST(error_code(r) == "invalid_request");
}

BOOST_AUTO_TEST_CASE(a_target_over_the_limit_answers_414) {
  auto r = get("/api/jobs?type=" + std::string(9'000, 'x'));
  BOOST_TEST(r.status == 414);
  BOOST_TEST(get("/healthz").status == 200);
}

BOOST_AUTO_TEST_CASE(error_bodies_are_valid_json_whatever_the_request_quotes) {
  // Messages quote the path or a query value; bytes that are not UTF-8 become U+FFFD.
  for (auto target : {"/api/nothing%FF", "/api/jobs/%C0%80", "/api/jobs?status=%ED%A0%80",
                      "/api/jobs/%F5x", "/nothing%E2%82"}) {
    auto r = get(target);
    BOOST_TEST(r.status >= 400, target);
    auto doc = body_of(r);
    BOOST_TEST(doc.is_object(), target << ": " << r.body);
    if (doc.is_object())
      BOOST_TEST(doc.at("message").as_string().find("\xEF\xBF\xBD") != json::string::npos, target);
  }
  auto fine = get("/api/nothing-%C3%A9");
  BOOST_TEST(body_of(fine).at("message").as_string().find("\xC3\xA9") != json::string::npos);
}

// -- response headers ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(every_answer_says_nosniff) {
  auto ask = [&](const std::string& head) {
    return raw_exchange(server, head + "Host: x\r\nConnection: close\r\n\r\n");
  };
  auto auth = std::string{"Authorization: Bearer "} + admin + "\r\n";
  for (const auto& [request, status] : std::vector<std::pair<std::string, int>>{
         {"GET /api/nothing<script> HTTP/1.1\r\n" + auth, 404},
         {"GET /api/jobs HTTP/1.1\r\n", 401},
         {"GET /api/jobs?limit=%3Cb%3E HTTP/1.1\r\n" + auth, 400},
         {"GET /api/jobs HTTP/1.1\r\n" + auth, 200},
         {"GET /healthz HTTP/1.1\r\n", 200},
         {"HEAD /healthz HTTP/1.1\r\n", 200},
         {"GET /metrics HTTP/1.1\r\n" + auth, 200},
         {"GET /app.js HTTP/1.1\r\n", 200},
         {"PUT /api/jobs HTTP/1.1\r\nContent-Length: 0\r\n" + auth, 405},
         {"GET /api/jobs HTTP/1.1\r\nX-Big: " + std::string(20'000, 'a') + "\r\n", 431},
         {"POST /api/jobs HTTP/1.1\r\nContent-Length: 99999999\r\n" + auth, 413},
         {"GET /api/jobs HTTP/1.1\r\nTransfer-Encoding: gzip\r\n", 501}}) {
    auto answer = ask(request);
    BOOST_TEST(raw_status(answer) == status, request.substr(0, 40));
    BOOST_TEST(raw_has_header(answer, "X-Content-Type-Options", "nosniff"), request.substr(0, 40));
  }
  // The event stream never ends: read what arrives within a few seconds.
  auto events = raw_exchange(server, "GET /api/events HTTP/1.1\r\n" + auth + "Host: x\r\n\r\n",
                             std::chrono::seconds{3});
  BOOST_TEST(raw_status(events) == 200, events);
  BOOST_TEST(raw_has_header(events, "X-Content-Type-Options", "nosniff"), events);
}

// -- signals ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_signal_wakes_a_job_that_waits_for_one) {
  auto id = submit_approval();
  auto path = "/api/jobs/" + std::to_string(id);
  auto rec = body_of(get(path));
  BOOST_TEST(rec.at("status") == "waiting");
  BOOST_TEST(rec.at("waiting_for") == "signal");
  auto r = post(path + "/signals/approve", R"({"by":"http tests"})");
  BOOST_REQUIRE_EQUAL(r.status, 202);
  BOOST_TEST(body_of(r).at("id").to_number<std::uint64_t>() == id);
  BOOST_TEST(body_of(r).at("signal") == "approve");
  BOOST_REQUIRE(wait_for_status(api, id, "completed"));
  BOOST_TEST(body_of(get(path)).at("output").at("approved_by") == "http tests");
  // A finished job takes no more signals.
  auto late = post(path + "/signals/approve");
  BOOST_TEST(late.status == 409);
  BOOST_TEST(error_code(late) == "illegal_transition");
}

BOOST_AUTO_TEST_CASE(an_empty_signal_body_is_a_null_payload) {
  auto id = submit_approval();
  auto path = "/api/jobs/" + std::to_string(id);
  BOOST_REQUIRE_EQUAL(post(path + "/signals/approve").status, 202);
  BOOST_REQUIRE(wait_for_status(api, id, "completed"));
  BOOST_TEST(body_of(get(path)).at("output").at("approved_by") == "anonymous");
}

BOOST_AUTO_TEST_CASE(signal_names_and_payloads_are_checked_strictly) {
  auto id = submit_approval();
  auto path = "/api/jobs/" + std::to_string(id) + "/signals/";
  for (auto bad : {std::string{}, std::string(129, 'n'), std::string{"a%00b"}, std::string{"a%0Ab"},
                   std::string{"%7F"}, std::string{"%FF"}, std::string{"%C0%80"}}) {
    auto r = post(path + bad, "{}");
    BOOST_TEST(r.status == 400, bad);
    BOOST_TEST(error_code(r) == "invalid_argument", bad);
  }
  BOOST_TEST(post(path + "a/b").status == 404);  // a name is one path segment
  BOOST_TEST(get(path + "ping").status == 405);
  auto malformed = post(path + "ping", R"({"by":)");
  BOOST_TEST(malformed.status == 400);
  BOOST_TEST(error_code(malformed) == "malformed_json");
  auto infinite = post(path + "ping", "[1e400]");
  BOOST_TEST(infinite.status == 400);
  BOOST_TEST(error_code(infinite) == "invalid_argument");
  // Within the body limit, but over the runtime's payload limit once serialized
  // (1.5 is written as 1.5E0).
  std::string many = "[1.5";
  while (many.size() < 800'000)
    many += ",1.5";
  many += "]";
  auto large = post(path + "ping", many);
  BOOST_TEST(large.status == 413);
  BOOST_TEST(error_code(large) == "payload_too_large");
  auto over_body_limit = post(path + "ping", "\"" + std::string(2u << 20, 'x') + "\"");
  BOOST_TEST(over_body_limit.status == 413);
  // What was refused reached no job: it still waits, and one signal ends it.
  BOOST_TEST(body_of(get("/api/jobs/" + std::to_string(id))).at("status") == "waiting");
  BOOST_TEST(post(path + "reject", R"({"reason":"no"})").status == 202);
  BOOST_REQUIRE(wait_for_status(api, id, "failed"));
  // Names may hold any text (a running countdown ignores signals).
  auto counting = submit_countdown(100000, 20);
  auto to_countdown = "/api/jobs/" + std::to_string(counting) + "/signals/";
  auto odd = post(to_countdown + "a%2Fb%20%C3%A9", R"({"note":"x"})");
  BOOST_REQUIRE_EQUAL(odd.status, 202);
  BOOST_TEST(body_of(odd).at("signal") == "a/b \xC3\xA9");
  BOOST_TEST(post(to_countdown + std::string(128, 'n')).status == 202);
  BOOST_TEST(post("/api/jobs/" + std::to_string(counting) + "/cancel").status == 200);
}

BOOST_AUTO_TEST_CASE(signals_to_unknown_or_other_owners_jobs_are_refused) {
  BOOST_TEST(post("/api/jobs/999999/signals/approve").status == 404);
  BOOST_TEST(post("/api/jobs/abc/signals/approve").status == 404);
  auto acme_api = server.client(acme);
  auto globex_api = server.client(globex);
  auto id = submit_approval(acme_api);
  auto path = "/api/jobs/" + std::to_string(id) + "/signals/approve";
  auto foreign = globex_api.request(http::verb::post, path, R"({"by":"globex"})");
  BOOST_TEST(foreign.status == 403);
  BOOST_TEST(error_code(foreign) == "forbidden");
  BOOST_TEST(server.client().request(http::verb::post, path).status == 401);
  BOOST_TEST(body_of(get("/api/jobs/" + std::to_string(id))).at("status") == "waiting");
  BOOST_TEST(acme_api.request(http::verb::post, path, R"({"by":"acme"})").status == 202);
  BOOST_REQUIRE(wait_for_status(api, id, "completed"));
  BOOST_TEST(body_of(get("/api/jobs/" + std::to_string(id))).at("output").at("approved_by") == "acme");
}

// -- long polls ----------------------------------------------------------------------

/// The body of a raw answer.
std::string raw_body(const std::string& answer) {
  auto end = answer.find("\r\n\r\n");
  return end == std::string::npos ? std::string{} : answer.substr(end + 4);
}

BOOST_AUTO_TEST_CASE(a_long_poll_answers_when_the_job_finishes) {
  auto id = submit_countdown(30, 50);
  auto answer = raw_exchange(server, "GET /api/jobs/" + std::to_string(id) + "?wait=60 HTTP/1.1\r\n"
                                       + bearer(admin) + "Host: x\r\nConnection: close\r\n\r\n",
                             std::chrono::seconds{70});
  BOOST_REQUIRE_EQUAL(raw_status(answer), 200);
  BOOST_TEST(raw_has_header(answer, "X-Job-Finished", "true"));
  BOOST_TEST(json::parse(raw_body(answer)).at("status") == "completed");
  // A finished job answers at once, and so does wait=0.
  BOOST_TEST(body_of(get("/api/jobs/" + std::to_string(id) + "?wait=60")).at("status") == "completed");
}

BOOST_AUTO_TEST_CASE(a_long_poll_answers_at_its_end_with_the_record_as_it_is) {
  auto id = submit_approval();
  auto target = "/api/jobs/" + std::to_string(id);
  auto answer = raw_exchange(server, "GET " + target + "?wait=1 HTTP/1.1\r\n" + bearer(admin)
                                       + "Host: x\r\nConnection: close\r\n\r\n",
                             std::chrono::seconds{20});
  BOOST_REQUIRE_EQUAL(raw_status(answer), 200);
  BOOST_TEST(raw_has_header(answer, "X-Job-Finished", "false"));
  BOOST_TEST(json::parse(raw_body(answer)).at("status") == "waiting");
  auto now = raw_exchange(server, "GET " + target + "?wait=0 HTTP/1.1\r\n" + bearer(admin)
                                    + "Host: x\r\nConnection: close\r\n\r\n");
  BOOST_TEST(raw_status(now) == 200);
  BOOST_TEST(raw_has_header(now, "X-Job-Finished", "false"));
  BOOST_TEST(post(target + "/cancel").status == 200);
}

BOOST_AUTO_TEST_CASE(long_polls_hold_no_thread) {
  // More waiting requests than the server has threads: other requests are
  // still answered (within the client's 10 s deadline, well before the polls'
  // 50 s), and a signal ends every poll.
  auto id = submit_approval();
  std::vector<int> polls;
  for (int i = 0; i < 12; ++i) {
    int fd = connect_to(server);
    std::string req = "GET /api/jobs/" + std::to_string(id) + "?wait=50 HTTP/1.1\r\n" + bearer(admin)
                      + "Host: x\r\nConnection: close\r\n\r\n";
    BOOST_REQUIRE(::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()));
    polls.push_back(fd);
  }
  for (int i = 0; i < 8; ++i)
    BOOST_TEST(get("/api/jobs/" + std::to_string(id)).status == 200);
  BOOST_TEST(post("/api/jobs/" + std::to_string(id) + "/signals/approve", R"({"by":"poll"})").status == 202);
  for (int fd : polls) {
    std::string in;
    char buf[8192];
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0)
        continue;
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0)
        break;
      in.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    BOOST_TEST(raw_status(in) == 200);
    BOOST_TEST(raw_has_header(in, "X-Job-Finished", "true"));
    BOOST_TEST(raw_body(in).find("\"approved_by\":\"poll\"") != std::string::npos, raw_body(in));
  }
}

BOOST_AUTO_TEST_CASE(wait_is_parsed_strictly_and_follows_the_access_rules) {
  auto id = submit_countdown(1, 0);
  auto target = "/api/jobs/" + std::to_string(id) + "?wait=";
  for (auto bad : {"", "+1", "-1", "61", "1.5", "1e1", "%201", "1%20", "abc", "0x1",
                   "99999999999999999999"}) {
    auto r = get(target + bad);
    BOOST_TEST(r.status == 400, bad);
    BOOST_TEST(error_code(r) == "invalid_argument", bad);
    BOOST_TEST(r.body.find("wait") != std::string::npos, bad);
  }
  BOOST_TEST(get(target + "1&wait=2").status == 400);
  BOOST_TEST(get("/api/jobs/999999?wait=5").status == 404);
  auto acme_api = server.client(acme);
  auto globex_api = server.client(globex);
  auto mine = submit_countdown(acme_api, 1, 0);
  BOOST_TEST(globex_api.request(http::verb::get, "/api/jobs/" + std::to_string(mine) + "?wait=5").status
             == 403);
  BOOST_TEST(acme_api.request(http::verb::get, "/api/jobs/" + std::to_string(mine) + "?wait=30").status
             == 200);
}

// -- fields the runtime interprets ---------------------------------------------------

BOOST_AUTO_TEST_CASE(a_run_at_far_in_the_future_is_refused_and_the_server_keeps_answering) {
  // The service takes times up to the end of year 9999 (UTC).
  auto far = post("/api/jobs", R"({"type":"countdown","params":{"n":1},"run_at":9223372036854775807})");
  BOOST_TEST(far.status == 400);
  BOOST_TEST(error_code(far) == "invalid_request");
  BOOST_TEST(far.body.find("run_at") != std::string::npos);
  BOOST_TEST(get("/healthz").status == 200);
  auto last = post("/api/jobs", R"({"type":"countdown","params":{"n":1},"run_at":253402300799000})");
  BOOST_REQUIRE_EQUAL(last.status, 202);
  BOOST_TEST(body_of(last).at("status") == "waiting");
  BOOST_TEST(post("/api/jobs", R"({"type":"countdown","params":{"n":1},"run_at":253402300800000})").status
             == 400);
  BOOST_TEST(get("/healthz").status == 200);
  auto id = body_of(last).at("id").to_number<std::uint64_t>();
  BOOST_TEST(body_of(get("/api/jobs/" + std::to_string(id))).at("status") == "waiting");
  BOOST_TEST(post("/api/jobs/" + std::to_string(id) + "/cancel").status == 200);
  BOOST_TEST(get("/healthz").status == 200);
}

BOOST_AUTO_TEST_CASE(idempotency_keys_are_scoped_by_owner) {
  auto acme_api = server.client(acme);
  auto globex_api = server.client(globex);
  auto body = R"({"type":"countdown","params":{"n":1},"idempotency_key":"order-7"})";
  auto a1 = acme_api.request(http::verb::post, "/api/jobs", body);
  BOOST_REQUIRE_EQUAL(a1.status, 202);
  auto b1 = globex_api.request(http::verb::post, "/api/jobs", body);
  BOOST_REQUIRE_EQUAL(b1.status, 202);
  auto a_id = body_of(a1).at("id").to_number<std::uint64_t>();
  auto b_id = body_of(b1).at("id").to_number<std::uint64_t>();
  BOOST_TEST(a_id != b_id);
  BOOST_TEST(globex_api.request(http::verb::get, "/api/jobs/" + std::to_string(b_id)).status == 200);
  BOOST_TEST(body_of(get("/api/jobs/" + std::to_string(b_id))).at("owner") == "globex");
  auto a2 = acme_api.request(http::verb::post, "/api/jobs", body);
  BOOST_REQUIRE_EQUAL(a2.status, 202);
  BOOST_TEST(body_of(a2).at("id").to_number<std::uint64_t>() == a_id);
}

BOOST_AUTO_TEST_CASE(submit_fields_are_checked_strictly) {
  auto submit = [&](const std::string& extra) {
    return post("/api/jobs", R"({"type":"countdown","params":{"n":1})" + extra + "}");
  };
  for (auto bad : {R"(,"priority":2147483648)", R"(,"priority":-2147483649)", R"(,"priority":1.5)",
                   R"(,"priority":"5")", R"(,"priority":1e3)", R"(,"run_at":-1)", R"(,"run_at":1.5)",
                   R"(,"run_at":18446744073709551615)", R"(,"run_at":"1")", R"(,"run_at":1e300)"}) {
    auto r = submit(bad);
    BOOST_TEST(r.status == 400, bad);
    BOOST_TEST(error_code(r) == "invalid_request", bad);
  }
  BOOST_TEST(submit(R"(,"priority":2147483647)").status == 202);
  BOOST_TEST(submit(R"(,"priority":-2147483648)").status == 202);
  // Owners and keys end up in the store's index keys: bounded, and text.
  BOOST_TEST(submit(R"(,"owner":")" + std::string(300, 'o') + "\"").status == 400);
  BOOST_TEST(submit(R"(,"idempotency_key":")" + std::string(300, 'k') + "\"").status == 400);
  BOOST_TEST(submit(R"(,"owner":"a\u0000b")").status == 400);
  BOOST_TEST(submit(R"(,"owner":")" + std::string(200, 'o') + "\"").status == 202);
  BOOST_TEST(post("/api/jobs", R"({"type":")" + std::string(300, 't') + R"(","params":{}})").status == 400);
  BOOST_TEST(get("/healthz").status == 200);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(connections_over_the_limit_answer_503_and_close) {
  server_process s{{"--max-connections", "2"}};
  BOOST_TEST(s.client().request(http::verb::get, "/healthz").status == 200);
  int idle1 = connect_to(s);
  int idle2 = connect_to(s);
  // The server counts a connection once it accepted it: wait for that.
  std::string refused;
  BOOST_TEST(poll_until([&] {
    refused = raw_exchange(s, "", std::chrono::seconds{2});
    return raw_status(refused) == 503;
  }));
  BOOST_TEST(raw_has_header(refused, "X-Content-Type-Options", "nosniff"));
  BOOST_TEST(refused.find("too_many_connections") != std::string::npos);
  ::close(idle1);
  ::close(idle2);
  BOOST_TEST(poll_until([&] {
    return raw_status(raw_exchange(s, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
           == 200;
  }));
}

BOOST_AUTO_TEST_CASE(the_limits_can_be_set_by_flags) {
  server_process s{{"--body-limit", "1000", "--header-limit", "2048"}};
  auto c = s.client();
  auto big = c.request(http::verb::post, "/api/jobs",
                       R"({"type":"countdown","params":{"n":1,"pad":")" + std::string(1'000, 'x') + "\"}}");
  BOOST_TEST(big.status == 413);
  auto headers = raw_exchange(s, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-A: "
                                   + std::string(3'000, 'a') + "\r\n\r\n");
  BOOST_TEST(raw_status(headers) == 431);
  BOOST_TEST(c.request(http::verb::post, "/api/jobs", R"({"type":"countdown","params":{"n":1}})").status
             == 202);
  for (auto bad : {std::vector<std::string>{"--header-limit", "100000"}, {"--body-limit", "0"},
                   {"--max-connections", "-1"}, {"--read-timeout-ms", "5"}, {"--sse-queue", "x"}}) {
    auto r = run_process(JOBRT_SERVER_EXE, bad, std::chrono::seconds{10});
    BOOST_TEST(r.exit_code == 2, bad[0]);
  }
}

BOOST_AUTO_TEST_CASE(the_server_stops_cleanly_on_sigterm) {
  server_process s;
  BOOST_TEST(s.client().request(http::verb::get, "/healthz").status == 200);
  BOOST_TEST(s.stop() == 0);
}
