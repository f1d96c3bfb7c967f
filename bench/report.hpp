#pragma once

// jobrt-bench's results: the rows and scaling points the scenarios add, their
// formatting, and the output (the table, JSON, the scaling plot).

#include <cstddef>
#include <limits>
#include <string>
#include <vector>

namespace bench {

struct config;
struct machine_info;

inline constexpr double nan_v = std::numeric_limits<double>::quiet_NaN();

struct row {
  std::string scenario;
  std::string policy;
  std::string metric;
  double value = nan_v;
  std::string unit;
  std::string text; ///< replaces the value when set (e.g. "n/a (no bulk API)")
  double baseline = nan_v;
  std::string baseline_name;
  double ratio = nan_v; ///< value / baseline (latency rows: p99 / baseline p99)
  std::string target;
  std::string status; ///< pass, miss, or empty (information only)
  std::string note;
};

struct scale_point {
  std::string policy;
  std::string mode; ///< "memory" or "durable"
  std::size_t n = 0;
  std::size_t cap = 0;
  double rate = 0;
  double baseline = 0; ///< bare CAF (memory) or raw LMDB batched (durable)
  std::size_t runs = 1; ///< rate and baseline are the medians of this many runs
};

/// The results of this run, in the order they were added.
extern std::vector<row> rows;
extern std::vector<scale_point> scale_points;

/// Appends `r` to `rows` (its ratio computed if it has none) and returns it.
row& add(row r);

std::string pass(bool ok);

/// `v` with `prec` decimals ("-" for NaN); big whole rates get thousands separators.
std::string fmt(double v, int prec = 0);

std::string fmt_value(double v, const std::string& unit);

/// "max_running=<cap>", as the metrics name it.
std::string cap_s(std::size_t cap);

void print_table(const machine_info& m, const std::string& cmd);

void print_json(const machine_info& m, const std::string& cmd);

/// Draws the scaling curves of `policies` into `c.plot` with gnuplot.
void write_plot(const config& c, const std::vector<std::string>& policies);

} // namespace bench
