#include "gateway/sni_router.h"

namespace meshgate::gateway {

bool sni_router::add(std::string_view pattern, std::size_t route) {
  if (pattern.starts_with("*.")) return suffixes_.emplace(pattern.substr(2), route).second;
  return exact_.emplace(pattern, route).second;
}

std::optional<std::size_t> sni_router::find(std::string_view server_name) const {
  if (const auto it = exact_.find(server_name); it != exact_.end()) return it->second;
  if (suffixes_.empty()) return std::nullopt;
  for (auto dot = server_name.find('.'); dot != std::string_view::npos;
       dot = server_name.find('.', dot + 1)) {
    if (const auto it = suffixes_.find(server_name.substr(dot + 1)); it != suffixes_.end()) {
      return it->second;
    }
  }
  return std::nullopt;
}

}  // namespace meshgate::gateway
