#pragma once

/// `file_copy`: copies every regular file of `from_dir` into `to_dir`, one file
/// per step in name order, with a checkpoint after each file.
///
/// Parameters: from_dir, to_dir (created if missing), optional pace_ms (a pause
/// between files, for demos).
///
/// The state remembers the name of the last file copied, so a job resumed after
/// a crash continues with the next name, even if files were added or removed
/// meanwhile. A file copied after the last checkpoint is copied again: the
/// guarantee is at-least-once, and a repeated copy simply overwrites. Each file
/// is written under a hidden temporary name and renamed into place, so a crash
/// never leaves a half-written file under its final name.
///
/// Output: {"files": N, "bytes": N, "resumed_from": N}: `resumed_from` is how
/// many files the checkpoint the last run started from had copied already (0
/// when the job ran in one go).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jobrt/jobrt.hpp"

namespace jobrt_examples {

struct file_copy_params {
  std::string from_dir;
  std::string to_dir;
  std::optional<std::int64_t> pace_ms;
};
BOOST_DESCRIBE_STRUCT(file_copy_params, (), (from_dir, to_dir, pace_ms))

struct file_copy_state {
  std::string last;        ///< name of the last file copied; empty = none yet
  std::int64_t files = 0;  ///< files copied
  std::int64_t bytes = 0;  ///< their total size
};
BOOST_DESCRIBE_STRUCT(file_copy_state, (), (last, files, bytes))

/// The temporary name a file is written under before the rename.
std::string file_copy_temp_name(const std::string& name);

class file_copy_job : public jobrt::job<file_copy_params, file_copy_state> {
public:
  static constexpr const char* name = "file_copy";
  static constexpr const char* description
    = "Copies the files of a directory into another, one file per step";
  static jobrt::job_type_options options() {
    jobrt::job_type_options o;
    o.blocking = true; // copies files in `step`
    return o;
  }

  void on_start(jobrt::context& ctx) override;
  void step(jobrt::context& ctx) override;

private:
  bool scan(jobrt::context& ctx);
  boost::json::value output() const;

  std::vector<std::string> pending_; ///< names still to copy, sorted
  std::size_t next_ = 0;
  std::int64_t resumed_from_ = 0;
  bool scanned_ = false;
};

} // namespace jobrt_examples
