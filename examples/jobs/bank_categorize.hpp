#pragma once

/// `bank_categorize`: sorts the transactions of a bank-statement CSV into
/// categories by keyword rules, one batch of rows per step, with a checkpoint
/// after each batch.
///
/// Parameters (JSON):
///   csv_path   string, required. Columns `date,description,amount` with a header
///              line (the header may order them freely and add more columns).
///   rules      optional object: category -> array of keywords. A row belongs to
///              the first category, in name order, one of whose keywords occurs in
///              its description (case-insensitive); rows no rule matches are
///              "other". Default: `default_rules()`.
///   batch_size optional, rows per step (default 100).
///   pace_ms    optional, a pause between batches (default 0), so that a demo's
///              progress can be watched.
///
/// The state is the byte offset of the next unread row, so a resumed job seeks
/// there and never reads the rows it already counted. Amounts are summed as
/// integer cents. A malformed row (too few fields, an amount that does not
/// parse, an unterminated quote) is counted in `skipped`; it is not an error.
///
/// Output: {"rows": N, "skipped": N, "categories": {"dining": {"count": N, "total_cents": N}, ...}}
/// with only the categories that got rows.

#include <cstdint>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "jobrt/jobrt.hpp"

namespace jobrt_examples {

struct bank_categorize_params {
  std::string csv_path;
  std::optional<std::map<std::string, std::vector<std::string>>> rules;
  std::optional<std::int64_t> batch_size;
  std::optional<std::int64_t> pace_ms;
};
BOOST_DESCRIBE_STRUCT(bank_categorize_params, (), (csv_path, rules, batch_size, pace_ms))

struct category_total {
  std::int64_t count = 0;
  std::int64_t total_cents = 0;
};
BOOST_DESCRIBE_STRUCT(category_total, (), (count, total_cents))

struct bank_categorize_state {
  std::int64_t offset = 0; ///< byte offset of the next unread row; 0 = not started
  std::int64_t rows = 0;   ///< rows categorized
  std::int64_t skipped = 0; ///< malformed rows
  std::map<std::string, category_total> categories;
};
BOOST_DESCRIBE_STRUCT(bank_categorize_state, (), (offset, rows, skipped, categories))

/// The rules used when the parameters give none: groceries, transport, dining,
/// utilities, rent, salary, entertainment, and "other" (no keywords: the fallback).
const std::map<std::string, std::vector<std::string>>& default_rules();

/// The category `description` falls into under `rules` (keywords must be lower case).
std::string categorize(const std::map<std::string, std::vector<std::string>>& rules,
                       const std::string& description);

class bank_categorize_job : public jobrt::job<bank_categorize_params, bank_categorize_state> {
public:
  static constexpr const char* name = "bank_categorize";
  static constexpr const char* description
    = "Categorizes bank transactions from a CSV file by keyword rules, in batches";
  static jobrt::job_type_options options() {
    jobrt::job_type_options o;
    o.blocking = true; // reads a file in `step`
    return o;
  }

  void on_start(jobrt::context& ctx) override;
  void step(jobrt::context& ctx) override;

private:
  bool open(jobrt::context& ctx);
  /// Reads the next record (possibly several lines); false at the end of the file.
  bool read_record(std::string& record, bool& complete);
  void count_row(const std::string& record);
  void report(jobrt::context& ctx);
  boost::json::value output() const;

  std::map<std::string, std::vector<std::string>> rules_; ///< keywords in lower case
  std::ifstream in_;
  std::int64_t file_size_ = 0;
  std::size_t description_col_ = 0;
  std::size_t amount_col_ = 0;
  bool opened_ = false;
};

} // namespace jobrt_examples
