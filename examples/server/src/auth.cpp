#include "auth.hpp"

#include <cctype>
#include <string_view>

namespace jobrt_server {

namespace {

/// Compares without an early exit, so that timing does not tell how much of a
/// guessed token was right.
bool same_token(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  return diff == 0;
}

std::optional<std::string> bearer_token(const request& req) {
  auto h = req.find(http::field::authorization);
  if (h == req.end())
    return std::nullopt;
  std::string_view v{h->value().data(), h->value().size()};
  constexpr std::string_view scheme = "Bearer ";
  if (v.size() <= scheme.size())
    return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(v[i]))
        != std::tolower(static_cast<unsigned char>(scheme[i])))
      return std::nullopt;
  return std::string{v.substr(scheme.size())};
}

response unauthorized(std::string_view message) {
  auto res = error_response(http::status::unauthorized, "unauthorized", message);
  res.set(http::field::www_authenticate, "Bearer realm=\"jobrt\"");
  return res;
}

} // namespace

std::variant<principal, response> authenticate(const auth_config& cfg, const request& req,
                                               const target& t, bool allow_query_token) {
  if (!cfg.enabled())
    return principal{};
  auto token = bearer_token(req);
  if (!token && allow_query_token)
    token = t.param("access_token");
  if (!token || token->empty())
    return unauthorized("this server requires a bearer token");
  if (!cfg.admin_token.empty() && same_token(*token, cfg.admin_token))
    return principal{};
  // Every configured token is compared, so the time taken does not depend on which matched.
  std::optional<std::string> owner;
  for (const auto& [t_token, t_owner] : cfg.owner_tokens)
    if (same_token(*token, t_token))
      owner = t_owner;
  if (owner)
    return principal{*owner};
  return unauthorized("the bearer token is not valid");
}

response forbidden_owner() {
  return error_response(http::status::forbidden, "forbidden",
                        "this job belongs to another owner");
}

} // namespace jobrt_server
