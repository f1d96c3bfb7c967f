#include "request_reader.hpp"

#include <stdexcept>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

namespace http = boost::beast::http;

namespace jobrt_server {

request_reader::request_reader(std::size_t header_limit, std::size_t body_limit)
  : limit_(header_limit) {
  this->header_limit(static_cast<std::uint32_t>(header_limit));
  this->body_limit(body_limit);
}

bool request_reader::charge(std::size_t n, error_code& ec) {
  if (!started_) {
    // The start line, "METHOD TARGET HTTP/1.1\r\n", and the blank line after the headers.
    started_ = true;
    used_ = get().method_string().size() + get().target().size() + 12 + 2;
  }
  used_ += n;
  if (used_ <= limit_)
    return true;
  over_limit_ = true;
  ec = http::error::header_limit;
  return false;
}

void request_reader::on_field_impl(http::field f, string_view name, string_view value,
                                   error_code& ec) {
  if (!charge(name.size() + value.size() + 4, ec)) // "NAME: VALUE\r\n"
    return;
  if (is_header_done())
    return; // a trailer field: counted, never merged into the headers
  if (f == http::field::transfer_encoding) {
    // Beast takes a list that ends in "chunked" and ignores the codings before
    // it, and treats a list without it as no body at all; refuse both.
    auto v = value;
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
      v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t'))
      v.remove_suffix(1);
    if (!boost::beast::iequals(v, "chunked")) {
      unsupported_coding_ = true;
      ec = http::error::bad_transfer_encoding;
      return;
    }
  }
  try {
    get().insert(f, name, value);
  } catch (const std::length_error&) {
    // basic_fields refuses values over 64 KiB; the header limit should stop
    // those first, but an exception here would escape the I/O thread.
    over_limit_ = true;
    ec = http::error::header_limit;
  }
}

void request_reader::on_chunk_header_impl(std::uint64_t, string_view extensions, error_code& ec) {
  // Extensions are ignored, but they are read into the buffer: they count.
  if (!extensions.empty())
    charge(extensions.size(), ec);
}

} // namespace jobrt_server
