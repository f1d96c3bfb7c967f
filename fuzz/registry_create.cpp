/// Fuzzes the registry's create-from-JSON: a type name, parameters and
/// (optionally) a checkpointed state, as the runtime passes them when it starts
/// or resumes a job. A job that was created must save a state that creates it again.
///
/// Input: byte 0 picks the type (one of the registered ones, or an unknown name);
/// the rest is the parameters' JSON text, then optionally a 0x00 byte and the
/// state's JSON text.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <boost/json.hpp>

#include "fuzz_types.hpp"
#include "jobrt/registry.hpp"

namespace {

struct rich_job : jobrt::job<fuzz_types::params, fuzz_types::state> {
  static constexpr const char* name = "rich";
  static constexpr const char* description = "Every field shape";
  void step(jobrt::context&) override {}
};

struct plain_job : jobrt::job<jobrt::no_fields> {
  static constexpr const char* name = "plain";
  static constexpr const char* description = "No parameters";
  void step(jobrt::context&) override {}
};

struct item_job : jobrt::job<fuzz_types::item, fuzz_types::item> {
  static constexpr const char* name = "item";
  static constexpr const char* description = "Parameters and state of the same shape";
  void step(jobrt::context&) override {}
};

const jobrt::registry& types() {
  static jobrt::registry* r = [] {
    auto* reg = new jobrt::registry;
    reg->add<rich_job>();
    reg->add<plain_job>();
    reg->add<item_job>();
    return reg;
  }();
  return *r;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  static const char* names[] = {"rich", "plain", "item", "", "no-such-type"};
  std::string_view type = names[data[0] % 5];
  std::string_view rest{reinterpret_cast<const char*>(data) + 1, size - 1};
  auto cut = rest.find('\0');
  auto params_text = rest.substr(0, cut);
  boost::json::error_code ec;
  auto params = boost::json::parse(params_text, ec);
  if (ec)
    return 0;
  boost::json::value state;
  bool with_state = false;
  if (cut != std::string_view::npos) {
    state = boost::json::parse(rest.substr(cut + 1), ec);
    if (ec)
      return 0;
    with_state = true;
  }
  auto& reg = types();
  auto valid = reg.validate(type, params);
  auto job = reg.create(type, params, with_state ? &state : nullptr);
  if (!job) {
    if (job.error().message.empty())
      std::abort();
    return 0;
  }
  if (!valid)
    std::abort(); // created, yet validate refused the same parameters
  auto saved = (*job)->save_state();
  auto again = reg.create(type, params, &saved);
  if (!again || (*again)->save_state() != saved)
    std::abort(); // a saved state must restore the same job
  return 0;
}
