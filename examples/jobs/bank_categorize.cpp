#include "bank_categorize.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "csv.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;

namespace jobrt_examples {

const std::map<std::string, std::vector<std::string>>& default_rules() {
  // Keywords are matched as substrings, so each is chosen not to hide inside
  // common words ("rent" would match "parent", "bus" would match "business").
  static const std::map<std::string, std::vector<std::string>> rules{
    {"groceries",
     {"grocery", "supermarket", "whole foods", "trader joe", "aldi", "lidl", "safeway", "kroger"}},
    {"transport",
     {"uber", "lyft", "taxi", "metro", "bus fare", "railway", "train ticket", "fuel",
      "gas station", "parking", "shell"}},
    {"dining",
     {"restaurant", "cafe", "coffee", "starbucks", "pizza", "sushi", "burger", "bistro"}},
    {"utilities", {"electric", "water bill", "internet", "phone", "gas bill", "utility"}},
    {"rent", {"monthly rent", "rent payment", "landlord", "lease", "property management"}},
    {"salary", {"salary", "payroll", "paycheck", "wages"}},
    {"entertainment",
     {"netflix", "spotify", "cinema", "movie", "concert", "steam", "theater", "theatre"}},
    {"other", {}},
  };
  return rules;
}

std::string categorize(const std::map<std::string, std::vector<std::string>>& rules,
                       const std::string& description) {
  auto text = to_lower(description);
  for (const auto& [category, keywords] : rules)
    for (const auto& kw : keywords)
      if (!kw.empty() && text.find(kw) != std::string::npos)
        return category;
  return "other";
}

void bank_categorize_job::on_start(jobrt::context& ctx) {
  const auto& p = params();
  if (p.batch_size && *p.batch_size < 1) {
    ctx.fail("batch_size must be at least 1, not " + std::to_string(*p.batch_size));
    return;
  }
  if (p.pace_ms && *p.pace_ms < 0) {
    ctx.fail("pace_ms must not be negative");
    return;
  }
  rules_.clear();
  for (const auto& [category, keywords] : p.rules ? *p.rules : default_rules()) {
    auto& out = rules_[category];
    for (const auto& kw : keywords)
      if (!kw.empty()) // an empty keyword would match every row
        out.push_back(to_lower(kw));
  }
}

bool bank_categorize_job::open(jobrt::context& ctx) {
  const auto& path = params().csv_path;
  std::error_code ec;
  auto st = fs::status(path, ec);
  if (st.type() == fs::file_type::not_found) {
    ctx.fail("CSV file '" + path + "' does not exist");
    return false;
  }
  if (st.type() == fs::file_type::directory) {
    ctx.fail("CSV file '" + path + "' is a directory");
    return false;
  }
  errno = 0;
  in_.open(path, std::ios::binary);
  if (!in_) {
    ctx.fail("cannot open CSV file '" + path + "': "
             + (errno != 0 ? std::strerror(errno) : "unknown error"));
    return false;
  }
  auto size = fs::file_size(path, ec);
  if (ec) {
    ctx.fail("cannot read the size of CSV file '" + path + "': " + ec.message());
    return false;
  }
  file_size_ = static_cast<std::int64_t>(size);

  // The header names the columns; it is read again on every start (one line),
  // which keeps the column positions out of the checkpoint.
  std::string header;
  if (!std::getline(in_, header)) {
    ctx.fail("CSV file '" + path + "' is empty: expected a header line 'date,description,amount'");
    return false;
  }
  auto header_bytes = static_cast<std::int64_t>(header.size() + (in_.eof() ? 0 : 1));
  if (header.rfind("\xEF\xBB\xBF", 0) == 0) // a UTF-8 byte order mark
    header.erase(0, 3);
  if (!header.empty() && header.back() == '\r')
    header.pop_back();
  auto cols = split_csv_record(header);
  std::optional<std::size_t> desc, amount;
  if (cols) {
    for (std::size_t i = 0; i < cols->size(); ++i) {
      auto name = to_lower((*cols)[i]);
      name.erase(0, name.find_first_not_of(" \t"));
      name.erase(name.find_last_not_of(" \t") + 1);
      if (name == "description")
        desc = i;
      else if (name == "amount")
        amount = i;
    }
  }
  if (!desc || !amount) {
    ctx.fail("CSV file '" + path + "' must start with a header line naming the columns "
             "'description' and 'amount' (found '" + header + "')");
    return false;
  }
  description_col_ = *desc;
  amount_col_ = *amount;

  auto& offset = state().offset;
  if (offset == 0) {
    offset = header_bytes;
  } else if (offset > file_size_) {
    ctx.fail("CSV file '" + path + "' is shorter (" + std::to_string(file_size_)
             + " bytes) than the checkpoint's offset " + std::to_string(offset)
             + ": it changed since the job started");
    return false;
  } else {
    in_.clear();
    in_.seekg(offset); // resume where the last checkpoint left off
    if (!in_) {
      ctx.fail("cannot seek to byte " + std::to_string(offset) + " of CSV file '" + path + "'");
      return false;
    }
  }
  opened_ = true;
  return true;
}

bool bank_categorize_job::read_record(std::string& record, bool& complete) {
  auto& offset = state().offset;
  auto read_line = [&](std::string& line) {
    if (!std::getline(in_, line))
      return false;
    offset += static_cast<std::int64_t>(line.size() + (in_.eof() ? 0 : 1));
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    return true;
  };
  if (!read_line(record))
    return false;
  complete = true;
  std::string more;
  while (csv_record_open(record)) { // a quoted field spans lines
    if (!read_line(more)) {
      complete = false; // an unterminated quote at the end of the file
      return true;
    }
    record += '\n';
    record += more;
  }
  return true;
}

void bank_categorize_job::count_row(const std::string& record) {
  auto& s = state();
  auto fields = split_csv_record(record);
  if (!fields || fields->size() <= std::max(description_col_, amount_col_)) {
    ++s.skipped;
    return;
  }
  auto cents = parse_amount_cents((*fields)[amount_col_]);
  if (!cents) {
    ++s.skipped;
    return;
  }
  auto& total = s.categories[categorize(rules_, (*fields)[description_col_])];
  total.count += 1;
  total.total_cents += *cents;
  ++s.rows;
}

void bank_categorize_job::report(jobrt::context& ctx) {
  const auto& s = state();
  double fraction = file_size_ > 0 ? static_cast<double>(s.offset) / file_size_ : 1.0;
  ctx.progress(fraction, "categorizing", "row " + std::to_string(s.rows + s.skipped));
  ctx.progress_detail(json::object{{"rows", s.rows}, {"skipped", s.skipped}});
}

json::value bank_categorize_job::output() const {
  const auto& s = state();
  json::object categories;
  for (const auto& [name, total] : s.categories)
    if (total.count > 0)
      categories[name] = json::object{{"count", total.count}, {"total_cents", total.total_cents}};
  return json::object{{"rows", s.rows}, {"skipped", s.skipped}, {"categories", std::move(categories)}};
}

void bank_categorize_job::step(jobrt::context& ctx) {
  if (!opened_ && !open(ctx))
    return;
  auto batch = params().batch_size.value_or(100);
  std::string record;
  for (std::int64_t i = 0; i < batch; ++i) {
    bool complete = true;
    if (!read_record(record, complete))
      break;
    if (!complete)
      ++state().skipped;
    else if (record.find_first_not_of(" \t") != std::string::npos) // blank lines are no rows
      count_row(record);
  }
  if (in_.bad()) {
    ctx.fail("reading CSV file '" + params().csv_path + "' failed at byte "
             + std::to_string(state().offset));
    return;
  }
  bool at_end = in_.eof() || in_.peek() == std::ifstream::traits_type::eof();
  report(ctx);
  if (at_end) {
    ctx.complete(output());
    return;
  }
  ctx.checkpoint();
  if (auto pace = params().pace_ms.value_or(0); pace > 0)
    ctx.next_step_after(std::chrono::milliseconds{pace});
}

JOBRT_REGISTER_JOB(bank_categorize_job);

} // namespace jobrt_examples
