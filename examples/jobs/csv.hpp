#pragma once

/// Small CSV helpers for the example jobs: splitting one record (RFC 4180
/// quoting), parsing an amount into integer cents, and quoting a field.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jobrt_examples {

/// True while `text` ends inside a quoted field (an odd number of `"`), i.e. the
/// record continues on the next line.
bool csv_record_open(std::string_view text) noexcept;

/// Splits one record into its fields. A quoted field may hold commas, newlines
/// and `""` (one quote). Returns nothing for a malformed record: an unterminated
/// quote, or text between a closing quote and the next comma.
std::optional<std::vector<std::string>> split_csv_record(std::string_view record);

/// Parses "-12.34", "+5", "1,234.50", "$3.5", " 7.00 " into cents. At most two
/// decimals, at most 15 integer digits; nothing for anything else.
std::optional<std::int64_t> parse_amount_cents(std::string_view text) noexcept;

/// Formats cents as "-12.34".
std::string format_cents(std::int64_t cents);

/// Quotes a field if it holds a comma, a quote or a line break.
std::string csv_quote(std::string_view field);

/// ASCII lower case.
std::string to_lower(std::string_view text);

} // namespace jobrt_examples
