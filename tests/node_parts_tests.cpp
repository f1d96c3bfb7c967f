/// The plain parts of worker nodes, without actors or sockets: what crosses the
/// wire (actors/node_wire.hpp), and the scheduler's table of nodes
/// (actors/node_table.hpp).

#define BOOST_TEST_MODULE node_parts_tests
#include <boost/test/unit_test.hpp>

#include <string>

#include <boost/json.hpp>

#include "actors/node_table.hpp"
#include "actors/node_wire.hpp"

using namespace jobrt;

namespace {

proto::node_joined node(std::uint64_t id, std::size_t slots,
                        std::map<std::string, std::size_t> types) {
  proto::node_joined j;
  j.id = id;
  j.name = "n" + std::to_string(id);
  j.slots = slots;
  j.types = std::move(types);
  j.joined_at = 1000;
  return j;
}

} // namespace

BOOST_AUTO_TEST_SUITE(wire)

BOOST_AUTO_TEST_CASE(a_start_round_trips_with_its_record_checkpoint_and_signals) {
  proto::job_start js;
  js.id = 7;
  js.attempt = 3;
  job_record r;
  r.id = 7;
  r.type = "sum";
  r.params = boost::json::parse(R"({"n": 5})");
  js.record = std::make_shared<const job_record>(r);
  checkpoint cp;
  cp.state = boost::json::parse(R"({"i": 2})");
  cp.signals_taken = 1;
  js.restored = cp;
  js.signals.push_back(job_signal{2, "go", boost::json::parse(R"({"x": 1})"), 55});
  auto back = node_wire::decode_start(node_wire::encode_start(js));
  BOOST_TEST_REQUIRE(static_cast<bool>(back));
  BOOST_TEST(back->id == 7u);
  BOOST_TEST(back->attempt == 3u);
  BOOST_TEST(back->record->type == "sum");
  BOOST_TEST(back->record->params == r.params);
  BOOST_TEST_REQUIRE(back->restored.has_value());
  BOOST_TEST(back->restored->state == cp.state);
  BOOST_TEST(back->restored->signals_taken == 1u);
  BOOST_TEST_REQUIRE(back->signals.size() == 1u);
  BOOST_TEST(back->signals[0].name == "go");
  BOOST_TEST(back->signals[0].seq == 2u);
}

BOOST_AUTO_TEST_CASE(a_start_without_a_type_is_refused) {
  BOOST_TEST(!node_wire::decode_start(R"({"id": 7, "params": {}})"));
  BOOST_TEST(!node_wire::decode_start(R"({"id": 7, "type": ""})"));
  BOOST_TEST(!node_wire::decode_start(R"({"id": 0, "type": "sum"})"));
}

BOOST_AUTO_TEST_CASE(text_that_is_not_a_json_object_is_refused_with_malformed_json) {
  for (const char* text : {"", "{", "[1,2]", "42", "\"x\"", "{\"id\": 1}"}) {
    auto r = node_wire::decode_start(text);
    BOOST_TEST(!r, text);
  }
  auto r = node_wire::decode_outcome("not json");
  BOOST_TEST_REQUIRE(!r);
  BOOST_TEST(r.error().code == errc::malformed_json);
}

BOOST_AUTO_TEST_CASE(an_outcome_round_trips_with_its_output_and_progress) {
  proto::job_outcome o;
  o.what = proto::job_outcome::kind::rate_limited;
  o.retry_after_ms = 250;
  o.last_progress.fraction = 0.5;
  o.last_progress.stage = "half";
  o.signals_taken = 4;
  auto back = node_wire::decode_outcome(node_wire::encode_outcome(o));
  BOOST_TEST_REQUIRE(static_cast<bool>(back));
  BOOST_TEST((back->what == proto::job_outcome::kind::rate_limited));
  BOOST_TEST(back->retry_after_ms == 250);
  BOOST_TEST(back->last_progress.stage == "half");
  BOOST_TEST(back->signals_taken == 4u);
}

BOOST_AUTO_TEST_CASE(a_worker_cannot_report_an_interrupted_run_or_an_unknown_ending) {
  BOOST_TEST(!node_wire::decode_outcome(R"({"what": "interrupted"})"));
  BOOST_TEST(!node_wire::decode_outcome(R"({"what": "awaiting_children"})"));
  BOOST_TEST(!node_wire::decode_outcome(R"({"what": "exploded"})"));
  BOOST_TEST(!node_wire::decode_outcome(R"({})"));
}

BOOST_AUTO_TEST_CASE(a_negative_retry_delay_from_a_peer_becomes_zero) {
  auto o = node_wire::decode_outcome(R"({"what": "rate_limited", "retry_after_ms": -5})");
  BOOST_TEST_REQUIRE(static_cast<bool>(o));
  BOOST_TEST(o->retry_after_ms == 0);
}

BOOST_AUTO_TEST_CASE(an_offer_needs_slots_and_types_within_bounds) {
  BOOST_TEST(static_cast<bool>(node_wire::decode_offer(R"({"slots": 2, "types": {"a": 0}})")));
  BOOST_TEST(!node_wire::decode_offer(R"({"slots": 0, "types": {"a": 0}})"));
  BOOST_TEST(!node_wire::decode_offer(R"({"slots": 2, "types": {}})"));
  BOOST_TEST(!node_wire::decode_offer(R"({"slots": 200000, "types": {"a": 0}})"));
  BOOST_TEST(!node_wire::decode_offer(R"({"slots": 2, "types": {"": 1}})"));
  BOOST_TEST(!node_wire::decode_offer(R"({"slots": -1, "types": {"a": 0}})"));
  BOOST_TEST(!node_wire::decode_offer(R"({"slots": 2, "types": ["a"]})"));
}

BOOST_AUTO_TEST_CASE(an_offer_round_trips_with_each_types_cap) {
  node_wire::offer o;
  o.slots = 4;
  o.types = {{"a", 0}, {"b", 2}};
  auto back = node_wire::decode_offer(node_wire::encode_offer(o));
  BOOST_TEST_REQUIRE(static_cast<bool>(back));
  BOOST_TEST(back->slots == 4u);
  BOOST_TEST((back->types == o.types));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(table)

BOOST_AUTO_TEST_CASE(a_job_goes_to_the_least_busy_node_that_runs_its_type) {
  node_table t;
  t.join(node(1, 2, {{"a", 0}}));
  t.join(node(2, 4, {{"a", 0}, {"b", 0}}));
  BOOST_TEST(t.pick("b") == 2u);
  t.take(2, "a", 10);
  t.take(2, "a", 11);
  BOOST_TEST(t.pick("a") == 1u); // node 2 is half full, node 1 empty
  BOOST_TEST(t.pick("c") == 0u);
}

BOOST_AUTO_TEST_CASE(a_full_node_or_a_type_at_its_cap_gets_no_more) {
  node_table t;
  t.join(node(1, 2, {{"a", 1}, {"b", 0}}));
  t.take(1, "a", 10);
  BOOST_TEST(t.pick("a") == 0u);
  BOOST_TEST(t.pick("b") == 1u);
  t.take(1, "b", 11);
  BOOST_TEST(t.pick("b") == 0u);
  t.release(1, "a", 10);
  BOOST_TEST(t.pick("a") == 1u);
}

BOOST_AUTO_TEST_CASE(a_node_that_leaves_returns_the_runs_it_held) {
  node_table t;
  t.join(node(1, 4, {{"a", 0}}));
  t.take(1, "a", 10);
  t.take(1, "a", 11);
  t.take(1, "a", 11); // counted once
  BOOST_TEST(t.stats().at(0).running == 2u);
  auto gone = t.leave(1);
  BOOST_TEST_REQUIRE(gone.has_value());
  BOOST_TEST((gone->jobs == std::set<job_id>{10, 11}));
  BOOST_TEST(t.empty());
  BOOST_TEST(!t.leave(1).has_value());
  t.release(1, "a", 10); // of a node that is gone: nothing happens
}

BOOST_AUTO_TEST_CASE(a_heartbeat_never_moves_the_last_one_back) {
  node_table t;
  t.join(node(1, 1, {{"a", 0}}));
  t.heard(1, 5000);
  t.heard(1, 4000);
  BOOST_TEST(t.stats().at(0).last_heartbeat == 5000);
}

BOOST_AUTO_TEST_SUITE_END()
