#pragma once

/// A job written as a message-driven actor whose every move is scripted, and
/// the actor it asks: for tests that drive replies, pauses and cancels in any
/// order. Include it from exactly one translation unit per test binary (it
/// registers a job type).

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "caf/all.hpp"

#include "jobrt/jobrt.hpp"

namespace scripted {

using ask_atom = caf::atom_constant<caf::atom("sj_ask")>;
using release_atom = caf::atom_constant<caf::atom("sj_release")>;

/// The actor scripted jobs ask; a test spawns it in the runtime's system.
inline std::mutex responder_mtx;
inline caf::actor responder;
/// Reply handlers that have run to their end.
inline std::atomic<int> replies_handled{0};

struct responder_state {
  std::vector<caf::typed_response_promise<int>> held;
};

/// Holds every request until it gets `release_atom`, then answers them all
/// (and replies with how many it answered). The unused argument is there
/// because CAF 0.17 binds a reference through a null pointer when a stateful
/// actor is spawned without arguments (UBSan reports it).
inline caf::behavior responder_fn(caf::stateful_actor<responder_state>* self, int) {
  return {
    [=](ask_atom) -> caf::result<int> {
      auto rp = self->make_response_promise<int>();
      self->state.held.push_back(rp);
      return rp;
    },
    [=](release_atom) {
      for (auto& rp : self->state.held)
        rp.deliver(42);
      auto n = static_cast<int>(self->state.held.size());
      self->state.held.clear();
      return n; // the replies are in their requesters' mailboxes by now, or dropped
    },
  };
}

inline void spawn_responder(caf::actor_system& sys) {
  std::lock_guard guard{responder_mtx};
  responder = sys.spawn(responder_fn, 0);
}

inline void stop_responder() {
  std::lock_guard guard{responder_mtx};
  if (responder)
    caf::anon_send_exit(responder, caf::exit_reason::user_shutdown);
  responder = nullptr;
}

struct script_params {
  /// One command per step: "step", "checkpoint", "rate_limit:MS", "fail" (a
  /// transient failure), "fail_for_good", or "ask:THEN", which asks the
  /// responder and, in the reply handler, does THEN: "complete", "next", "fail",
  /// "fail_for_good" or "rate_limit:MS".
  std::vector<std::string> script;
};
BOOST_DESCRIBE_STRUCT(script_params, (), (script))

struct script_state {
  std::int64_t at = 0; ///< the next command
};
BOOST_DESCRIBE_STRUCT(script_state, (), (at))

/// Runs its script, one command per step; completes after the last.
struct script_job : jobrt::job<script_params, script_state> {
  static constexpr const char* name = "scripted";
  static constexpr const char* description = "Follows a script of steps and replies";
  static jobrt::job_type_options options() {
    jobrt::job_type_options o;
    o.max_attempts = 3;
    o.backoff_base_ms = 100;
    o.backoff_max_ms = 400;
    return o;
  }

  void step(jobrt::context& ctx) override {
    const auto& script = params().script;
    if (state().at >= static_cast<std::int64_t>(script.size())) {
      ctx.complete({{"commands", state().at}});
      return;
    }
    auto command = script[static_cast<std::size_t>(state().at++)];
    ctx.progress(double(state().at) / double(script.size()), "scripted", command);
    if (command.rfind("ask:", 0) == 0)
      ask(ctx, command.substr(4));
    else
      act(ctx, command);
  }

private:
  /// Does `command` (a step's or a reply handler's); "step" does nothing more.
  void act(jobrt::context& ctx, const std::string& command) {
    if (command == "complete") {
      ctx.complete({{"commands", state().at}});
    } else if (command == "checkpoint") {
      ctx.checkpoint();
    } else if (command == "fail") {
      ctx.fail_transient("scripted failure at command " + std::to_string(state().at));
    } else if (command == "fail_for_good") {
      ctx.fail("scripted failure at command " + std::to_string(state().at));
    } else if (command.rfind("rate_limit:", 0) == 0) {
      ctx.checkpoint();
      ctx.rate_limited(std::chrono::milliseconds{std::stoll(command.substr(11))});
    } else if (command == "next") {
      ctx.next_step();
    }
  }

  void ask(jobrt::context& ctx, std::string then) {
    caf::actor to;
    {
      std::lock_guard guard{responder_mtx};
      to = responder;
    }
    ctx.suspend();
    ctx.self()->request(to, caf::infinite, ask_atom::value).then([this, &ctx, then](int) {
      act(ctx, then);
      ++replies_handled; // after the context calls: whatever they sent is on its way
    });
  }
};

} // namespace scripted
