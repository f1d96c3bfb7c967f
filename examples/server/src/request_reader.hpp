#pragma once

/// The server's request parser: Beast's string-body request parser with the
/// limits Beast leaves out.
///
/// - Beast's header limit covers the start line and the header fields only.
///   Here the chunked trailer section and the chunk extensions count against
///   the same limit, together with the headers: one budget for everything in a
///   request that is not its body.
/// - Trailer fields are counted and dropped, never merged into the message's
///   headers: a trailer cannot supply `Authorization`, `Content-Length` or
///   anything else the headers were checked for, and Beast's field container
///   (which throws for a value over 64 KiB) never sees them.
/// - A `Transfer-Encoding` other than plain `chunked` is refused (the server
///   decodes no other coding), and `unsupported_coding()` says so.
///
/// Beast's parser needs the whole trailer section in its buffer before it
/// parses any of it: the caller must also give its read buffer a maximum size
/// (see `read_buffer_limit`), or a long trailer grows the buffer unbounded.

#include <cstddef>
#include <cstdint>

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

namespace jobrt_server {

class request_reader : public boost::beast::http::request_parser<boost::beast::http::string_body> {
public:
  request_reader(std::size_t header_limit, std::size_t body_limit);

  /// The request named a transfer coding other than `chunked` (answer 501).
  bool unsupported_coding() const noexcept { return unsupported_coding_; }
  /// Headers, trailers and chunk extensions together went over the header limit (431).
  bool over_header_limit() const noexcept { return over_limit_; }

  /// The largest read buffer a connection needs: a whole header section or
  /// trailer section must fit, and a body is read in pieces of up to 64 KiB.
  static std::size_t read_buffer_limit(std::size_t header_limit) noexcept {
    return header_limit + 64 * 1024;
  }

private:
  using string_view = boost::beast::string_view;
  using error_code = boost::beast::error_code;

  void on_field_impl(boost::beast::http::field f, string_view name, string_view value,
                     error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t size, string_view extensions, error_code& ec) override;

  /// Adds `n` bytes to what the request used of the limit; false (with `ec`
  /// set) once it is over.
  bool charge(std::size_t n, error_code& ec);

  std::size_t limit_;
  std::size_t used_ = 0;
  bool started_ = false;
  bool unsupported_coding_ = false;
  bool over_limit_ = false;
};

} // namespace jobrt_server
