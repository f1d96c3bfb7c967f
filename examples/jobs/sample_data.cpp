#include "sample_data.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>

#include "csv.hpp"

namespace fs = std::filesystem;

namespace jobrt_examples {

namespace {

struct merchant {
  const char* description;
  const char* category;
  std::int64_t min_cents; ///< amounts are drawn from [min, max]; negative = money out
  std::int64_t max_cents;
};

// Every description is filed under its category by `default_rules()`; the
// example tests check that. Some hold commas and quotes on purpose.
constexpr merchant merchants[] = {
  {"Whole Foods Market, Inc.", "groceries", -25000, -800},
  {"Trader Joe's #552", "groceries", -12000, -500},
  {"ALDI Supermarket", "groceries", -9000, -300},
  {"Safeway Store 1234", "groceries", -15000, -600},
  {"Uber Trip", "transport", -6000, -700},
  {"Lyft Ride", "transport", -5000, -600},
  {"Metro Card Reload", "transport", -5000, -2000},
  {"Shell Fuel Station", "transport", -9000, -2500},
  {"Starbucks Coffee", "dining", -1500, -350},
  {"Joe's \"Famous\" Pizza, Brooklyn", "dining", -4500, -900},
  {"Sushi Bar Kyoto", "dining", -9000, -2000},
  {"Corner Cafe", "dining", -2500, -400},
  {"City Electric Co", "utilities", -18000, -4000},
  {"Comcast Internet", "utilities", -9000, -6000},
  {"Water Bill - City of Springfield", "utilities", -7000, -2000},
  {"Monthly Rent - Oak St Apartments", "rent", -210000, -120000},
  {"Landlord Payment, Unit 4B", "rent", -190000, -110000},
  {"ACME Corp Payroll", "salary", 250000, 520000},
  {"Salary Deposit", "salary", 180000, 420000},
  {"Netflix Subscription", "entertainment", -1999, -999},
  {"Spotify Premium", "entertainment", -1199, -999},
  {"Cinema City Tickets", "entertainment", -4000, -1200},
  {"Steam Games", "entertainment", -6999, -499},
  {"ATM Withdrawal", "other", -40000, -2000},
  {"Bank Fee", "other", -3500, -500},
  {"Transfer to Savings", "other", -100000, -5000},
};
constexpr std::size_t merchant_count = sizeof(merchants) / sizeof(merchants[0]);

/// Uniform in [lo, hi] from mt19937 output (the standard distributions are not
/// the same on every standard library; this is).
std::int64_t draw(std::mt19937& rng, std::int64_t lo, std::int64_t hi) {
  auto span = static_cast<std::uint64_t>(hi - lo) + 1;
  return lo + static_cast<std::int64_t>(rng() % span);
}

std::string date_of(std::size_t day_of_year) {
  static constexpr int month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int day = static_cast<int>(day_of_year % 366);
  int month = 0;
  while (day >= month_days[month])
    day -= month_days[month++];
  char buf[32];
  std::snprintf(buf, sizeof buf, "2024-%02d-%02d", month + 1, day + 1);
  return buf;
}

} // namespace

std::vector<sample_transaction> write_sample_transactions(const std::string& path,
                                                          std::size_t rows,
                                                          std::uint32_t seed) {
  std::mt19937 rng{seed};
  std::vector<sample_transaction> out;
  out.reserve(rows);
  std::ofstream f{path, std::ios::binary | std::ios::trunc};
  if (!f)
    throw std::runtime_error("cannot write '" + path + "'");
  f << "date,description,amount\n";
  for (std::size_t i = 0; i < rows; ++i) {
    const auto& m = merchants[rng() % merchant_count];
    sample_transaction t;
    t.date = date_of(rows > 1 ? i * 366 / rows : 0);
    t.description = m.description;
    t.amount_cents = draw(rng, m.min_cents, m.max_cents);
    t.category = m.category;
    auto amount = format_cents(t.amount_cents);
    // Large amounts are sometimes written with a thousands separator, quoted.
    if (t.amount_cents >= 100000 && rng() % 2 == 0) {
      auto dot = amount.find('.');
      amount.insert(dot - 3, ",");
    }
    f << t.date << ',' << csv_quote(t.description) << ',' << csv_quote(amount) << '\n';
    out.push_back(std::move(t));
  }
  f.flush();
  if (!f)
    throw std::runtime_error("writing '" + path + "' failed");
  return out;
}

std::vector<std::string> write_sample_files(const std::string& dir, std::size_t count,
                                            std::uint32_t seed, std::size_t max_bytes) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    throw std::runtime_error("cannot create '" + dir + "': " + ec.message());
  std::mt19937 rng{seed};
  std::vector<std::string> names;
  for (std::size_t i = 1; i <= count; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "file-%02zu.bin", i);
    auto size = 1 + rng() % (max_bytes == 0 ? 1 : max_bytes);
    std::string data(size, '\0');
    for (auto& c : data)
      c = static_cast<char>(rng() & 0xff);
    std::ofstream f{(fs::path{dir} / name).string(), std::ios::binary | std::ios::trunc};
    f.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!f)
      throw std::runtime_error("cannot write '" + (fs::path{dir} / name).string() + "'");
    names.emplace_back(name);
  }
  return names;
}

} // namespace jobrt_examples
