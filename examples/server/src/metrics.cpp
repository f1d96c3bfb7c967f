#include "metrics.hpp"

#include <map>
#include <sstream>

namespace jobrt_server {

namespace {

void line(std::string& out, const std::string& text) {
  out += text;
  out += '\n';
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  line(out, std::string{"# HELP "} + name + " " + help);
  line(out, std::string{"# TYPE "} + name + " " + type);
}

std::string number(double x) {
  std::ostringstream s;
  s << x;
  return s.str();
}

/// Label values escape backslash, quote and newline.
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

/// Milliseconds as seconds with three decimals (not in exponent notation).
std::string seconds_of(jobrt::millis ms) {
  auto frac = std::to_string(1000 + ms % 1000);
  return std::to_string(ms / 1000) + "." + frac.substr(1);
}

void counter(std::string& out, const char* name, const char* help, std::uint64_t n) {
  header(out, name, "counter", help);
  line(out, std::string{name} + " " + std::to_string(n));
}

/// The worker nodes: a gauge per node (by name; labels escaped), and the
/// coordinator's counters of their traffic.
void render_nodes(std::string& out, const jobrt::runtime_stats& st) {
  header(out, "jobrt_nodes", "gauge", "Worker nodes connected now.");
  line(out, "jobrt_nodes " + std::to_string(st.nodes.size()));
  // Two nodes may call themselves the same: then each is "name#id", so that
  // no series appears twice.
  std::map<std::string, int> named;
  for (const auto& n : st.nodes)
    ++named[n.name];
  auto per_node = [&](const char* name, const char* help, auto value) {
    header(out, name, "gauge", help);
    for (const auto& n : st.nodes) {
      auto shown = named[n.name] > 1 ? n.name + "#" + std::to_string(n.id) : n.name;
      line(out, std::string{name} + "{node=\"" + label(shown) + "\"} " + value(n));
    }
  };
  per_node("jobrt_node_running", "Runs a worker node holds now (paused ones too).",
           [](const jobrt::node_stats& n) { return std::to_string(n.running); });
  per_node("jobrt_node_slots", "Jobs a worker node runs at once.",
           [](const jobrt::node_stats& n) { return std::to_string(n.slots); });
  per_node("jobrt_node_last_heartbeat_seconds",
           "When the coordinator last heard from a worker node, in seconds since the Unix epoch.",
           [](const jobrt::node_stats& n) { return seconds_of(n.last_heartbeat); });
  const auto& c = st.node_counters;
  counter(out, "jobrt_nodes_joined_total", "Worker nodes welcomed since start.", c.nodes_joined);
  counter(out, "jobrt_nodes_lost_total", "Worker nodes that went silent or whose link broke, since start.",
          c.nodes_lost);
  counter(out, "jobrt_nodes_refused_total", "Worker hellos refused (wrong secret or malformed), since start.",
          c.nodes_refused);
  counter(out, "jobrt_node_runs_taken_back_total",
          "Runs of lost worker nodes put back in the queue, since start.", c.runs_taken_back);
  counter(out, "jobrt_node_messages_dropped_total",
          "Messages from worker nodes dropped (malformed, unexpected, or of a run taken back).",
          c.messages_dropped);
  header(out, "jobrt_node_messages_total", "counter", "Messages exchanged with worker nodes, by direction.");
  line(out, "jobrt_node_messages_total{direction=\"in\"} " + std::to_string(c.messages_in));
  line(out, "jobrt_node_messages_total{direction=\"out\"} " + std::to_string(c.messages_out));
  header(out, "jobrt_node_payload_bytes_total", "counter",
         "Bytes of JSON payload exchanged with worker nodes, by direction.");
  line(out, "jobrt_node_payload_bytes_total{direction=\"in\"} " + std::to_string(c.payload_bytes_in));
  line(out, "jobrt_node_payload_bytes_total{direction=\"out\"} " + std::to_string(c.payload_bytes_out));
}

} // namespace

metrics::metrics(jobrt::runtime& rt) : rt_(rt) {
  jobrt::event_filter f;
  f.progress = false;
  sub_ = rt_.subscribe([this](const jobrt::job_event& e) { on_event(e); }, f);
}

metrics::~metrics() {
  stop();
}

void metrics::stop() {
  sub_.cancel();
}

void metrics::on_event(const jobrt::job_event& e) {
  std::lock_guard guard{mtx_};
  if (e.status == jobrt::job_status::running) {
    running_since_[e.id] = e.at;
    return;
  }
  auto i = running_since_.find(e.id);
  if (i == running_since_.end())
    return;
  auto started = i->second;
  running_since_.erase(i);
  if (!jobrt::is_finished(e.status))
    return; // paused, waiting or requeued: the next `running` starts a new measurement
  double seconds = std::max<jobrt::millis>(0, e.at - started) / 1000.0;
  auto& h = durations_[e.type];
  std::size_t b = 0;
  while (b < bounds.size() && seconds > bounds[b])
    ++b;
  ++h.buckets[b];
  h.sum += seconds;
  ++h.count;
}

void metrics::count_request(unsigned status) {
  std::lock_guard guard{mtx_};
  ++requests_[status];
}

void metrics::render_histograms(std::string& out) {
  header(out, "jobrt_job_duration_seconds", "histogram",
         "Time from a job's last start to its end (completed, failed or cancelled while running).");
  for (const auto& [type, h] : durations_) {
    std::uint64_t cumulative = 0;
    auto t = label(type);
    for (std::size_t b = 0; b < bounds.size(); ++b) {
      cumulative += h.buckets[b];
      line(out, "jobrt_job_duration_seconds_bucket{type=\"" + t + "\",le=\"" + number(bounds[b])
                  + "\"} " + std::to_string(cumulative));
    }
    line(out, "jobrt_job_duration_seconds_bucket{type=\"" + t + "\",le=\"+Inf\"} "
                + std::to_string(h.count));
    line(out, "jobrt_job_duration_seconds_sum{type=\"" + t + "\"} " + number(h.sum));
    line(out, "jobrt_job_duration_seconds_count{type=\"" + t + "\"} " + std::to_string(h.count));
  }
}

void metrics::render_requests(std::string& out) {
  header(out, "jobrt_http_requests_total", "counter", "HTTP requests answered, by status code.");
  for (const auto& [code, n] : requests_)
    line(out, "jobrt_http_requests_total{code=\"" + std::to_string(code) + "\"} "
                + std::to_string(n));
  header(out, "jobrt_sse_clients", "gauge", "Open /api/events streams.");
  line(out, "jobrt_sse_clients " + std::to_string(sse_clients_.load()));
}

std::string metrics::render(const jobrt::result<jobrt::runtime_stats>& st) {
  std::string out;
  if (st) {
    header(out, "jobrt_jobs", "gauge", "Unfinished jobs known to the scheduler, by status.");
    for (auto s : jobrt::all_statuses) {
      if (jobrt::is_finished(s))
        continue;
      auto i = st->jobs_by_status.find(s);
      auto n = i == st->jobs_by_status.end() ? 0 : i->second;
      line(out, std::string{"jobrt_jobs{status=\""} + jobrt::to_string(s) + "\"} "
                  + std::to_string(n));
    }
    header(out, "jobrt_jobs_running", "gauge", "Jobs running now.");
    line(out, "jobrt_jobs_running " + std::to_string(st->running));
    header(out, "jobrt_queue_depth", "gauge", "Jobs queued for a concurrency slot.");
    line(out, "jobrt_queue_depth " + std::to_string(st->queued));
    header(out, "jobrt_jobs_submitted_total", "counter", "Jobs submitted since start.");
    line(out, "jobrt_jobs_submitted_total " + std::to_string(st->submitted));
    header(out, "jobrt_jobs_completed_total", "counter", "Jobs completed since start.");
    line(out, "jobrt_jobs_completed_total " + std::to_string(st->completed));
    header(out, "jobrt_jobs_failed_total", "counter", "Jobs failed since start.");
    line(out, "jobrt_jobs_failed_total " + std::to_string(st->failed));
    header(out, "jobrt_jobs_recovered_total", "counter", "Unfinished jobs found at start.");
    line(out, "jobrt_jobs_recovered_total " + std::to_string(st->recovered));
    header(out, "jobrt_records_quarantined_total", "counter", "Corrupt records moved aside at start.");
    line(out, "jobrt_records_quarantined_total " + std::to_string(st->quarantined));
    header(out, "jobrt_store_commits_total", "counter",
           "Store transactions committed since start (one fsync each when durable).");
    line(out, "jobrt_store_commits_total " + std::to_string(st->commits));
    header(out, "jobrt_schedules", "gauge", "Recurring schedules, paused ones included.");
    line(out, "jobrt_schedules " + std::to_string(st->schedules));
    header(out, "jobrt_schedule_ticks_fired_total", "counter",
           "Schedule ticks that submitted a job, since start.");
    line(out, "jobrt_schedule_ticks_fired_total " + std::to_string(st->schedule_ticks_fired));
    header(out, "jobrt_schedule_ticks_skipped_total", "counter",
           "Schedule ticks that submitted nothing (missed, overlapping, or their type gone), since start.");
    line(out, "jobrt_schedule_ticks_skipped_total " + std::to_string(st->schedule_ticks_skipped));
    const auto& cp = st->checkpoint_latency;
    header(out, "jobrt_checkpoint_write_seconds", "histogram",
           "From a job's checkpoint request until the checkpoint is durable.");
    for (std::size_t b = 0; b < cp.bounds_seconds.size(); ++b)
      line(out, "jobrt_checkpoint_write_seconds_bucket{le=\"" + number(cp.bounds_seconds[b])
                  + "\"} " + std::to_string(cp.counts[b]));
    line(out, "jobrt_checkpoint_write_seconds_bucket{le=\"+Inf\"} " + std::to_string(cp.count));
    line(out, "jobrt_checkpoint_write_seconds_sum " + number(cp.sum_seconds));
    line(out, "jobrt_checkpoint_write_seconds_count " + std::to_string(cp.count));
    render_nodes(out, *st);
  }
  header(out, "jobrt_up", "gauge", "1 if the runtime answered the stats request.");
  line(out, std::string{"jobrt_up "} + (st ? "1" : "0"));
  std::lock_guard guard{mtx_};
  render_histograms(out);
  render_requests(out);
  return out;
}

} // namespace jobrt_server
