#include "bank_statement.hpp"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "sample_data.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;

namespace jobrt_examples {

namespace {

constexpr std::int64_t max_sample_accounts = 50;

bool is_month(const std::string& m) {
  auto digit = [&](std::size_t i) { return std::isdigit(static_cast<unsigned char>(m[i])) != 0; };
  return m.size() == 7 && digit(0) && digit(1) && digit(2) && digit(3) && m[4] == '-'
         && digit(5) && digit(6) && m.substr(5) >= "01" && m.substr(5) <= "12";
}

/// The same month and account give the same sample file on every platform (FNV-1a).
std::uint32_t sample_seed(const std::string& month, std::int64_t account) {
  std::uint32_t h = 2166136261u;
  for (char c : month + "/" + std::to_string(account))
    h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return h;
}

/// Writes the generated accounts' CSVs into a fresh temporary directory.
std::map<std::string, std::string> write_sample_accounts(const bank_statement_params& p,
                                                         std::string& dir) {
  auto tmpl = (fs::temp_directory_path() / "jobrt-bank-statement-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr)
    throw std::runtime_error("cannot create a directory for the sample accounts under "
                             + fs::temp_directory_path().string());
  dir = tmpl;
  std::map<std::string, std::string> accounts;
  for (std::int64_t i = 1; i <= *p.sample_accounts; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "account-%02lld", static_cast<long long>(i));
    auto path = (fs::path{dir} / (std::string{name} + ".csv")).string();
    write_sample_transactions(path, static_cast<std::size_t>(p.sample_rows.value_or(500)),
                              sample_seed(p.month, i));
    accounts[name] = path;
  }
  return accounts;
}

} // namespace

void bank_statement_job::on_start(jobrt::context& ctx) {
  const auto& p = params();
  if (!is_month(p.month))
    return ctx.fail("month must be \"YYYY-MM\", not \"" + p.month + "\"");
  if (p.accounts.has_value() == p.sample_accounts.has_value())
    return ctx.fail("give exactly one of accounts and sample_accounts");
  if (p.accounts && p.accounts->empty())
    return ctx.fail("accounts must name at least one account");
  if (p.sample_accounts && (*p.sample_accounts < 1 || *p.sample_accounts > max_sample_accounts))
    return ctx.fail("sample_accounts must be 1.." + std::to_string(max_sample_accounts));
  if (p.sample_rows && *p.sample_rows < 0)
    return ctx.fail("sample_rows must not be negative");
  if (p.pace_ms && *p.pace_ms < 0)
    return ctx.fail("pace_ms must not be negative");
}

void bank_statement_job::step(jobrt::context& ctx) {
  // The job runs twice: before its children exist, and again from the
  // checkpoint written with them, once every child has finished.
  if (!state().spawned)
    categorize_accounts(ctx);
  else
    summarize(ctx);
}

void bank_statement_job::categorize_accounts(jobrt::context& ctx) {
  const auto& p = params();
  auto& s = state();
  auto accounts = p.accounts ? *p.accounts : write_sample_accounts(p, s.sample_dir);
  for (const auto& [account, csv_path] : accounts) {
    json::object child{{"csv_path", csv_path}};
    if (p.pace_ms)
      child["pace_ms"] = *p.pace_ms;
    auto id = ctx.spawn_child("bank_categorize", std::move(child));
    if (!id)
      return ctx.fail("cannot start the child for account '" + account + "': "
                      + id.error().message);
    s.accounts.push_back({account, *id});
  }
  // Set in the same step as the spawns: it goes into the checkpoint that writes
  // the children, so a restart never spawns them twice.
  s.spawned = true;
  ctx.progress(0.0, "categorizing accounts",
               std::to_string(s.accounts.size()) + " accounts for " + p.month);
  ctx.wait_for_children(); // ends this run; no slot is held while the children run
}

void bank_statement_job::summarize(jobrt::context& ctx) {
  auto& s = state();
  ctx.progress(1.0, "summarizing", std::to_string(s.accounts.size()) + " accounts");
  auto records = ctx.children();
  if (!records)
    return ctx.fail_transient("cannot read the children: " + records.error().message);
  std::map<jobrt::job_id, const jobrt::job_record*> by_id;
  for (const auto& r : *records)
    by_id[r.id] = &r;

  json::array accounts, failed;
  json::object categories;
  std::int64_t completed = 0, rows = 0, skipped = 0, net = 0;
  for (const auto& a : s.accounts) {
    json::object entry{{"account", a.name}, {"job", a.job}};
    auto it = by_id.find(a.job);
    if (it == by_id.end() || it->second->status != jobrt::job_status::completed) {
      // Deleted by retention, failed or cancelled: reported, not fatal.
      entry["status"] = it == by_id.end() ? "deleted" : jobrt::to_string(it->second->status);
      entry["error"] = it == by_id.end() ? "" : it->second->error;
      failed.push_back(json::value(a.name));
      accounts.push_back(std::move(entry));
      continue;
    }
    const auto& out = it->second->output.as_object();
    std::int64_t account_net = 0;
    for (const auto& [category, total] : out.at("categories").as_object()) {
      auto count = total.at("count").as_int64();
      auto cents = total.at("total_cents").as_int64();
      account_net += cents;
      auto& sum = categories[category];
      if (sum.is_null())
        sum = json::object{{"count", 0}, {"total_cents", 0}};
      sum.at("count") = sum.at("count").as_int64() + count;
      sum.at("total_cents") = sum.at("total_cents").as_int64() + cents;
    }
    auto account_rows = out.at("rows").as_int64();
    auto account_skipped = out.at("skipped").as_int64();
    entry["status"] = "completed";
    entry["rows"] = account_rows;
    entry["skipped"] = account_skipped;
    entry["net_cents"] = account_net;
    accounts.push_back(std::move(entry));
    ++completed;
    rows += account_rows;
    skipped += account_skipped;
    net += account_net;
  }

  if (!s.sample_dir.empty()) {
    std::error_code ec; // the children are done with the generated files
    fs::remove_all(s.sample_dir, ec);
  }
  auto count = static_cast<std::int64_t>(s.accounts.size());
  ctx.complete(json::object{
    {"month", params().month},
    {"accounts", std::move(accounts)},
    {"totals", json::object{{"accounts", count},
                            {"completed", completed},
                            {"rows", rows},
                            {"skipped", skipped},
                            {"net_cents", net},
                            {"categories", std::move(categories)}}},
    {"failed", std::move(failed)}});
}

JOBRT_REGISTER_JOB(bank_statement_job);

} // namespace jobrt_examples
