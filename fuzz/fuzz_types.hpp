#pragma once

/// Described structs with every field shape `jobrt::decode` supports, shared by
/// the fuzz targets.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/describe.hpp>
#include <boost/json/value.hpp>

#include "jobrt/fields.hpp"

namespace fuzz_types {

struct item {
  std::string name;
  std::optional<std::int32_t> weight;
  std::vector<double> xs;
};
BOOST_DESCRIBE_STRUCT(item, (), (name, weight, xs))

struct params {
  std::int64_t n = 0;
  std::uint8_t small = 0;
  std::uint64_t big = 0;
  bool flag = false;
  float ratio = 0;
  std::optional<std::string> label;
  std::vector<item> items;
  std::optional<item> nested;
  std::optional<std::vector<std::int16_t>> shorts;
  std::map<std::string, std::uint32_t> counts;
  std::optional<boost::json::value> extra;
};
BOOST_DESCRIBE_STRUCT(params, (),
                      (n, small, big, flag, ratio, label, items, nested, shorts, counts, extra))

struct state {
  std::int64_t i = 0;
  std::vector<std::string> seen;
  std::optional<double> rate;
};
BOOST_DESCRIBE_STRUCT(state, (), (i, seen, rate))

} // namespace fuzz_types
