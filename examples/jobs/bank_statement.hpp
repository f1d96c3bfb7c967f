#pragma once

/// `bank_statement`: a month's statement over several accounts, as a flow of
/// two stages. Stage one ("categorizing accounts") spawns one `bank_categorize`
/// child per account and waits for them; stage two ("summarizing") reads the
/// children's records and completes with a summary.
///
/// Why the accounts are separate jobs rather than a loop in this one: each child
/// has its own checkpoints and retries (a bad file fails one account, a crash
/// redoes one batch of one account), they run side by side, they show their own
/// progress, and the parent holds no slot while it waits.
///
/// Parameters (JSON), exactly one of `accounts` and `sample_accounts`:
///   month           string, required: the statement's month, "YYYY-MM".
///   accounts        optional object: account name -> path of its CSV (the
///                   format `bank_categorize` reads).
///   sample_accounts optional, 1..50: that many generated accounts ("account-01",
///                   ...), whose CSVs this job writes into a fresh directory
///                   under the system's temporary directory (the same month gives
///                   the same files) and removes once the children finished.
///   sample_rows     optional, transactions per generated account (default 500).
///   pace_ms         optional, passed to every child (its pause between batches).
///
/// Output:
///   {"month": "2024-03",
///    "accounts": [{"account": "account-01", "job": 7, "status": "completed",
///                  "rows": N, "skipped": N, "net_cents": N}, ...   (completed)
///                 {"account": "b", "job": 8, "status": "failed", "error": "..."}],
///    "totals": {"accounts": N, "completed": N, "rows": N, "skipped": N,
///               "net_cents": N, "categories": {"dining": {"count": N, "total_cents": N}, ...}},
///    "failed": ["b"]}
/// in account name order. `net_cents` is the sum of an account's category totals;
/// `totals` sums the completed accounts. A child that failed or was cancelled
/// does not fail the statement: it is listed in `failed` (with its status and
/// error in `accounts`).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "jobrt/jobrt.hpp"

namespace jobrt_examples {

struct bank_statement_params {
  std::string month;
  std::optional<std::map<std::string, std::string>> accounts;
  std::optional<std::int64_t> sample_accounts;
  std::optional<std::int64_t> sample_rows;
  std::optional<std::int64_t> pace_ms;
};
BOOST_DESCRIBE_STRUCT(bank_statement_params, (),
                      (month, accounts, sample_accounts, sample_rows, pace_ms))

/// One account and the child job that categorizes it.
struct statement_account {
  std::string name;
  std::uint64_t job = 0;
};
BOOST_DESCRIBE_STRUCT(statement_account, (), (name, job))

struct bank_statement_state {
  bool spawned = false; ///< stage one done: the children exist
  std::vector<statement_account> accounts;
  std::string sample_dir; ///< the generated CSVs' directory, removed at the end; "" = none
};
BOOST_DESCRIBE_STRUCT(bank_statement_state, (), (spawned, accounts, sample_dir))

class bank_statement_job : public jobrt::job<bank_statement_params, bank_statement_state> {
public:
  static constexpr const char* name = "bank_statement";
  static constexpr const char* description
    = "A month's statement over several accounts: one bank_categorize child per account, "
      "then a summary of their totals";
  static jobrt::job_type_options options() {
    jobrt::job_type_options o;
    o.blocking = true; // writes and removes the sample files in `step`
    return o;
  }

  void on_start(jobrt::context& ctx) override;
  void step(jobrt::context& ctx) override;

private:
  void categorize_accounts(jobrt::context& ctx);
  void summarize(jobrt::context& ctx);
};

} // namespace jobrt_examples
