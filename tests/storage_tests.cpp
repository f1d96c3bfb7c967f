#define BOOST_TEST_MODULE storage_tests
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include <boost/crc.hpp>
#include <boost/json.hpp>
#include <lmdb.h> // only to plant corruption and inspect indexes, as a bad disk would

#include "storage/codec.hpp"
#include "storage/job_store.hpp"

using namespace jobrt;
using namespace jobrt::storage;
namespace json = boost::json;

namespace {

// -- helpers ----------------------------------------------------------------------

job_record make_record(job_id id, job_status status = job_status::queued,
                       std::string type = "resize", std::string owner = "acme") {
  job_record r;
  r.id = id;
  r.type = std::move(type);
  r.owner = std::move(owner);
  r.status = status;
  r.priority = static_cast<std::int32_t>(id % 3) - 1;
  r.params = json::object{{"image", "img-" + std::to_string(id)}, {"width", 640}};
  r.created_at = 1'700'000'000'000 + static_cast<millis>(id);
  r.wake_at = status == job_status::waiting ? 1'700'000'100'000 : 0;
  r.finished_at = is_finished(status) ? 1'700'000'200'000 : 0;
  r.progress.stage = "start";
  return r;
}

/// A record whose params make its value about `bytes` long.
job_record make_big_record(job_id id, std::size_t bytes) {
  auto r = make_record(id);
  r.params = json::object{{"blob", std::string(bytes, 'x')}};
  return r;
}

bool same(const job_record& a, const job_record& b) {
  return to_json(a) == to_json(b);
}

std::vector<job_id> ids_of(const std::vector<job_record>& jobs) {
  std::vector<job_id> out;
  for (const auto& j : jobs)
    out.push_back(j.id);
  return out;
}

std::string with_crc(const std::string& payload) {
  boost::crc_32_type crc;
  crc.process_bytes(payload.data(), payload.size());
  std::string out;
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((crc.checksum() >> (8 * i)) & 0xff));
  return out + payload;
}

std::string be_key(job_id id) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[7 - i] = static_cast<char>((id >> (8 * i)) & 0xff);
  return out;
}

/// Raw LMDB access to a store directory that no job_store has open.
class raw_store {
public:
  explicit raw_store(const std::string& path) {
    BOOST_REQUIRE_EQUAL(mdb_env_create(&env_), 0);
    BOOST_REQUIRE_EQUAL(mdb_env_set_maxdbs(env_, 8), 0);
    BOOST_REQUIRE_EQUAL(mdb_env_open(env_, path.c_str(), MDB_NOTLS, 0644), 0);
  }
  ~raw_store() { mdb_env_close(env_); }

  void put(const char* db, const std::string& key, const std::string& value) {
    with_txn(0, db, [&](MDB_txn* t, MDB_dbi dbi) {
      MDB_val k{key.size(), const_cast<char*>(key.data())};
      MDB_val v{value.size(), const_cast<char*>(value.data())};
      BOOST_REQUIRE_EQUAL(mdb_put(t, dbi, &k, &v, 0), 0);
    });
  }

  std::string get(const char* db, const std::string& key) {
    std::string out;
    with_txn(MDB_RDONLY, db, [&](MDB_txn* t, MDB_dbi dbi) {
      MDB_val k{key.size(), const_cast<char*>(key.data())}, v;
      BOOST_REQUIRE_EQUAL(mdb_get(t, dbi, &k, &v), 0);
      out.assign(static_cast<const char*>(v.mv_data), v.mv_size);
    });
    return out;
  }

  std::size_t entries(const char* db) {
    std::size_t n = 0;
    with_txn(MDB_RDONLY, db, [&](MDB_txn* t, MDB_dbi dbi) {
      MDB_stat st;
      BOOST_REQUIRE_EQUAL(mdb_stat(t, dbi, &st), 0);
      n = st.ms_entries;
    });
    return n;
  }

private:
  template <class F>
  void with_txn(unsigned flags, const char* db, F&& f) {
    MDB_txn* t = nullptr;
    MDB_dbi dbi;
    BOOST_REQUIRE_EQUAL(mdb_txn_begin(env_, nullptr, flags, &t), 0);
    BOOST_REQUIRE_EQUAL(mdb_dbi_open(t, db, 0, &dbi), 0);
    f(t, dbi);
    BOOST_REQUIRE_EQUAL(mdb_txn_commit(t), 0);
  }

  MDB_env* env_ = nullptr;
};

/// A fresh temporary directory per test; the store lives in PATH = DIR/store.
struct store_fixture {
  std::string dir;
  std::string path;

  store_fixture() {
    char tmpl[] = "/tmp/jobrt_storage_XXXXXX";
    BOOST_REQUIRE(mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    path = dir + "/store";
  }
  ~store_fixture() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  store_config config() const {
    store_config cfg;
    cfg.path = path;
    cfg.map_size = std::size_t{1} << 20;
    cfg.sync = false; // durability against power loss is not what these tests check
    return cfg;
  }

  std::unique_ptr<job_store> open_store(const store_config& cfg) {
    auto r = job_store::open(cfg);
    BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    return std::move(r).value();
  }
  std::unique_ptr<job_store> open_store() { return open_store(config()); }
  /// The LMDB store ("lmdb") or a new in-memory one ("memory"): the tests run
  /// on `both_stores` check that the two keep the same rules.
  std::unique_ptr<job_store> open_kind(const std::string& kind) {
    if (kind == "memory")
      return job_store::open_in_memory();
    return open_store();
  }

  static void commit(job_store& s, const write_batch& b) {
    auto r = s.commit(b);
    BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  }
  static void put(job_store& s, const job_record& r) {
    write_batch b;
    b.put_record(r);
    commit(s, b);
  }

  /// Every page of `q` (with `limit`), concatenated; checks each page is newest first.
  static std::vector<job_id> all_pages(const job_store& s, list_query q, std::size_t limit) {
    q.limit = limit;
    q.before = 0;
    std::vector<job_id> out;
    for (int guard = 0; guard < 10'000; ++guard) {
      auto page = s.list(q);
      BOOST_REQUIRE(page.ok());
      BOOST_TEST(page->jobs.size() <= limit);
      auto ids = ids_of(page->jobs);
      BOOST_TEST(std::is_sorted(ids.rbegin(), ids.rend()));
      out.insert(out.end(), ids.begin(), ids.end());
      if (page->next_cursor == 0)
        return out;
      BOOST_TEST(page->next_cursor == ids.back());
      q.before = page->next_cursor;
    }
    BOOST_FAIL("paging did not end");
    return out;
  }

  static std::vector<job_id> unfinished_ids(const job_store& s,
                                            std::vector<job_id>* corrupt = nullptr) {
    std::vector<job_id> out;
    auto r = s.for_each_unfinished([&](const job_summary& j) { out.push_back(j.id); },
                                   [&](job_id id, const std::string&) {
                                     if (corrupt)
                                       corrupt->push_back(id);
                                   });
    BOOST_REQUIRE(r.ok());
    return out;
  }
};

const auto both_stores = boost::unit_test::data::make({std::string{"lmdb"}, std::string{"memory"}});

} // namespace

BOOST_AUTO_TEST_CASE(the_fast_crc32_equals_the_byte_at_a_time_crc32_at_every_length_and_offset) {
  BOOST_TEST(codec::crc32("123456789") == 0xCBF43926u); // the CRC-32 check value
  std::mt19937 rng{7};
  std::string bytes(300, '\0');
  for (auto& b : bytes)
    b = static_cast<char>(rng());
  for (std::size_t offset = 0; offset < 8; ++offset)
    for (std::size_t len = 0; offset + len <= bytes.size(); ++len) {
      boost::crc_32_type slow;
      slow.process_bytes(bytes.data() + offset, len);
      BOOST_TEST_REQUIRE(codec::crc32(std::string_view{bytes}.substr(offset, len))
                         == slow.checksum());
    }
}

BOOST_FIXTURE_TEST_SUITE(job_store_tests, store_fixture)

// -- records ------------------------------------------------------------------------

BOOST_DATA_TEST_CASE_F(store_fixture, a_put_record_reads_back_equal, both_stores, kind) {
  auto store = open_kind(kind);
  auto rec = make_record(7, job_status::running, "resize", "acme");
  rec.error = "previous attempt timed out";
  rec.attempts = 2;
  rec.output = json::array{1, 2, 3};
  put(*store, rec);
  auto got = store->get(7);
  BOOST_REQUIRE(got.ok());
  BOOST_TEST(same(*got, rec));
}

BOOST_DATA_TEST_CASE_F(store_fixture, a_missing_job_is_not_found, both_stores, kind) {
  auto store = open_kind(kind);
  auto got = store->get(42);
  BOOST_REQUIRE(!got.ok());
  BOOST_TEST(got.error().code == errc::not_found);
  BOOST_TEST(got.error().message == "no job with id 42");
}

BOOST_AUTO_TEST_CASE(reopening_a_store_keeps_records_and_last_id) {
  {
    auto store = open_store();
    write_batch b;
    for (job_id id = 1; id <= 5; ++id)
      b.put_record(make_record(id));
    commit(*store, b);
    BOOST_TEST(store->last_id() == 5u);
  }
  auto store = open_store();
  BOOST_TEST(store->last_id() == 5u);
  for (job_id id = 1; id <= 5; ++id) {
    auto got = store->get(id);
    BOOST_REQUIRE(got.ok());
    BOOST_TEST(same(*got, make_record(id)));
  }
}

BOOST_AUTO_TEST_CASE(last_id_is_not_lowered_by_erasing_the_newest_job) {
  {
    auto store = open_store();
    put(*store, make_record(9));
    write_batch b;
    b.erase_job(9);
    commit(*store, b);
    BOOST_TEST(store->last_id() == 9u);
  }
  auto store = open_store();
  BOOST_TEST(store->last_id() == 9u);
}

BOOST_DATA_TEST_CASE_F(store_fixture, a_record_with_an_infinite_number_is_refused_and_nothing_written, both_stores, kind) {
  auto store = open_kind(kind);
  write_batch b;
  b.put_record(make_record(1));
  auto bad = make_record(2);
  bad.output = json::object{{"ratio", std::numeric_limits<double>::infinity()}};
  b.put_record(bad);
  auto r = store->commit(b);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == errc::invalid_argument);
  BOOST_TEST(r.error().message.find("not finite") != std::string::npos);
  BOOST_TEST(store->get(1).error().code == errc::not_found);
}

BOOST_DATA_TEST_CASE_F(store_fixture, a_checkpoint_with_a_nan_is_refused_and_nothing_written, both_stores, kind) {
  auto store = open_kind(kind);
  put(*store, make_record(1));
  checkpoint cp;
  cp.state = json::object{{"x", std::numeric_limits<double>::quiet_NaN()}};
  write_batch b;
  b.put_checkpoint(1, cp);
  auto r = store->commit(b);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == errc::invalid_argument);
  auto got = store->get_checkpoint(1);
  BOOST_REQUIRE(got.ok());
  BOOST_TEST(!got->has_value());
}

BOOST_DATA_TEST_CASE_F(store_fixture, a_record_with_an_over_long_type_is_refused_and_nothing_written, both_stores, kind) {
  auto store = open_kind(kind);
  write_batch b;
  b.put_record(make_record(1));
  b.put_record(make_record(2, job_status::queued, std::string(300, 't')));
  auto r = store->commit(b);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == errc::invalid_argument);
  BOOST_TEST(store->get(1).error().code == errc::not_found);
  BOOST_TEST(store->last_id() == 0u);
}

// -- checkpoints --------------------------------------------------------------------

BOOST_DATA_TEST_CASE_F(store_fixture, a_checkpoint_replaces_the_previous_one_and_get_merges_it, both_stores, kind) {
  auto store = open_kind(kind);
  put(*store, make_record(1, job_status::running));
  checkpoint first;
  first.state = json::object{{"row", 100}};
  first.progress.fraction = 0.25;
  first.progress.stage = "rows";
  first.at = 1000;
  checkpoint second = first;
  second.state = json::object{{"row", 300}};
  second.progress.fraction = 0.5;
  second.progress.message = "row 300 of 600";
  second.at = 2000;
  write_batch b;
  b.put_checkpoint(1, first);
  b.put_checkpoint(1, second);
  commit(*store, b);

  auto cp = store->get_checkpoint(1);
  BOOST_REQUIRE(cp.ok() && cp->has_value());
  BOOST_TEST(to_json(**cp) == to_json(second));
  auto rec = store->get(1);
  BOOST_REQUIRE(rec.ok());
  BOOST_TEST(rec->checkpoint_at == 2000);
  BOOST_TEST(to_json(rec->progress) == to_json(second.progress));
  BOOST_TEST(store->stats().checkpoints == 1u);
}

BOOST_DATA_TEST_CASE_F(store_fixture, a_finished_job_keeps_its_own_progress_but_takes_checkpoint_time, both_stores, kind) {
  auto store = open_kind(kind);
  auto done = make_record(1, job_status::completed);
  done.progress.fraction = 1.0;
  done.progress.stage = "done";
  put(*store, done);
  checkpoint cp;
  cp.progress.stage = "halfway";
  cp.at = 1234;
  write_batch b;
  b.put_checkpoint(1, cp);
  commit(*store, b);
  auto rec = store->get(1);
  BOOST_REQUIRE(rec.ok());
  BOOST_TEST(rec->checkpoint_at == 1234);
  BOOST_TEST(rec->progress.stage == "done");
}

BOOST_DATA_TEST_CASE_F(store_fixture, a_job_that_never_checkpointed_has_no_checkpoint, both_stores, kind) {
  auto store = open_kind(kind);
  put(*store, make_record(1));
  auto cp = store->get_checkpoint(1);
  BOOST_REQUIRE(cp.ok());
  BOOST_TEST(!cp->has_value());
}

// -- list ---------------------------------------------------------------------------

/// 30 jobs: statuses cycle through all seven, owners alternate acme / globex
/// (every fifth has none), types alternate resize / email.
struct listed_store {
  static void fill(job_store& s) {
    write_batch b;
    for (job_id id = 1; id <= 30; ++id) {
      auto status = all_statuses[id % all_statuses.size()];
      std::string owner = id % 5 == 0 ? "" : (id % 2 ? "acme" : "globex");
      b.put_record(make_record(id, status, id % 2 ? "resize" : "email", owner));
    }
    store_fixture::commit(s, b);
  }
  static std::vector<job_id> expected(const list_query& q) {
    std::vector<job_id> out;
    for (job_id id = 30; id >= 1; --id) {
      auto status = all_statuses[id % all_statuses.size()];
      std::string owner = id % 5 == 0 ? "" : (id % 2 ? "acme" : "globex");
      std::string type = id % 2 ? "resize" : "email";
      bool ok = (q.statuses.empty()
                 || std::find(q.statuses.begin(), q.statuses.end(), status) != q.statuses.end())
                && (q.owner.empty() || q.owner == owner) && (q.type.empty() || q.type == type);
      if (ok)
        out.push_back(id);
    }
    return out;
  }
};

BOOST_DATA_TEST_CASE_F(store_fixture, list_filters_by_status_owner_and_type, both_stores, kind) {
  auto store = open_kind(kind);
  listed_store::fill(*store);
  std::vector<list_query> queries(6);
  queries[0].statuses = {job_status::failed};
  queries[1].statuses = {job_status::queued, job_status::completed};
  queries[2].owner = "acme";
  queries[3].type = "email";
  queries[4].owner = "globex";
  queries[4].statuses = {job_status::running};
  queries[5].owner = "nobody";
  for (const auto& q : queries) {
    auto page = store->list(q);
    BOOST_REQUIRE(page.ok());
    BOOST_TEST(ids_of(page->jobs) == listed_store::expected(q));
    BOOST_TEST(page->next_cursor == 0u);
    for (const auto& j : page->jobs) {
      auto rec = store->get(j.id);
      BOOST_REQUIRE(rec.ok());
      BOOST_TEST(same(j, *rec));
    }
  }
}

BOOST_DATA_TEST_CASE_F(store_fixture, list_pages_newest_first_and_the_cursor_covers_every_record_once, both_stores, kind) {
  auto store = open_kind(kind);
  listed_store::fill(*store);
  std::vector<list_query> queries(5);
  queries[1].statuses = {job_status::paused};
  queries[2].statuses = {job_status::paused, job_status::cancelled, job_status::queued};
  queries[3].owner = "acme";
  queries[4].owner = "globex";
  queries[4].type = "email";
  for (const auto& q : queries)
    for (std::size_t limit : {1, 2, 3, 7, 30, 31}) {
      auto all = all_pages(*store, q, limit);
      BOOST_TEST(all == listed_store::expected(q));
    }
}

BOOST_DATA_TEST_CASE_F(store_fixture, an_owner_that_extends_another_owner_does_not_leak_into_its_list, both_stores, kind) {
  auto store = open_kind(kind);
  write_batch b;
  b.put_record(make_record(1, job_status::queued, "resize", "a"));
  b.put_record(make_record(2, job_status::queued, "resize", std::string("a\0b", 3)));
  b.put_record(make_record(3, job_status::queued, "resize", "ab"));
  commit(*store, b);
  list_query q;
  q.owner = "a";
  auto page = store->list(q);
  BOOST_REQUIRE(page.ok());
  BOOST_TEST(ids_of(page->jobs) == std::vector<job_id>{1});
}

BOOST_DATA_TEST_CASE_F(store_fixture, list_limit_zero_means_50_and_large_limits_are_capped_at_1000, both_stores, kind) {
  auto store = open_kind(kind);
  write_batch b;
  for (job_id id = 1; id <= 1005; ++id)
    b.put_record(make_record(id));
  commit(*store, b);
  list_query q;
  q.limit = 0;
  auto page = store->list(q);
  BOOST_REQUIRE(page.ok());
  BOOST_TEST(page->jobs.size() == 50u);
  BOOST_TEST(page->jobs.front().id == 1005u);
  BOOST_TEST(page->next_cursor == 956u);
  q.limit = 5000;
  page = store->list(q);
  BOOST_REQUIRE(page.ok());
  BOOST_TEST(page->jobs.size() == 1000u);
  BOOST_TEST(page->next_cursor == 6u);
}

BOOST_DATA_TEST_CASE_F(store_fixture, list_rows_carry_their_checkpoint_progress, both_stores, kind) {
  auto store = open_kind(kind);
  put(*store, make_record(1, job_status::running));
  checkpoint cp;
  cp.progress.stage = "copying";
  cp.at = 77;
  write_batch b;
  b.put_checkpoint(1, cp);
  commit(*store, b);
  auto page = store->list({});
  BOOST_REQUIRE(page.ok() && page->jobs.size() == 1);
  BOOST_TEST(page->jobs[0].progress.stage == "copying");
  BOOST_TEST(page->jobs[0].checkpoint_at == 77);
}

// -- status indexes -----------------------------------------------------------------

BOOST_DATA_TEST_CASE_F(store_fixture, a_status_change_moves_the_record_between_status_indexes, both_stores, kind) {
  auto store = open_kind(kind);
  put(*store, make_record(1, job_status::queued));
  put(*store, make_record(2, job_status::queued));
  put(*store, make_record(1, job_status::running));
  std::vector<job_summary> seen;
  auto r = store->for_each_unfinished([&](const job_summary& s) { seen.push_back(s); },
                                      [](job_id, const std::string&) {});
  BOOST_REQUIRE(r.ok());
  BOOST_REQUIRE(seen.size() == 2u);
  BOOST_TEST(seen[0].id == 2u); // queued come first
  BOOST_TEST((seen[0].status == job_status::queued));
  BOOST_TEST(seen[1].id == 1u);
  BOOST_TEST((seen[1].status == job_status::running));

  list_query queued;
  queued.statuses = {job_status::queued};
  BOOST_TEST(ids_of(store->list(queued)->jobs) == std::vector<job_id>{2});

  put(*store, make_record(1, job_status::completed));
  BOOST_TEST(unfinished_ids(*store) == std::vector<job_id>{2});
}

BOOST_DATA_TEST_CASE_F(store_fixture, records_put_out_of_id_order_are_listed_newest_first, both_stores, kind) {
  auto store = open_kind(kind);
  for (job_id id : {5, 2, 9, 1, 7})
    put(*store, make_record(id, job_status::queued));
  put(*store, make_record(2, job_status::running));
  put(*store, make_record(8, job_status::running));

  BOOST_TEST(ids_of(store->list(list_query{})->jobs) == (std::vector<job_id>{9, 8, 7, 5, 2, 1}));
  list_query running;
  running.statuses = {job_status::running};
  BOOST_TEST(ids_of(store->list(running)->jobs) == (std::vector<job_id>{8, 2}));
  list_query queued;
  queued.statuses = {job_status::queued};
  BOOST_TEST(ids_of(store->list(queued)->jobs) == (std::vector<job_id>{9, 7, 5, 1}));
}

BOOST_DATA_TEST_CASE_F(store_fixture, an_owner_change_moves_the_record_between_owner_indexes, both_stores, kind) {
  auto store = open_kind(kind);
  put(*store, make_record(1, job_status::queued, "resize", "acme"));
  put(*store, make_record(2, job_status::queued, "resize", "acme"));
  put(*store, make_record(1, job_status::running, "resize", "globex"));
  put(*store, make_record(2, job_status::running, "resize", ""));

  list_query acme;
  acme.owner = "acme";
  BOOST_TEST(store->list(acme)->jobs.empty());
  list_query globex;
  globex.owner = "globex";
  BOOST_TEST(ids_of(store->list(globex)->jobs) == std::vector<job_id>{1});
}

BOOST_DATA_TEST_CASE_F(store_fixture, summaries_carry_the_header_fields, both_stores, kind) {
  auto store = open_kind(kind);
  auto rec = make_record(4, job_status::waiting, "email", "globex");
  rec.priority = -7;
  put(*store, rec);
  std::vector<job_summary> seen;
  auto r = store->for_each_unfinished([&](const job_summary& s) { seen.push_back(s); }, {});
  BOOST_REQUIRE(r.ok());
  BOOST_REQUIRE(seen.size() == 1u);
  BOOST_TEST(seen[0].priority == -7);
  BOOST_TEST(seen[0].wake_at == rec.wake_at);
  BOOST_TEST(seen[0].type == "email");
  BOOST_TEST(seen[0].owner == "globex");
}

BOOST_DATA_TEST_CASE_F(store_fixture, for_each_finished_sees_only_finished_jobs_in_id_order_per_status, both_stores, kind) {
  auto store = open_kind(kind);
  write_batch b;
  b.put_record(make_record(1, job_status::failed));
  b.put_record(make_record(2, job_status::completed));
  b.put_record(make_record(3, job_status::running));
  b.put_record(make_record(4, job_status::completed));
  b.put_record(make_record(5, job_status::cancelled));
  commit(*store, b);
  std::vector<job_id> seen;
  auto r = store->for_each_finished([&](const job_summary& s) {
    seen.push_back(s.id);
    BOOST_TEST(s.finished_at != 0);
  });
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(seen == (std::vector<job_id>{2, 4, 1, 5}));
}

// -- erase --------------------------------------------------------------------------

BOOST_DATA_TEST_CASE_F(store_fixture, erase_removes_the_record_its_checkpoint_and_index_entries,
                       both_stores, kind) {
  {
    auto store = open_kind(kind);
    put(*store, make_record(1, job_status::running, "resize", "acme"));
    put(*store, make_record(2, job_status::queued, "resize", "acme"));
    write_batch b;
    b.put_checkpoint(1, checkpoint{});
    b.erase_job(1);
    b.erase_job(99); // absent: a no-op
    commit(*store, b);
    BOOST_TEST(store->get(1).error().code == errc::not_found);
    BOOST_TEST(!store->get_checkpoint(1)->has_value());
    BOOST_TEST(unfinished_ids(*store) == std::vector<job_id>{2});
    list_query q;
    q.owner = "acme";
    BOOST_TEST(ids_of(store->list(q)->jobs) == std::vector<job_id>{2});
    BOOST_TEST(store->stats().records == 1u);
  }
  if (kind == "memory")
    return; // what follows looks into the LMDB files
  raw_store raw{path};
  BOOST_TEST(raw.entries("by_status") == 1u);
  BOOST_TEST(raw.entries("by_owner") == 1u);
  BOOST_TEST(raw.entries("checkpoints") == 0u);
}

// -- corruption ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_corrupt_record_is_reported_and_quarantine_moves_it_out) {
  {
    auto store = open_store();
    write_batch b;
    for (job_id id = 1; id <= 3; ++id)
      b.put_record(make_record(id, job_status::queued, "resize", "acme"));
    b.put_checkpoint(2, checkpoint{});
    commit(*store, b);
  }
  std::string good;
  {
    raw_store raw{path};
    good = raw.get("jobs", be_key(2));
    auto bad = good;
    bad[bad.size() - 5] ^= 0x5a; // a flipped byte inside the JSON
    raw.put("jobs", be_key(2), bad);
  }
  auto store = open_store();
  std::vector<job_id> corrupt;
  BOOST_TEST(unfinished_ids(*store, &corrupt) == (std::vector<job_id>{1, 3}));
  BOOST_TEST(corrupt == std::vector<job_id>{2});

  auto got = store->get(2);
  BOOST_REQUIRE(!got.ok());
  BOOST_TEST(got.error().code == errc::corrupt_record);
  BOOST_TEST(got.error().message.find("job 2: stored record is corrupt") == 0u);
  BOOST_TEST(ids_of(store->list({})->jobs) == (std::vector<job_id>{3, 1}));

  write_batch b;
  b.quarantine(2, "checksum mismatch");
  commit(*store, b);
  BOOST_TEST(store->get(2).error().code == errc::not_found);
  corrupt.clear();
  BOOST_TEST(unfinished_ids(*store, &corrupt) == (std::vector<job_id>{1, 3}));
  BOOST_TEST(corrupt.empty());
  auto st = store->stats();
  BOOST_TEST(st.quarantined == 1u);
  BOOST_TEST(st.records == 2u);
  BOOST_TEST(st.checkpoints == 0u);
  for (job_id id : {1, 3})
    BOOST_TEST(store->get(id).ok());
  store.reset();

  raw_store raw{path};
  auto q = raw.get("quarantine", be_key(2));
  BOOST_TEST(q.substr(0, 18) == std::string("checksum mismatch\0", 18));
  BOOST_TEST(q.size() == 18 + good.size());
  BOOST_TEST(raw.entries("by_status") == 2u);
  BOOST_TEST(raw.entries("by_owner") == 2u);
}

BOOST_AUTO_TEST_CASE(garbage_values_of_any_shape_are_reported_as_corrupt_never_crash) {
  // Headers that fail: random bytes of every length up to 64, then valid
  // checksums over a truncated header, an unknown format, a bad status byte and
  // a type length running past the end.
  std::vector<std::string> bad_header;
  std::mt19937 rng{42};
  for (std::size_t len = 0; len < 64; ++len) {
    std::string g(len, '\0');
    for (auto& c : g)
      c = static_cast<char>(rng());
    bad_header.push_back(g);
  }
  const std::string fixed = std::string("\x01\x00", 2) + std::string(20, '\0');
  bad_header.push_back(with_crc(fixed.substr(0, 2)));
  bad_header.push_back(with_crc(std::string(40, '\x02')));
  bad_header.push_back(with_crc(std::string("\x01\x09", 2) + std::string(30, '\0')));
  bad_header.push_back(with_crc(fixed + "\xff" + "ab"));
  // Headers that pass, over JSON that is broken or not a record of this id.
  const std::string empty_strings(3, '\0');
  std::vector<std::string> bad_json{with_crc(fixed + empty_strings + "[1,2"),
                                    with_crc(fixed + empty_strings + "{}"),
                                    with_crc(fixed + empty_strings + "{\"id\":1,\"status\":\"queued\"}")};
  auto garbage = bad_header;
  garbage.insert(garbage.end(), bad_json.begin(), bad_json.end());
  {
    auto store = open_store();
    write_batch b;
    for (job_id id = 1; id <= garbage.size(); ++id)
      b.put_record(make_record(id + 1000)); // ids that stay valid
    for (job_id id = 1; id <= garbage.size(); ++id)
      b.put_record(make_record(id));
    commit(*store, b);
  }
  {
    raw_store raw{path};
    for (job_id id = 1; id <= garbage.size(); ++id)
      raw.put("jobs", be_key(id), garbage[id - 1]);
  }
  auto store = open_store();
  std::vector<job_id> corrupt;
  auto seen = unfinished_ids(*store, &corrupt);
  BOOST_TEST(corrupt.size() == bad_header.size());
  BOOST_TEST(seen.size() == bad_json.size() + garbage.size()); // headers alone look fine
  for (job_id id = 1; id <= garbage.size(); ++id)
    BOOST_TEST(store->get(id).error().code == errc::corrupt_record);
  list_query q;
  q.limit = 1000;
  auto page = store->list(q);
  BOOST_REQUIRE(page.ok());
  BOOST_TEST(page->jobs.size() == garbage.size()); // only the valid ones
  BOOST_TEST(page->jobs.back().id == 1001u);
}

// -- flows and schedules ----------------------------------------------------------------

BOOST_DATA_TEST_CASE_F(store_fixture, a_records_flow_links_and_its_checkpoints_children_read_back,
                       both_stores, kind) {
  auto store = open_kind(kind);
  auto rec = make_record(9, job_status::waiting);
  rec.parent = 3;
  rec.after = {4, 5};
  rec.on_dependency_failure = dependency_failure::run;
  write_batch b;
  b.put_record(rec);
  checkpoint cp;
  cp.state = json::object{{"spawned", true}};
  cp.children = {10, 11, 12};
  b.put_checkpoint(9, cp);
  commit(*store, b);
  auto got = store->get(9);
  BOOST_REQUIRE(got.ok());
  BOOST_TEST(got->parent == 3u);
  BOOST_TEST(got->after == (std::vector<job_id>{4, 5}));
  BOOST_TEST((got->on_dependency_failure == dependency_failure::run));
  BOOST_TEST(got->children == (std::vector<job_id>{10, 11, 12}));
  BOOST_TEST((*store->get_checkpoint(9))->children == (std::vector<job_id>{10, 11, 12}));
}

BOOST_DATA_TEST_CASE_F(store_fixture, schedules_are_put_listed_by_name_and_erased, both_stores,
                       kind) {
  auto store = open_kind(kind);
  schedule_info a;
  a.name = "nightly";
  a.spec = "0 3 * * *";
  a.type = "cleanup";
  a.params = json::object{{"days", 30}};
  a.options.time_zone = "Europe/Berlin";
  a.options.on_missed = missed_ticks::run_each;
  a.last_tick = 1234;
  auto b = a;
  b.name = "hourly";
  write_batch w;
  w.put_schedule(std::make_shared<const schedule_info>(a));
  w.put_schedule(std::make_shared<const schedule_info>(b));
  commit(*store, w);
  auto all = store->schedules();
  BOOST_REQUIRE(all.ok());
  BOOST_REQUIRE(all->size() == 2u);
  BOOST_TEST((*all)[0].name == "hourly");
  BOOST_TEST((*all)[1].options.time_zone == "Europe/Berlin");
  BOOST_TEST(((*all)[1].options.on_missed == missed_ticks::run_each));
  BOOST_TEST((*all)[1].last_tick == 1234);
  BOOST_TEST((*all)[1].params == a.params);
  write_batch e;
  e.erase_schedule("nightly");
  commit(*store, e);
  BOOST_TEST(store->schedules()->size() == 1u);
}

BOOST_DATA_TEST_CASE_F(store_fixture, a_schedule_with_a_bad_name_is_refused, both_stores, kind) {
  auto store = open_kind(kind);
  schedule_info s;
  s.name = std::string(201, 'x');
  write_batch w;
  w.put_schedule(std::make_shared<const schedule_info>(s));
  BOOST_TEST(store->commit(w).error().code == errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(a_corrupt_schedule_is_left_out_and_named) {
  {
    auto store = open_store();
    schedule_info s;
    s.name = "good";
    write_batch w;
    w.put_schedule(std::make_shared<const schedule_info>(s));
    commit(*store, w);
  }
  {
    raw_store raw{path};
    raw.put("schedules", "broken", "not a schedule");
  }
  auto store = open_store();
  std::vector<std::pair<std::string, std::string>> corrupt;
  auto all = store->schedules(&corrupt);
  BOOST_REQUIRE(all.ok());
  BOOST_TEST(all->size() == 1u);
  BOOST_REQUIRE(corrupt.size() == 1u);
  BOOST_TEST(corrupt[0].first == "broken");
}

BOOST_AUTO_TEST_CASE(a_corrupt_checkpoint_is_reported_by_get_checkpoint_not_by_get) {
  {
    auto store = open_store();
    write_batch b;
    b.put_record(make_record(1, job_status::running));
    checkpoint cp;
    cp.at = 5;
    b.put_checkpoint(1, cp);
    commit(*store, b);
  }
  {
    raw_store raw{path};
    raw.put("checkpoints", be_key(1), "\x01\x02\x03\x04{}");
  }
  auto store = open_store();
  auto cp = store->get_checkpoint(1);
  BOOST_REQUIRE(!cp.ok());
  BOOST_TEST(cp.error().code == errc::corrupt_record);
  auto rec = store->get(1);
  BOOST_REQUIRE(rec.ok());
  BOOST_TEST(same(*rec, make_record(1, job_status::running)));
}

// -- map growth ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_tiny_map_grows_when_a_batch_does_not_fit) {
  auto cfg = config();
  cfg.map_size = std::size_t{64} << 10;
  auto store = open_store(cfg);
  write_batch b;
  for (job_id id = 1; id <= 200; ++id)
    b.put_record(make_big_record(id, 2000));
  commit(*store, b);
  BOOST_TEST(store->stats().map_size > cfg.map_size);
  BOOST_TEST(store->stats().records == 200u);
  for (job_id id = 1; id <= 200; ++id)
    BOOST_TEST(same(*store->get(id), make_big_record(id, 2000)));
  BOOST_TEST(store->last_id() == 200u);
}

BOOST_AUTO_TEST_CASE(a_commit_beyond_max_map_size_fails_with_storage_full_and_loses_nothing) {
  auto cfg = config();
  cfg.map_size = std::size_t{64} << 10;
  cfg.max_map_size = std::size_t{128} << 10;
  auto store = open_store(cfg);
  write_batch small;
  for (job_id id = 1; id <= 5; ++id)
    small.put_record(make_record(id));
  commit(*store, small);

  write_batch huge;
  for (job_id id = 6; id <= 300; ++id)
    huge.put_record(make_big_record(id, 2000));
  auto r = store->commit(huge);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == errc::storage_full);
  BOOST_TEST(r.error().message.find("131072 bytes") != std::string::npos, r.error().message);

  BOOST_TEST(store->last_id() == 5u);
  BOOST_TEST(store->stats().records == 5u);
  for (job_id id = 1; id <= 5; ++id)
    BOOST_TEST(same(*store->get(id), make_record(id)));
  BOOST_TEST(store->get(6).error().code == errc::not_found);
  put(*store, make_record(6)); // the store still takes batches that fit
  BOOST_TEST(store->get(6).ok());
}

BOOST_AUTO_TEST_CASE(a_grown_map_keeps_its_size_when_reopened_with_a_smaller_map_size) {
  auto cfg = config();
  cfg.map_size = std::size_t{64} << 10;
  std::size_t grown = 0;
  {
    auto store = open_store(cfg);
    write_batch b;
    for (job_id id = 1; id <= 100; ++id)
      b.put_record(make_big_record(id, 2000));
    commit(*store, b);
    grown = store->stats().map_size;
  }
  BOOST_TEST(grown > cfg.map_size);
  BOOST_TEST(open_store(cfg)->stats().map_size == grown);
  cfg.map_size = grown * 2;
  BOOST_TEST(open_store(cfg)->stats().map_size == grown * 2);
}

BOOST_AUTO_TEST_CASE(reads_on_other_threads_stay_correct_while_the_map_grows) {
  auto cfg = config();
  cfg.map_size = std::size_t{64} << 10;
  auto store = open_store(cfg);
  put(*store, make_record(1));
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::atomic<int> reads{0};
  auto reader = [&] {
    while (!stop.load()) {
      auto got = store->get(1);
      auto page = store->list({});
      if (!got.ok() || !same(*got, make_record(1)) || !page.ok() || page->jobs.empty())
        ++failures;
      ++reads;
    }
  };
  std::thread t1{reader}, t2{reader};
  // On a busy machine the readers may start after the writes ended: wait for them.
  while (reads.load() < 2)
    std::this_thread::yield();
  for (job_id first = 2; first < 800; first += 40) {
    write_batch b;
    for (job_id id = first; id < first + 40; ++id)
      b.put_record(make_big_record(id, 1500));
    commit(*store, b);
  }
  stop = true;
  t1.join();
  t2.join();
  BOOST_TEST(failures.load() == 0);
  BOOST_TEST(reads.load() > 0);
  BOOST_TEST(store->stats().map_size >= (std::size_t{1} << 20));
}

// -- open ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_second_open_of_the_same_directory_fails_while_the_first_is_alive) {
  auto first = open_store();
  auto second = job_store::open(config());
  BOOST_REQUIRE(!second.ok());
  BOOST_TEST(second.error().code == errc::storage_error);
  BOOST_TEST(second.error().message == "store at " + path + " is in use by another process");
  first.reset();
  BOOST_TEST(job_store::open(config()).ok());
}

BOOST_AUTO_TEST_CASE(opening_under_a_missing_parent_fails_clearly) {
  auto cfg = config();
  cfg.path = dir + "/missing/store";
  auto r = job_store::open(cfg);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == errc::storage_error);
  BOOST_TEST(r.error().message
             == "cannot open store: parent directory of " + cfg.path + " does not exist");
}

BOOST_AUTO_TEST_CASE(a_store_with_a_newer_schema_is_refused) {
  open_store().reset();
  {
    raw_store raw{path};
    raw.put("meta", "schema", std::string("\x04\x00\x00\x00", 4));
  }
  auto r = job_store::open(config());
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == errc::storage_error);
  BOOST_TEST(r.error().message
             == "store at " + path
                  + " was written by a newer jobrt (schema 4; this build reads up to 3)");
}

bool running_as_root() {
  return ::geteuid() == 0;
}

/// A record value as schema-1 stores wrote it: the header, then the record as JSON.
std::string json_body_record_value(const job_record& r) {
  std::string p;
  auto le = [&](std::uint64_t x, int n) {
    for (int i = 0; i < n; ++i)
      p.push_back(static_cast<char>((x >> (8 * i)) & 0xff));
  };
  le(1, 1); // format 1
  le(static_cast<std::uint8_t>(r.status), 1);
  le(static_cast<std::uint32_t>(r.priority), 4);
  le(static_cast<std::uint64_t>(r.wake_at), 8);
  le(static_cast<std::uint64_t>(r.finished_at), 8);
  le(r.type.size(), 1);
  p += r.type;
  le(r.owner.size(), 2);
  p += r.owner;
  p += json::serialize(to_json(r));
  return with_crc(p);
}

BOOST_AUTO_TEST_CASE(a_json_checkpoint_whose_progress_is_infinite_is_corrupt) {
  // 5E721 parses as infinity; read back and written again, it would not be JSON.
  auto cp = jobrt::storage::codec::decode_checkpoint(with_crc(
    R"({"state":{"total":15},"progress":{"fraction":5E721,"stage":"","message":"",)"
    R"("detail":null},"at":1000001})"));
  BOOST_REQUIRE(!cp.ok());
  BOOST_TEST(cp.error().code == errc::corrupt_record);
}

BOOST_AUTO_TEST_CASE(a_schema_1_store_with_json_records_is_read_and_upgraded) {
  open_store().reset();
  auto old_record = make_record(3, job_status::running, "resize", "acme");
  old_record.attempts = 2;
  checkpoint old_cp;
  old_cp.state = json::object{{"row", 12}};
  old_cp.progress.fraction = 0.5;
  old_cp.progress.stage = "rows";
  old_cp.at = 4242;
  {
    raw_store raw{path};
    raw.put("meta", "schema", std::string("\x01\x00\x00\x00", 4));
    raw.put("jobs", be_key(3), json_body_record_value(old_record));
    raw.put("by_status", std::string(1, static_cast<char>(job_status::running)) + be_key(3), "");
    raw.put("checkpoints", be_key(3), with_crc(json::serialize(to_json(old_cp))));
  }
  {
    auto store = open_store();
    auto got = store->get(3);
    BOOST_REQUIRE_MESSAGE(got.ok(), (got.ok() ? "" : got.error().message));
    BOOST_TEST(got->attempts == 2u);
    BOOST_TEST(got->checkpoint_at == 4242);
    BOOST_TEST(got->progress.stage == "rows");
    auto cp = store->get_checkpoint(3);
    BOOST_REQUIRE(cp.ok() && cp->has_value());
    BOOST_TEST(to_json(**cp) == to_json(old_cp));
    BOOST_TEST(unfinished_ids(*store) == std::vector<job_id>{3});
    auto rewritten = old_record;
    rewritten.status = job_status::completed;
    rewritten.finished_at = 99;
    put(*store, rewritten); // written in the current format over the old one
    auto expected = rewritten;
    expected.checkpoint_at = old_cp.at; // get() takes the checkpoint's time
    BOOST_TEST(same(*store->get(3), expected));
    BOOST_TEST(unfinished_ids(*store).empty());
  }
  raw_store raw{path};
  BOOST_TEST(raw.get("meta", "schema") == std::string("\x03\x00\x00\x00", 4));
  BOOST_TEST(raw.get("jobs", be_key(3))[4] == '\x02'); // the format byte
}

BOOST_AUTO_TEST_CASE(a_records_dependency_policy_is_kept_even_without_dependencies) {
  auto rec = make_record(3, job_status::queued, "resize", "acme");
  rec.on_dependency_failure = jobrt::dependency_failure::run;
  auto bytes = jobrt::storage::codec::encode_record(rec);
  BOOST_REQUIRE(bytes.ok());
  auto got = jobrt::storage::codec::decode_record(3, *bytes);
  BOOST_REQUIRE(got.ok());
  BOOST_TEST(same(*got, rec));
}

BOOST_AUTO_TEST_CASE(a_json_record_that_names_a_node_and_children_reads_back_without_them) {
  // Both are live: which node runs a job now, and the children its checkpoint lists.
  auto rec = make_record(3, job_status::running, "resize", "acme");
  rec.node = "worker-1";
  rec.children = {4, 5};
  auto got = jobrt::storage::codec::decode_record(3, json_body_record_value(rec));
  BOOST_REQUIRE(got.ok());
  BOOST_TEST(got->node.empty());
  BOOST_TEST(got->children.empty());
  BOOST_TEST(got->owner == "acme");
}

BOOST_AUTO_TEST_CASE(a_schema_2_store_has_its_idempotency_keys_scoped_by_their_jobs_owner) {
  {
    auto store = open_store();
    put(*store, make_record(3, job_status::completed, "resize", "acme"));
  }
  {
    raw_store raw{path};
    raw.put("meta", "schema", std::string("\x02\x00\x00\x00", 4));
    raw.put("unique", "order-1", be_key(3)); // keys were global before schema 3
    raw.put("unique", "orphan", be_key(9));  // its job was deleted
  }
  {
    auto store = open_store();
    BOOST_TEST(**store->find_unique_key("acme", "order-1") == 3u);
    BOOST_TEST(!store->find_unique_key("", "order-1")->has_value());
    BOOST_TEST(!store->find_unique_key("", "orphan")->has_value());
  }
  raw_store raw{path};
  BOOST_TEST(raw.get("meta", "schema") == std::string("\x03\x00\x00\x00", 4));
  BOOST_TEST(raw.entries("unique") == 1u);
}

BOOST_AUTO_TEST_CASE(a_read_only_directory_gives_a_permission_error,
                     *boost::unit_test::precondition([](boost::unit_test::test_unit_id) {
                       return !running_as_root(); // root ignores permissions
                     })) {
  BOOST_REQUIRE(::mkdir(path.c_str(), 0555) == 0);
  auto r = job_store::open(config());
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == errc::storage_error);
  BOOST_TEST(r.error().message.find("permission denied") != std::string::npos);
}

// -- writes that expect a status ------------------------------------------------------

BOOST_DATA_TEST_CASE_F(store_fixture, a_write_that_expects_the_stored_status_replaces_the_record, both_stores, kind) {
  auto store = open_kind(kind);
  put(*store, make_record(1, job_status::queued));
  write_batch b;
  b.put_record(make_record(1, job_status::running), job_status::queued);
  commit(*store, b);
  BOOST_TEST(store->get(1)->status == job_status::running);
}

BOOST_DATA_TEST_CASE_F(store_fixture, a_write_that_expects_another_status_is_refused_with_its_batch, both_stores, kind) {
  auto store = open_kind(kind);
  put(*store, make_record(1, job_status::paused));
  write_batch b;
  b.put_record(make_record(2, job_status::queued));
  b.put_record(make_record(1, job_status::completed), job_status::running);
  auto r = store->commit(b);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == errc::illegal_transition);
  BOOST_TEST(r.error().message
             == "job 1: the store holds a paused record where this write expected a running "
                "one; the write is refused");
  BOOST_TEST(store->get(1)->status == job_status::paused);
  BOOST_TEST(store->get(2).error().code == errc::not_found);
}

BOOST_DATA_TEST_CASE_F(store_fixture, a_write_that_expects_a_status_of_a_missing_record_is_refused, both_stores, kind) {
  auto store = open_kind(kind);
  write_batch b;
  b.put_record(make_record(1, job_status::completed), job_status::running);
  auto r = store->commit(b);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().message
             == "job 1: the store holds no record where this write expected a running one; "
                "the write is refused");
}

BOOST_DATA_TEST_CASE_F(store_fixture, writes_of_one_record_in_one_batch_expect_each_others_status, both_stores, kind) {
  auto store = open_kind(kind);
  put(*store, make_record(1, job_status::queued));
  write_batch b;
  b.put_record(make_record(1, job_status::running), job_status::queued);
  b.put_record(make_record(1, job_status::completed), job_status::running);
  commit(*store, b);
  BOOST_TEST(store->get(1)->status == job_status::completed);

  write_batch out_of_order;
  out_of_order.put_record(make_record(1, job_status::queued), job_status::failed);
  out_of_order.put_record(make_record(1, job_status::running), job_status::completed);
  BOOST_TEST(store->commit(out_of_order).error().code == errc::illegal_transition);
  BOOST_TEST(store->get(1)->status == job_status::completed);
}

// -- unique keys --------------------------------------------------------------------

BOOST_DATA_TEST_CASE_F(store_fixture, unique_keys_map_to_their_job_and_can_be_erased, both_stores, kind) {
  auto store = open_kind(kind);
  write_batch b;
  b.put_record(make_record(1));
  b.put_unique_key("acme", "order-17", 1);
  commit(*store, b);
  auto found = store->find_unique_key("acme", "order-17");
  BOOST_REQUIRE(found.ok() && found->has_value());
  BOOST_TEST(**found == 1u);
  BOOST_TEST(!store->find_unique_key("acme", "order-18")->has_value());

  write_batch e;
  e.erase_unique_key("acme", "order-17");
  commit(*store, e);
  BOOST_TEST(!store->find_unique_key("acme", "order-17")->has_value());
}

BOOST_DATA_TEST_CASE_F(store_fixture, a_unique_key_belongs_to_one_owner_only, both_stores, kind) {
  auto store = open_kind(kind);
  write_batch b;
  b.put_record(make_record(1, job_status::queued, "resize", "a"));
  b.put_record(make_record(2, job_status::queued, "resize", "ab"));
  b.put_unique_key("a", "bc", 1);
  b.put_unique_key("ab", "c", 2); // the same bytes as a's key when run together
  commit(*store, b);
  BOOST_TEST(**store->find_unique_key("a", "bc") == 1u);
  BOOST_TEST(**store->find_unique_key("ab", "c") == 2u);
  BOOST_TEST(!store->find_unique_key("", "bc")->has_value());
  BOOST_TEST(!store->find_unique_key("b", "bc")->has_value());
}

BOOST_DATA_TEST_CASE_F(store_fixture, an_over_long_unique_key_fails_the_commit_and_writes_nothing, both_stores, kind) {
  auto store = open_kind(kind);
  write_batch b;
  b.put_record(make_record(1));
  b.put_unique_key("", std::string(512, 'k'), 1);
  auto r = store->commit(b);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().code == errc::invalid_argument);
  BOOST_TEST(store->get(1).error().code == errc::not_found);
  BOOST_TEST(!store->find_unique_key("", std::string(512, 'k'))->has_value());
}

BOOST_DATA_TEST_CASE_F(store_fixture, the_owner_counts_against_the_length_of_a_unique_key, both_stores, kind) {
  auto store = open_kind(kind);
  write_batch fits;
  fits.put_unique_key("acme", std::string(505, 'k'), 1); // 2 + 4 + 505 = 511
  BOOST_TEST(store->commit(fits).ok());
  write_batch over;
  over.put_unique_key("acme", std::string(506, 'k'), 2);
  auto r = store->commit(over);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().message
             == "idempotency key must be 1 to 505 bytes long (the owner's name counts "
                "against the limit of 511; got 506)");
}

BOOST_AUTO_TEST_SUITE_END()
