// jobrt-bench's results and their output (see report.hpp).

#include "report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <tuple>

#include <boost/json.hpp>

#include "harness.hpp"
#include "options.hpp"

namespace fs = std::filesystem;

namespace bench {

// -- results --------------------------------------------------------------------------

std::vector<row> rows;
std::vector<scale_point> scale_points;

row& add(row r) {
  if (std::isnan(r.ratio) && !std::isnan(r.value) && !std::isnan(r.baseline) && r.baseline > 0)
    r.ratio = r.value / r.baseline;
  rows.push_back(std::move(r));
  return rows.back();
}

std::string pass(bool ok) {
  return ok ? "pass" : "miss";
}

std::string fmt(double v, int prec) {
  if (std::isnan(v))
    return "-";
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(prec);
  if (prec == 0 && std::fabs(v) >= 10000) {
    // thousands separators for big rates
    auto s = std::to_string(static_cast<long long>(std::llround(v)));
    std::string out;
    int c = 0;
    for (auto i = s.rbegin(); i != s.rend(); ++i) {
      if (c != 0 && c % 3 == 0 && *i != '-')
        out.push_back(',');
      out.push_back(*i);
      ++c;
    }
    return {out.rbegin(), out.rend()};
  }
  os << v;
  return os.str();
}

std::string fmt_value(double v, const std::string& unit) {
  if (std::isnan(v))
    return "-";
  if (unit == "us" || unit == "ms" || unit == "B/job" || unit == "us/job"
      || unit == "us/cp" || unit == "msgs/job" || unit == "msgs/cp")
    return fmt(v, v < 10 ? 2 : (v < 100 ? 1 : 0)) + " " + unit;
  if (unit == "s")
    return fmt(v, 3) + " s";
  return fmt(v) + " " + unit;
}

std::string cap_s(std::size_t cap) {
  return "max_running=" + std::to_string(cap);
}

// -- output -----------------------------------------------------------------------------

namespace {

std::string value_text(const row& r) {
  if (!r.text.empty())
    return r.text;
  if (r.unit == "x")
    return fmt(r.value, 2) + "x";
  return fmt_value(r.value, r.unit);
}

std::string baseline_text(const row& r) {
  if (std::isnan(r.baseline))
    return "";
  auto unit = r.unit;
  return fmt_value(r.baseline, unit) + " (" + r.baseline_name + ")";
}

std::string ratio_text(const row& r) {
  if (std::isnan(r.ratio) || r.unit == "x")
    return "";
  return fmt(r.ratio, 2) + "x";
}
json::value num(double v) {
  if (std::isnan(v) || std::isinf(v))
    return nullptr;
  return v;
}
bool have_gnuplot() {
  return std::system("command -v gnuplot >/dev/null 2>&1") == 0;
}
} // namespace

void print_table(const machine_info& m, const std::string& cmd) {
  std::cout << "jobrt-bench  " << m.date << "  " << m.cores << " cores  " << m.cpu << "  "
            << m.kernel << "\ncommand: " << cmd << "\nCAF worker threads of the runtimes and the "
            << "CAF baselines: " << m.workers << "\n\n";
  std::vector<std::vector<std::string>> cells;
  cells.push_back({"scenario", "policy", "metric", "value", "baseline", "ratio", "target", "status"});
  for (const auto& r : rows)
    cells.push_back({r.scenario, r.policy, r.metric, value_text(r), baseline_text(r), ratio_text(r),
                     r.target, r.status});
  std::vector<std::size_t> w(cells.front().size(), 0);
  for (const auto& c : cells)
    for (std::size_t i = 0; i < c.size(); ++i)
      w[i] = std::max(w[i], c[i].size());
  auto line = [&](const std::vector<std::string>& c) {
    std::string s = "|";
    for (std::size_t i = 0; i < c.size(); ++i)
      s += " " + c[i] + std::string(w[i] - c[i].size(), ' ') + " |";
    std::cout << s << "\n";
  };
  line(cells.front());
  std::string sep = "|";
  for (auto x : w)
    sep += std::string(x + 2, '-') + "|";
  std::cout << sep << "\n";
  for (std::size_t i = 1; i < cells.size(); ++i)
    line(cells[i]);
  std::cout << "\nnotes:\n";
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (!rows[i].note.empty())
      std::cout << "  " << rows[i].scenario << " / " << rows[i].policy << " / " << rows[i].metric
                << ": " << rows[i].note << "\n";
  std::size_t passed = 0, missed = 0;
  for (const auto& r : rows) {
    if (r.status.rfind("pass", 0) == 0)
      ++passed;
    else if (r.status.rfind("miss", 0) == 0)
      ++missed;
  }
  std::cout << "\ntargets: " << passed << " pass, " << missed << " miss\n";
}
void print_json(const machine_info& m, const std::string& cmd) {
  json::object root;
  root["machine"] = {{"cores", m.cores},     {"cpu", m.cpu},   {"kernel", m.kernel},
                     {"date", m.date},       {"workers", m.workers}};
  root["command"] = cmd;
  json::array rs;
  for (const auto& r : rows)
    rs.push_back(json::object{{"scenario", r.scenario}, {"policy", r.policy}, {"metric", r.metric},
                              {"value", num(r.value)}, {"unit", r.unit}, {"text", r.text},
                              {"baseline", num(r.baseline)}, {"baseline_name", r.baseline_name},
                              {"ratio", num(r.ratio)}, {"target", r.target}, {"status", r.status},
                              {"note", r.note}});
  root["rows"] = std::move(rs);
  json::array sp;
  for (const auto& p : scale_points)
    sp.push_back(json::object{{"policy", p.policy}, {"mode", p.mode}, {"n", p.n}, {"cap", p.cap},
                              {"rate", num(p.rate)}, {"baseline", num(p.baseline)}});
  root["scaling"] = std::move(sp);
  std::cout << json::serialize(root) << "\n";
}
void write_plot(const config& c, const std::vector<std::string>& policies) {
  if (scale_points.empty()) {
    std::cerr << "jobrt-bench: --plot: no scaling points (run the scaling scenario)\n";
    return;
  }
  if (!have_gnuplot()) {
    std::cerr << "jobrt-bench: gnuplot is not installed (apt-get install -y gnuplot-nox); "
                 "skipping the plot\n";
    return;
  }
  auto dir = c.dir + "/plot";
  fs::create_directories(dir);
  // One data file per (policy, mode, axis): "n" curves at the default cap, "cap" curves at N0.
  std::vector<std::string> by_n, by_cap;
  auto n0 = scale_points.front().n;
  for (const auto& policy : policies)
    for (const char* mode : {"memory", "durable"}) {
      auto base = policy + "-" + mode;
      std::ofstream fn{dir + "/" + base + "-n.dat"}, fc{dir + "/" + base + "-cap.dat"};
      for (const auto& p : scale_points) {
        if (p.policy != policy || p.mode != mode)
          continue;
        if (p.cap == c.cap)
          fn << p.n << " " << p.rate << " " << p.baseline << "\n";
        if (p.n == n0)
          fc << p.cap << " " << p.rate << " " << p.baseline << "\n";
      }
      by_n.push_back(base);
      by_cap.push_back(base);
    }
  // cap curves must be sorted by cap
  for (const auto& b : by_cap) {
    auto path = dir + "/" + b + "-cap.dat";
    std::ifstream in{path};
    std::vector<std::tuple<double, double, double>> v;
    for (double a, r, bl; in >> a >> r >> bl;)
      v.emplace_back(a, r, bl);
    std::sort(v.begin(), v.end());
    std::ofstream out{path};
    for (auto& [a, r, bl] : v)
      out << a << " " << r << " " << bl << "\n";
  }
  std::ofstream gp{dir + "/plot.gp"};
  gp << "set terminal png size 1400,560 noenhanced\nset output '" << c.plot << "'\n"
     << "set multiplot layout 1,2 title 'jobrt-bench scaling (no-op jobs, bulk submit; memory: "
        "storage_kind::memory, durable: LMDB with fsync)'\n"
     << "set logscale x\nset logscale y\nset grid\nset key bottom left font ',9'\n"
     << "set ylabel 'jobs/s (drain)'\n";
  auto plot = [&](const std::vector<std::string>& bases, const std::string& suffix,
                  const std::string& xlabel, const std::string& title) {
    gp << "set xlabel '" << xlabel << "'\nset title '" << title << "'\nplot ";
    int color = 0;
    for (const auto& b : bases) {
      if (color != 0)
        gp << ", ";
      ++color;
      gp << "'" << dir << "/" << b << suffix << "' using 1:2 with linespoints lc " << color
         << " lw 2 title '" << b << "'";
      gp << ", '" << dir << "/" << b << suffix << "' using 1:3 with lines lc " << color
         << " dashtype 2 title '" << b << " baseline'";
    }
    gp << "\n";
  };
  plot(by_n, "-n.dat", "N (jobs)", "by N, max_running=" + std::to_string(c.cap));
  plot(by_cap, "-cap.dat", "max_running", "by max_running, N=" + std::to_string(n0));
  gp << "unset multiplot\n";
  gp.close();
  auto cmd = "gnuplot '" + dir + "/plot.gp' 2>&1";
  if (std::system(cmd.c_str()) != 0)
    std::cerr << "jobrt-bench: gnuplot failed (script kept in " << dir << "/plot.gp)\n";
  else
    std::cerr << "jobrt-bench: wrote " << c.plot << "\n";
}

} // namespace bench
