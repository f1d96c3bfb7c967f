#include "static_files.hpp"

namespace jobrt_server {

namespace {

std::string_view content_type(std::string_view name) {
  auto ends_with = [&](std::string_view ext) {
    return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
  };
  if (ends_with(".html"))
    return "text/html; charset=utf-8";
  if (ends_with(".css"))
    return "text/css; charset=utf-8";
  if (ends_with(".js"))
    return "text/javascript; charset=utf-8";
  if (ends_with(".svg"))
    return "image/svg+xml";
  return "application/octet-stream";
}

} // namespace

std::optional<response> serve_static(std::string_view path) {
  if (path == "/" || path == "/index.html")
    path = "index.html";
  else if (!path.empty() && path.front() == '/')
    path.remove_prefix(1);
  for (const auto& f : embedded_files()) {
    if (f.name != path)
      continue;
    response res{http::status::ok, 11};
    res.set(http::field::content_type, content_type(f.name));
    res.set(http::field::cache_control, "no-cache");
    res.set(nosniff_field, "nosniff");
    res.set("Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'");
    res.body().assign(f.data.data(), f.data.size());
    return res;
  }
  return std::nullopt;
}

} // namespace jobrt_server
