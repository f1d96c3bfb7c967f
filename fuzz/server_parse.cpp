/// Fuzzes jobrt-server's request parser (`request_reader`) on raw bytes, read
/// the way a connection reads them: into a read buffer with the server's
/// maximum size, in pieces of a few bytes to 64 KiB, parsed as they come.
///
/// Checked: nothing throws; the buffer never grows past its maximum; a request
/// that is read whole has headers within the header limit, a body within the
/// body limit, no transfer coding but `chunked`, and no field that only its
/// trailer had (trailers are never merged into the headers).
///
/// Input: byte 0 picks the piece size; the rest is the bytes on the wire.
/// A trailer field named `X-Trailer-Only` must never show up in the headers
/// (seeds put it only in trailers; a fuzzed header of that name is allowed,
/// so the check only applies when the header section does not contain it).

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "request_reader.hpp"

namespace http = boost::beast::http;

namespace {

constexpr std::size_t header_limit = 1024;
constexpr std::size_t body_limit = 4096;

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1)
    return 0;
  std::size_t piece = std::size_t{1} << (data[0] % 17); // 1 byte to 64 KiB
  std::string_view wire{reinterpret_cast<const char*>(data + 1), size - 1};
  std::string head{wire.substr(0, wire.find("\r\n\r\n"))};
  for (auto& c : head)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  bool header_names_it = head.find("x-trailer-only") != std::string::npos;

  const auto max = jobrt_server::request_reader::read_buffer_limit(header_limit);
  boost::beast::flat_buffer buffer{max};
  jobrt_server::request_reader parser{header_limit, body_limit};
  parser.eager(true);
  boost::beast::error_code ec;
  std::size_t fed = 0;
  try {
    while (!parser.is_done()) {
      if (buffer.size() == buffer.max_size())
        return 0; // the connection answers 431 (buffer_overflow)
      auto n = std::min({piece, wire.size() - fed, buffer.max_size() - buffer.size()});
      if (n == 0)
        return 0; // the client stopped sending: a partial request
      auto b = buffer.prepare(n);
      boost::asio::buffer_copy(b, boost::asio::buffer(wire.data() + fed, n));
      buffer.commit(n);
      fed += n;
      for (;;) {
        auto used = parser.put(buffer.data(), ec);
        buffer.consume(used);
        if (ec == http::error::need_more) {
          ec = {};
          break;
        }
        if (ec)
          return 0; // the connection answers 4xx/501 and closes
        if (parser.is_done() || used == 0)
          break;
      }
      if (buffer.size() > max)
        std::abort();
    }
  } catch (...) {
    std::abort(); // an exception would escape the I/O thread
  }
  if (parser.unsupported_coding() || parser.over_header_limit())
    std::abort(); // those end with an error, never with a request
  const auto& req = parser.get();
  std::size_t header_bytes = req.method_string().size() + req.target().size();
  for (const auto& f : req)
    header_bytes += f.name_string().size() + f.value().size();
  if (header_bytes > header_limit || req.body().size() > body_limit)
    std::abort();
  if (auto te = req.find(http::field::transfer_encoding); te != req.end())
    if (!boost::beast::iequals(te->value(), "chunked"))
      std::abort();
  if (!header_names_it && req.find("X-Trailer-Only") != req.end())
    std::abort(); // a trailer field became a header
  return 0;
}
