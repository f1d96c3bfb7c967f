#include "file_copy.hpp"

#include <algorithm>
#include <filesystem>

namespace fs = std::filesystem;
namespace json = boost::json;

namespace jobrt_examples {

namespace {
constexpr std::string_view temp_suffix = ".jobrt-part";
} // namespace

std::string file_copy_temp_name(const std::string& name) {
  return "." + name + std::string{temp_suffix};
}

void file_copy_job::on_start(jobrt::context& ctx) {
  if (params().pace_ms && *params().pace_ms < 0)
    ctx.fail("pace_ms must not be negative");
  resumed_from_ = state().files;
}

bool file_copy_job::scan(jobrt::context& ctx) {
  const auto& p = params();
  std::error_code ec;
  if (!fs::is_directory(p.from_dir, ec)) {
    ctx.fail("source directory '" + p.from_dir + "' "
             + (fs::exists(p.from_dir, ec) ? "is not a directory" : "does not exist"));
    return false;
  }
  fs::create_directories(p.to_dir, ec);
  if (ec) {
    ctx.fail("cannot create destination directory '" + p.to_dir + "': " + ec.message());
    return false;
  }
  pending_.clear();
  for (fs::directory_iterator it{p.from_dir, ec}, end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (!it->is_regular_file(type_ec))
      continue;
    auto name = it->path().filename().string();
    bool is_temp = name.size() > temp_suffix.size()
                   && name.compare(name.size() - temp_suffix.size(), temp_suffix.size(),
                                   temp_suffix) == 0;
    // Names after the checkpoint's last one: a resumed job goes on with the next file.
    if (!is_temp && name > state().last)
      pending_.push_back(std::move(name));
  }
  if (ec) {
    ctx.fail("cannot list source directory '" + p.from_dir + "': " + ec.message());
    return false;
  }
  std::sort(pending_.begin(), pending_.end());
  next_ = 0;
  scanned_ = true;
  return true;
}

json::value file_copy_job::output() const {
  return json::object{{"files", state().files},
                      {"bytes", state().bytes},
                      {"resumed_from", resumed_from_}};
}

void file_copy_job::step(jobrt::context& ctx) {
  if (!scanned_ && !scan(ctx))
    return;
  if (next_ >= pending_.size()) { // nothing (left) to copy
    ctx.progress(1.0, "copying", "done");
    ctx.complete(output());
    return;
  }
  const auto& name = pending_[next_];
  fs::path from = fs::path{params().from_dir} / name;
  fs::path to = fs::path{params().to_dir} / name;
  fs::path temp = fs::path{params().to_dir} / file_copy_temp_name(name);
  std::error_code ec;
  fs::copy_file(from, temp, fs::copy_options::overwrite_existing, ec);
  if (!ec)
    fs::rename(temp, to, ec); // atomic: the final name only ever holds a whole file
  if (ec) {
    fs::remove(temp, ec);
    ctx.fail("copying '" + from.string() + "' to '" + to.string() + "' failed: " + ec.message());
    return;
  }
  auto size = fs::file_size(to, ec);
  auto& s = state();
  s.last = name;
  s.files += 1;
  s.bytes += ec ? 0 : static_cast<std::int64_t>(size);
  ++next_;
  auto total = s.files + static_cast<std::int64_t>(pending_.size() - next_);
  ctx.progress(static_cast<double>(s.files) / static_cast<double>(total), "copying",
               "copied " + name);
  ctx.progress_detail(json::object{{"files", s.files}, {"bytes", s.bytes}, {"of", total}});
  ctx.checkpoint();
  if (next_ >= pending_.size()) {
    ctx.complete(output()); // after the checkpoint above is durable
    return;
  }
  if (auto pace = params().pace_ms.value_or(0); pace > 0)
    ctx.next_step_after(std::chrono::milliseconds{pace});
}

JOBRT_REGISTER_JOB(file_copy_job);

} // namespace jobrt_examples
