#include "x509/spiffe_id.h"

#include <vector>

namespace meshgate::x509 {

namespace {

constexpr std::size_t max_id_length = 2048;
constexpr std::size_t max_trust_domain_length = 255;

bool trust_domain_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}
bool path_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    path.remove_prefix(1);  // the '/'
    const auto next = path.find('/');
    out.push_back(path.substr(0, next));
    path = next == std::string_view::npos ? std::string_view{} : path.substr(next);
  }
  return out;
}

}  // namespace

std::optional<spiffe_id> parse_spiffe_id(std::string_view text) {
  constexpr std::string_view scheme = "spiffe://";
  if (text.size() > max_id_length || !text.starts_with(scheme)) return std::nullopt;
  text.remove_prefix(scheme.size());
  const auto slash = text.find('/');
  const auto domain = text.substr(0, slash);
  if (domain.empty() || domain.size() > max_trust_domain_length) return std::nullopt;
  for (char c : domain) {
    if (!trust_domain_char(c)) return std::nullopt;  // upper case, ':' (port), '@' (user info)...
  }
  spiffe_id id{std::string(domain), {}};
  if (slash == std::string_view::npos) return id;
  const auto path = text.substr(slash);
  for (const auto segment : segments(path)) {
    if (segment.empty() || segment == "." || segment == "..") return std::nullopt;
    for (char c : segment) {
      if (!path_char(c)) return std::nullopt;  // '%', '?', '#', spaces, NUL...
    }
  }
  id.path = std::string(path);
  return id;
}

spiffe_id service_identity(std::string_view trust_domain, std::string_view ns, std::string_view dc,
                           std::string_view service) {
  return {std::string(trust_domain),
          "/ns/" + std::string(ns) + "/dc/" + std::string(dc) + "/svc/" + std::string(service)};
}

spiffe_id trust_domain_identity(std::string_view trust_domain) { return {std::string(trust_domain), {}}; }

std::optional<service_identity_parts> as_service_identity(const spiffe_id& id) {
  const auto s = segments(id.path);
  if (s.size() != 6 || s[0] != "ns" || s[2] != "dc" || s[4] != "svc") return std::nullopt;
  return service_identity_parts{std::string(s[1]), std::string(s[3]), std::string(s[5])};
}

}  // namespace meshgate::x509
