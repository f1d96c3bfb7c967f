#include "actors/node_wire.hpp"

#include <boost/json.hpp>

namespace json = boost::json;

namespace jobrt::node_wire {

namespace {

error malformed(std::string what) {
  return error{errc::malformed_json, "from a peer: " + std::move(what)};
}

result<json::object> parse_object(std::string_view text) {
  boost::system::error_code ec;
  auto v = json::parse(json::string_view{text.data(), text.size()}, ec);
  if (ec)
    return malformed("not JSON (" + ec.message() + ")");
  if (!v.is_object())
    return malformed("not a JSON object");
  return std::move(v.get_object());
}

std::uint64_t uint_of(const json::object& o, const char* key) {
  auto* p = o.if_contains(key);
  if (p == nullptr)
    return 0;
  if (p->is_uint64())
    return p->get_uint64();
  if (p->is_int64() && p->get_int64() >= 0)
    return static_cast<std::uint64_t>(p->get_int64());
  return 0;
}

std::int64_t int_of(const json::object& o, const char* key) {
  auto* p = o.if_contains(key);
  if (p == nullptr)
    return 0;
  if (p->is_int64())
    return p->get_int64();
  if (p->is_uint64() && p->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(p->get_uint64());
  return 0;
}

std::string string_of(const json::object& o, const char* key) {
  auto* p = o.if_contains(key);
  return p != nullptr && p->is_string() ? std::string{p->get_string()} : std::string{};
}

json::value value_of(const json::object& o, const char* key) {
  auto* p = o.if_contains(key);
  return p != nullptr ? *p : json::value{};
}

json::value signal_json(const job_signal& s) {
  return json::object{{"seq", s.seq}, {"name", s.name}, {"payload", s.payload}, {"at", s.at}};
}

result<job_signal> signal_of(const json::value& v) {
  if (!v.is_object())
    return malformed("a signal that is not an object");
  const auto& o = v.get_object();
  job_signal s;
  s.seq = uint_of(o, "seq");
  s.name = string_of(o, "name");
  s.payload = value_of(o, "payload");
  s.at = int_of(o, "at");
  if (s.seq == 0)
    return malformed("a signal without a seq");
  return s;
}

const char* kind_name(proto::job_outcome::kind k) {
  using kind = proto::job_outcome::kind;
  switch (k) {
    case kind::completed: return "completed";
    case kind::failed: return "failed";
    case kind::cancelled: return "cancelled";
    case kind::rate_limited: return "rate_limited";
    case kind::awaiting_signal: return "awaiting_signal";
    case kind::awaiting_children: return "awaiting_children";
    case kind::interrupted: return "interrupted";
  }
  return "failed";
}

} // namespace

std::size_t max_text(std::size_t max_payload_bytes) {
  // A start carries the parameters and the checkpoint state, each at most the
  // payload limit, and the record and progress around them.
  return 2 * max_payload_bytes + (std::size_t{1} << 16);
}

std::string encode_start(const proto::job_start& js) {
  // Only what a job actor builds the job from: the whole record would be most
  // of the bytes, and of the coordinator's time, for a short job.
  json::object o;
  o["id"] = js.id;
  o["attempt"] = js.attempt;
  if (js.record) {
    o["type"] = js.record->type;
    o["params"] = js.record->params;
    if (!js.record->owner.empty())
      o["owner"] = js.record->owner;
  }
  if (js.restored)
    o["checkpoint"] = to_json(*js.restored);
  if (!js.signals.empty()) {
    json::array signals;
    for (const auto& s : js.signals)
      signals.push_back(signal_json(s));
    o["signals"] = std::move(signals);
  }
  return json::serialize(o);
}

result<proto::job_start> decode_start(std::string_view text) {
  auto o = parse_object(text);
  if (!o)
    return o.error();
  proto::job_start js;
  js.id = uint_of(*o, "id");
  js.attempt = static_cast<std::uint32_t>(std::min<std::uint64_t>(uint_of(*o, "attempt"), UINT32_MAX));
  auto* type = o->if_contains("type");
  if (js.id == 0 || type == nullptr || !type->is_string() || type->get_string().empty())
    return malformed("a start without an id or a type");
  auto r = std::make_shared<job_record>();
  r->id = js.id;
  r->type = std::string{type->get_string()};
  r->params = value_of(*o, "params");
  r->owner = string_of(*o, "owner");
  r->attempts = js.attempt;
  js.record = std::move(r);
  if (auto* cp = o->if_contains("checkpoint"); cp != nullptr && !cp->is_null()) {
    auto c = checkpoint_from_json(*cp);
    if (!c)
      return c.error();
    js.restored = std::move(*c);
  }
  if (auto* signals = o->if_contains("signals"); signals != nullptr && signals->is_array())
    for (const auto& s : signals->get_array()) {
      auto sig = signal_of(s);
      if (!sig)
        return sig.error();
      js.signals.push_back(std::move(*sig));
    }
  return js;
}

std::string encode_outcome(const proto::job_outcome& o) {
  json::object j;
  j["what"] = kind_name(o.what);
  if (!o.output.is_null())
    j["output"] = o.output;
  if (!o.error.empty())
    j["error"] = o.error;
  if (o.retry_after_ms != 0)
    j["retry_after_ms"] = o.retry_after_ms;
  j["progress"] = to_json(o.last_progress);
  if (o.transient)
    j["transient"] = true;
  if (o.signals_taken != 0)
    j["signals_taken"] = o.signals_taken;
  return json::serialize(j);
}

result<proto::job_outcome> decode_outcome(std::string_view text) {
  auto j = parse_object(text);
  if (!j)
    return j.error();
  using kind = proto::job_outcome::kind;
  proto::job_outcome o;
  auto what = string_of(*j, "what");
  // A worker cannot spawn children (context::spawn_child refuses there), and
  // only the coordinator interrupts a run: neither is an outcome it may send.
  bool found = false;
  for (auto k : {kind::completed, kind::failed, kind::cancelled, kind::rate_limited,
                 kind::awaiting_signal})
    if (what == kind_name(k)) {
      o.what = k;
      found = true;
    }
  if (!found)
    return malformed("an outcome of an unknown kind '" + what + "'");
  o.output = value_of(*j, "output");
  o.error = string_of(*j, "error");
  o.retry_after_ms = std::max<std::int64_t>(0, int_of(*j, "retry_after_ms"));
  if (auto* p = j->if_contains("progress")) {
    auto prog = progress_from_json(*p);
    if (!prog)
      return prog.error();
    o.last_progress = std::move(*prog);
  }
  auto* transient = j->if_contains("transient");
  o.transient = transient != nullptr && transient->is_bool() && transient->get_bool();
  o.signals_taken = uint_of(*j, "signals_taken");
  return o;
}

std::string encode_progress(const progress& p) {
  return json::serialize(to_json(p));
}

result<progress> decode_progress(std::string_view text) {
  auto o = parse_object(text);
  if (!o)
    return o.error();
  return progress_from_json(*o);
}

std::string encode_checkpoint(const checkpoint& c) {
  return json::serialize(to_json(c));
}

result<checkpoint> decode_checkpoint(std::string_view text) {
  auto o = parse_object(text);
  if (!o)
    return o.error();
  return checkpoint_from_json(*o);
}

std::string encode_signal(const job_signal& s) {
  return json::serialize(signal_json(s));
}

result<job_signal> decode_signal(std::string_view text) {
  auto o = parse_object(text);
  if (!o)
    return o.error();
  return signal_of(*o);
}

std::string encode_offer(const offer& o) {
  json::object types;
  for (const auto& [name, cap] : o.types)
    types[name] = cap;
  return json::serialize(json::object{{"slots", o.slots}, {"types", std::move(types)}});
}

result<offer> decode_offer(std::string_view text) {
  constexpr std::uint64_t most = 100000;
  auto j = parse_object(text);
  if (!j)
    return j.error();
  offer o;
  auto slots = uint_of(*j, "slots");
  auto* types = j->if_contains("types");
  if (slots == 0 || slots > most || types == nullptr || !types->is_object()
      || types->get_object().empty() || types->get_object().size() > most)
    return malformed("an offer needs 1 to 100000 slots and 1 to 100000 types");
  o.slots = static_cast<std::size_t>(slots);
  for (const auto& [name, cap] : types->get_object()) {
    if (name.empty() || name.size() > 255)
      return malformed("an offer with a type name that is empty or over 255 bytes");
    std::uint64_t c = cap.is_uint64() ? cap.get_uint64()
                      : cap.is_int64() && cap.get_int64() >= 0
                        ? static_cast<std::uint64_t>(cap.get_int64())
                        : 0;
    o.types[std::string{name}] = static_cast<std::size_t>(std::min(c, most));
  }
  return o;
}

} // namespace jobrt::node_wire
