#define BOOST_TEST_MODULE ready_queue_tests
#include <boost/test/unit_test.hpp>

#include <random>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "actors/ready_queue.hpp"

using namespace jobrt;

namespace {

/// A ready_queue with the membership its owner (the scheduler) keeps.
struct queue_fixture {
  ready_queue q;
  std::unordered_set<job_id> queued;
  std::unordered_map<job_id, std::int32_t> priority_of;

  void push(job_id id, std::int32_t priority = 0) {
    priority_of[id] = priority;
    queued.insert(id);
    q.push(id, priority);
  }
  void erase(job_id id) {
    queued.erase(id);
    q.erase(id, priority_of.at(id));
  }
  auto is_queued() const {
    return [this](job_id id) { return queued.count(id) > 0; };
  }
  job_id next() {
    return q.find(is_queued(), [](job_id) { return true; });
  }
  job_id oldest() {
    return q.find_oldest(is_queued(), [](job_id) { return true; });
  }
  /// Starts jobs until the queue is empty, returning their order.
  std::vector<job_id> drain() {
    std::vector<job_id> order;
    while (auto id = next()) {
      order.push_back(id);
      erase(id);
    }
    return order;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(ready_queue_tests, queue_fixture)

BOOST_AUTO_TEST_CASE(higher_priority_starts_first_then_the_lower_id) {
  push(1, 0);
  push(2, 5);
  push(3, 0);
  push(4, 5);
  push(5, -1);
  BOOST_TEST(drain() == (std::vector<job_id>{2, 4, 1, 3, 5}), boost::test_tools::per_element());
  BOOST_TEST(q.empty());
}

BOOST_AUTO_TEST_CASE(a_job_queued_again_out_of_order_takes_its_id_place) {
  for (job_id id = 1; id <= 5; ++id)
    push(id);
  erase(2); // paused
  push(6);
  push(2); // resumed: it is older than 3
  BOOST_TEST(drain() == (std::vector<job_id>{1, 2, 3, 4, 5, 6}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(an_erased_job_is_never_found) {
  for (job_id id = 1; id <= 4; ++id)
    push(id);
  erase(1);
  erase(3);
  BOOST_TEST(q.size() == 2u);
  BOOST_TEST(drain() == (std::vector<job_id>{2, 4}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(find_skips_jobs_the_caller_does_not_want) {
  for (job_id id = 1; id <= 4; ++id)
    push(id);
  auto id = q.find(is_queued(), [](job_id x) { return x % 2 == 0; });
  BOOST_TEST(id == 2u);
  BOOST_TEST(q.find(is_queued(), [](job_id) { return false; }) == 0u);
}

BOOST_AUTO_TEST_CASE(the_oldest_job_is_found_across_priorities) {
  push(1, 0);
  push(2, 9);
  push(3, 9);
  BOOST_TEST(next() == 2u);
  BOOST_TEST(oldest() == 1u);
  erase(1);
  BOOST_TEST(oldest() == 2u);
}

BOOST_AUTO_TEST_CASE(under_churn_the_order_is_that_of_an_ordered_set_and_stale_ids_stay_bounded) {
  // The reference: the ordered set the queue replaces.
  std::set<std::pair<std::int64_t, job_id>> reference;
  std::mt19937 rng{42};
  job_id next_id = 1;
  std::vector<job_id> paused;
  for (int step = 0; step < 200000; ++step) {
    auto action = rng() % 10;
    if (action < 4 || reference.empty()) {
      auto p = static_cast<std::int32_t>(rng() % 3);
      push(next_id, p);
      reference.insert({-p, next_id++});
    } else if (action < 6) {
      auto id = next();
      BOOST_TEST_REQUIRE(id == reference.begin()->second);
      BOOST_TEST_REQUIRE(q.held() <= 2 * q.size() + 1024);
      reference.erase(reference.begin());
      erase(id);
    } else if (action < 8) {
      auto it = std::next(reference.begin(), rng() % reference.size());
      paused.push_back(it->second);
      erase(it->second);
      reference.erase(it);
    } else if (!paused.empty()) {
      auto id = paused.back();
      paused.pop_back();
      push(id, priority_of.at(id));
      reference.insert({-priority_of.at(id), id});
    }
    BOOST_TEST_REQUIRE(q.size() == reference.size());
  }
  BOOST_TEST(drain().size() == reference.size());
}

BOOST_AUTO_TEST_SUITE_END()
