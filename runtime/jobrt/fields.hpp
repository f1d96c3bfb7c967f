#pragma once

/// Typed job parameters and state from and to JSON, driven by Boost.Describe.
///
///   struct copy_params { std::string from; std::string to; std::optional<int> limit; };
///   BOOST_DESCRIBE_STRUCT(copy_params, (), (from, to, limit))
///
/// `decode<copy_params>(json)` refuses a missing required field, a field of the
/// wrong type and an unknown field, each with a message that names the field;
/// `std::optional` members are optional. `describe_fields<copy_params>()` lists
/// the fields for the registry, and `encode(x)` writes them back out.
///
/// Members may be `bool`, integers, floating-point numbers, `std::string`,
/// `boost::json::value` (anything), `std::optional`, `std::vector` and
/// `std::map<std::string, T>` of these, and other described structs. A struct
/// that is not described stops the compilation with a `jobrt:` message that says
/// what to add.

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <boost/describe.hpp>
#include <boost/json/kind.hpp>
#include <boost/json/serializer.hpp>
#include <boost/json/value.hpp>
#include <boost/mp11/algorithm.hpp>

#include "jobrt/error.hpp"

namespace jobrt {

/// One field of a job type's parameters, as the registry lists it.
struct field_info {
  std::string name;
  std::string type; ///< "string", "integer", "number", "boolean", "array of string", ...
  bool required = true;
};

/// For jobs without state or parameters.
struct no_fields {};
BOOST_DESCRIBE_STRUCT(no_fields, (), ())

namespace detail {

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};
template <class T>
struct is_string_map : std::false_type {};
template <class T>
struct is_string_map<std::map<std::string, T>> : std::true_type {};

template <class T>
constexpr bool is_described_v = boost::describe::has_describe_members<T>::value;

template <class T>
std::string type_name() {
  if constexpr (std::is_same_v<T, bool>)
    return "boolean";
  else if constexpr (std::is_integral_v<T>)
    return "integer";
  else if constexpr (std::is_floating_point_v<T>)
    return "number";
  else if constexpr (std::is_same_v<T, std::string>)
    return "string";
  else if constexpr (std::is_same_v<T, boost::json::value>)
    return "any";
  else if constexpr (is_optional<T>::value)
    return type_name<typename T::value_type>();
  else if constexpr (is_vector<T>::value)
    return "array of " + type_name<typename T::value_type>();
  else if constexpr (is_string_map<T>::value)
    return "object of " + type_name<typename T::mapped_type>();
  else
    return "object";
}

/// Reads `v` into `out`; on failure fills `err` (naming `path`) and returns false.
template <class T>
bool read(const boost::json::value& v, T& out, const std::string& path, std::string& err);

inline bool fail(std::string& err, const std::string& path, const std::string& expected) {
  err = "field '" + path + "' must be " + expected;
  return false;
}

template <class T>
bool read_integer(const boost::json::value& v, T& out, const std::string& path,
                  std::string& err) {
  using lim = std::numeric_limits<T>;
  if (v.is_int64()) {
    auto x = v.get_int64();
    if constexpr (std::is_signed_v<T>) {
      if (x >= static_cast<std::int64_t>(lim::min()) && x <= static_cast<std::int64_t>(lim::max())) {
        out = static_cast<T>(x);
        return true;
      }
    } else if (x >= 0 && static_cast<std::uint64_t>(x) <= lim::max()) {
      out = static_cast<T>(x);
      return true;
    }
    return fail(err, path, "an integer in range");
  }
  if (v.is_uint64()) {
    auto x = v.get_uint64();
    if (x <= static_cast<std::uint64_t>(lim::max())) {
      out = static_cast<T>(x);
      return true;
    }
    return fail(err, path, "an integer in range");
  }
  if (v.is_double()) {
    double d = v.get_double();
    // The upper bound is exclusive: (double)max rounds up to 2^digits, which
    // does not fit, and converting it would be undefined behaviour.
    if (std::isfinite(d) && d == std::floor(d) && d >= static_cast<double>(lim::min())
        && d < std::ldexp(1.0, lim::digits)) {
      out = static_cast<T>(d);
      return true;
    }
  }
  return fail(err, path, "an integer");
}

template <class T>
bool read_struct(const boost::json::value& v, T& out, const std::string& path,
                 std::string& err) {
  if (!v.is_object())
    return fail(err, path.empty() ? std::string{"parameters"} : path, "an object");
  const auto& obj = v.get_object();
  auto prefix = path.empty() ? std::string{} : path + ".";
  using members = boost::describe::describe_members<T, boost::describe::mod_public>;
  bool ok = true;
  boost::mp11::mp_for_each<members>([&](auto m) {
    if (!ok)
      return;
    using member_t = std::remove_reference_t<decltype(out.*m.pointer)>;
    auto name = prefix + m.name;
    auto* field = obj.if_contains(m.name);
    if constexpr (std::is_same_v<member_t, boost::json::value>) {
      if (field != nullptr && field->is_null()) { // JSON's null is a value of `any`
        out.*m.pointer = nullptr;
        return;
      }
    }
    if (field == nullptr || field->is_null()) {
      if constexpr (is_optional<member_t>::value) {
        (out.*m.pointer).reset();
      } else {
        err = "missing required field '" + name + "' (" + type_name<member_t>() + ")";
        ok = false;
      }
      return;
    }
    ok = read(*field, out.*m.pointer, name, err);
  });
  if (!ok)
    return false;
  for (const auto& kv : obj) {
    bool known = false;
    boost::mp11::mp_for_each<members>([&](auto m) { known = known || kv.key() == m.name; });
    if (!known) {
      err = "unknown field '" + prefix + std::string{kv.key()} + "'";
      return false;
    }
  }
  return true;
}

template <class T>
bool read(const boost::json::value& v, T& out, const std::string& path, std::string& err) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_bool())
      return fail(err, path, "a boolean");
    out = v.get_bool();
    return true;
  } else if constexpr (std::is_integral_v<T>) {
    return read_integer(v, out, path, err);
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number())
      return fail(err, path, "a number");
    out = v.to_number<T>();
    if (!std::isfinite(out))
      return fail(err, path, "a finite number");
    return true;
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string())
      return fail(err, path, "a string");
    out.assign(v.get_string().data(), v.get_string().size());
    return true;
  } else if constexpr (std::is_same_v<T, boost::json::value>) {
    out = v;
    return true;
  } else if constexpr (is_optional<T>::value) {
    typename T::value_type inner{};
    if (!read(v, inner, path, err))
      return false;
    out = std::move(inner);
    return true;
  } else if constexpr (is_vector<T>::value) {
    if (!v.is_array())
      return fail(err, path, "an array");
    out.clear();
    std::size_t i = 0;
    for (const auto& item : v.get_array()) {
      typename T::value_type x{};
      if (!read(item, x, path + "[" + std::to_string(i++) + "]", err))
        return false;
      out.push_back(std::move(x));
    }
    return true;
  } else if constexpr (is_string_map<T>::value) {
    if (!v.is_object())
      return fail(err, path, "an object");
    out.clear();
    for (const auto& kv : v.get_object()) {
      typename T::mapped_type x{};
      std::string key{kv.key()};
      if (!read(kv.value(), x, path + "." + key, err))
        return false;
      out.emplace(std::move(key), std::move(x));
    }
    return true;
  } else {
    static_assert(is_described_v<T>,
                  "jobrt: every struct in a job's Params or State must be described: add "
                  "BOOST_DESCRIBE_STRUCT(the_struct, (), (each, member)) next to it, in its "
                  "namespace");
    if constexpr (is_described_v<T>)
      return read_struct(v, out, path, err);
    else
      return false;
  }
}

template <class T>
boost::json::value write(const T& x) {
  if constexpr (std::is_same_v<T, bool> || std::is_arithmetic_v<T>
                || std::is_same_v<T, std::string>) {
    return boost::json::value(x);
  } else if constexpr (std::is_same_v<T, boost::json::value>) {
    return x;
  } else if constexpr (is_optional<T>::value) {
    return x ? write(*x) : boost::json::value{};
  } else if constexpr (is_vector<T>::value) {
    boost::json::array a;
    a.reserve(x.size());
    for (const auto& item : x)
      a.push_back(write(item));
    return a;
  } else if constexpr (is_string_map<T>::value) {
    boost::json::object o;
    for (const auto& kv : x)
      o[kv.first] = write(kv.second);
    return o;
  } else {
    static_assert(is_described_v<T>,
                  "jobrt: every struct in a job's Params or State must be described: add "
                  "BOOST_DESCRIBE_STRUCT(the_struct, (), (each, member)) next to it, in its "
                  "namespace");
    boost::json::object o;
    if constexpr (is_described_v<T>) {
      using members = boost::describe::describe_members<T, boost::describe::mod_public>;
      boost::mp11::mp_for_each<members>([&](auto m) { o[m.name] = write(x.*m.pointer); });
    }
    return o;
  }
}

} // namespace detail

/// True if `v` holds a number that JSON cannot represent (infinity, NaN), as
/// `1e400` parses to. Such values would be stored as text that never reads back.
inline bool has_non_finite(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::double_:
      return !std::isfinite(v.get_double());
    case boost::json::kind::array:
      for (const auto& x : v.get_array())
        if (has_non_finite(x))
          return true;
      return false;
    case boost::json::kind::object:
      for (const auto& kv : v.get_object())
        if (has_non_finite(kv.value()))
          return true;
      return false;
    default:
      return false;
  }
}

/// Gives every number the kind it would have after a trip through JSON text:
/// a non-negative integer that fits in int64 becomes int64 (Boost.JSON parses it
/// so). Values that enter the runtime (parameters, outputs, checkpoint state,
/// progress detail) are canonicalized, so that a job reads the same whether it
/// comes back from the LMDB store, from the in-memory store or from memory.
inline void canonicalize_numbers(boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::uint64:
      if (v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
        v = static_cast<std::int64_t>(v.get_uint64());
      return;
    case boost::json::kind::array:
      for (auto& x : v.get_array())
        canonicalize_numbers(x);
      return;
    case boost::json::kind::object:
      for (auto& kv : v.get_object())
        canonicalize_numbers(kv.value());
      return;
    default:
      return;
  }
}

/// The length of `v` serialized as JSON, counted through a stack buffer rather
/// than by building the text: payload limits are checked on every job.
inline std::size_t json_size(const boost::json::value& v) {
  boost::json::serializer sr;
  sr.reset(&v);
  char chunk[1024];
  std::size_t n = 0;
  while (!sr.done())
    n += sr.read(chunk, sizeof chunk).size();
  return n;
}

/// Decodes a described struct from JSON; `invalid_params` names the first bad field.
template <class T>
result<T> decode(const boost::json::value& v) {
  T out{};
  std::string err;
  if (!detail::read(v, out, std::string{}, err))
    return error{errc::invalid_params, std::move(err)};
  return out;
}

/// Encodes a described struct (or any supported field type) as JSON.
template <class T>
boost::json::value encode(const T& x) {
  return detail::write(x);
}

/// The fields of a described struct, for listing a job type's parameters.
template <class T>
std::vector<field_info> describe_fields() {
  static_assert(detail::is_described_v<T>,
                "jobrt: a job's Params must be described: add "
                "BOOST_DESCRIBE_STRUCT(your_params, (), (each, member)) next to the struct, "
                "in its namespace");
  std::vector<field_info> out;
  if constexpr (detail::is_described_v<T>) {
    using members = boost::describe::describe_members<T, boost::describe::mod_public>;
    boost::mp11::mp_for_each<members>([&](auto m) {
      using member_t =
        std::remove_cv_t<std::remove_reference_t<decltype(std::declval<T&>().*m.pointer)>>;
      out.push_back({m.name, detail::type_name<member_t>(), !detail::is_optional<member_t>::value});
    });
  }
  return out;
}

} // namespace jobrt
