#include "csv.hpp"

#include <cctype>

namespace jobrt_examples {

bool csv_record_open(std::string_view text) noexcept {
  bool open = false;
  for (char c : text)
    if (c == '"')
      open = !open;
  return open;
}

std::optional<std::vector<std::string>> split_csv_record(std::string_view record) {
  std::vector<std::string> fields;
  std::string field;
  std::size_t i = 0;
  const std::size_t n = record.size();
  while (true) {
    field.clear();
    if (i < n && record[i] == '"') {
      // Quoted field: runs to the closing quote; "" is a literal quote.
      ++i;
      bool closed = false;
      while (i < n) {
        char c = record[i++];
        if (c != '"') {
          field.push_back(c);
        } else if (i < n && record[i] == '"') {
          field.push_back('"');
          ++i;
        } else {
          closed = true;
          break;
        }
      }
      if (!closed)
        return std::nullopt;
      if (i < n && record[i] != ',')
        return std::nullopt; // text after the closing quote
    } else {
      while (i < n && record[i] != ',')
        field.push_back(record[i++]);
    }
    fields.push_back(field);
    if (i >= n)
      break;
    ++i; // the comma
    if (i == n) {
      fields.emplace_back(); // a trailing comma ends with an empty field
      break;
    }
  }
  return fields;
}

std::optional<std::int64_t> parse_amount_cents(std::string_view s) noexcept {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (!s.empty() && s.front() == '$')
    s.remove_prefix(1);
  std::int64_t units = 0;
  int digits = 0;
  std::size_t i = 0;
  for (; i < s.size() && s[i] != '.'; ++i) {
    char c = s[i];
    if (c == ',') {
      // A thousands separator: digits before it, exactly three digits after it.
      if (digits == 0)
        return std::nullopt;
      std::size_t j = i + 1, run = 0;
      while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j])))
        ++j, ++run;
      if (run != 3)
        return std::nullopt;
      continue;
    }
    if (!std::isdigit(static_cast<unsigned char>(c)) || ++digits > 15)
      return std::nullopt;
    units = units * 10 + (c - '0');
  }
  std::int64_t cents = 0;
  int decimals = 0;
  if (i < s.size()) { // s[i] == '.'
    for (++i; i < s.size(); ++i) {
      char c = s[i];
      if (!std::isdigit(static_cast<unsigned char>(c)) || ++decimals > 2)
        return std::nullopt;
      cents = cents * 10 + (c - '0');
    }
    if (decimals == 0 && digits == 0)
      return std::nullopt;
  }
  if (digits == 0 && decimals == 0)
    return std::nullopt;
  if (decimals == 1)
    cents *= 10;
  auto total = units * 100 + cents;
  return negative ? -total : total;
}

std::string format_cents(std::int64_t cents) {
  std::string out = cents < 0 ? "-" : "";
  auto abs = cents < 0 ? -static_cast<std::uint64_t>(cents) : static_cast<std::uint64_t>(cents);
  auto frac = abs % 100;
  out += std::to_string(abs / 100);
  out += '.';
  out += static_cast<char>('0' + frac / 10);
  out += static_cast<char>('0' + frac % 10);
  return out;
}

std::string csv_quote(std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos)
    return std::string{field};
  std::string out = "\"";
  for (char c : field) {
    if (c == '"')
      out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string to_lower(std::string_view text) {
  std::string out{text};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

} // namespace jobrt_examples
