#include <jobrt/jobrt.hpp>

#include <caf/all.hpp>

#include <chrono>
#include <cstdio>
#include <thread>

using namespace std::chrono_literals;
using quote_atom = caf::atom_constant<caf::atom("quote")>;

struct pricing { caf::actor actor; };                       // what the host provides

struct quote_params { std::vector<std::string> skus; };
BOOST_DESCRIBE_STRUCT(quote_params, (), (skus))
struct quote_state { std::size_t next = 0; std::int64_t total_cents = 0; };
BOOST_DESCRIBE_STRUCT(quote_state, (), (next, total_cents))

struct quote_job : jobrt::job<quote_params, quote_state> {
  static constexpr const char* name = "quote";
  static constexpr const char* description = "Asks the pricing actor for each SKU";
  void step(jobrt::context& ctx) override {
    if (state().next == params().skus.size())
      return ctx.complete({{"total_cents", state().total_cents}});
    auto* prices = ctx.service<pricing>();                  // no global needed
    if (!prices)
      return ctx.fail("no pricing actor was provided");
    ctx.suspend();                                          // the reply moves the job on
    ctx.self()->request(prices->actor, 5s, quote_atom::value, params().skus[state().next])
      .then(
        [this, &ctx](std::int64_t cents) {                  // the context outlives the step
          state().total_cents += cents;
          ctx.progress(double(++state().next) / params().skus.size(), "quoting");
          ctx.checkpoint();                                 // held while the job is paused
          ctx.next_step();
        },
        [&ctx](caf::error& e) { ctx.fail_transient(caf::to_string(e)); });  // retried later
  }
};
JOBRT_REGISTER_JOB(quote_job);

int main() {
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-throughput", std::size_t{64});     // what jobrt needs of a host
  caf::actor_system sys{cfg};
  auto prices = sys.spawn<caf::detached>([]() -> caf::behavior {  // a slow service
    return {[](quote_atom, const std::string& sku) {
      std::this_thread::sleep_for(200ms);
      return std::int64_t(sku.size() * 100);
    }};
  });
  jobrt::runtime_options opts;
  opts.storage = jobrt::storage_kind::memory;
  opts.services.add(std::make_shared<pricing>(pricing{prices}));
  auto rt = jobrt::runtime::start(sys, opts);
  if (!rt)
    return std::fprintf(stderr, "%s\n", rt.error().message.c_str()), 1;
  auto id = (*rt)->submit("quote", {{"skus", {"apple", "kiwi", "mango"}}});
  std::this_thread::sleep_for(100ms);                       // a request is in flight now
  if ((*rt)->pause(*id))                                    // acknowledged: it holds
    std::printf("paused: %s\n", to_string((*rt)->get(*id)->status));
  std::this_thread::sleep_for(300ms);                       // the reply arrives meanwhile
  std::printf("still %s\n", to_string((*rt)->get(*id)->status));
  if (!(*rt)->resume(*id))                                  // the held reply is applied
    return 1;
  auto done = (*rt)->wait(*id, 30s);
  std::printf("%s, total %lld cents\n", to_string(done->status),
              static_cast<long long>(done->output.at("total_cents").as_int64()));
  (*rt)->shutdown();
  caf::anon_send_exit(prices, caf::exit_reason::user_shutdown);
}
