#pragma once

/// Sample inputs for the example jobs, used by the demo and the tests.

#include <cstdint>
#include <string>
#include <vector>

namespace jobrt_examples {

/// One generated transaction and the category it was generated for.
struct sample_transaction {
  std::string date;        ///< "2024-03-17"
  std::string description; ///< some contain commas and quotes, to exercise CSV quoting
  std::int64_t amount_cents = 0;
  std::string category;    ///< what `default_rules()` should file it under
};

/// Writes `rows` transactions (header `date,description,amount`) to `path` and
/// returns them, so a test can compute the expected totals independently of the
/// job. The same seed gives the same file on every platform. Throws
/// std::runtime_error if the file cannot be written.
std::vector<sample_transaction> write_sample_transactions(const std::string& path,
                                                          std::size_t rows,
                                                          std::uint32_t seed);

/// Writes `count` small files ("file-01.bin", ...) of 1..`max_bytes` random bytes
/// into `dir` (created if missing) and returns their names, sorted. Throws
/// std::runtime_error on failure.
std::vector<std::string> write_sample_files(const std::string& dir, std::size_t count,
                                            std::uint32_t seed, std::size_t max_bytes = 16384);

} // namespace jobrt_examples
