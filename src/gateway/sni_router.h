#pragma once
// Which route a server name takes: the exact name first, then the longest "*.suffix".

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace meshgate::gateway {

/// Maps route patterns to route indexes. Built once per snapshot, then read-only.
///
/// A lookup costs one hash probe for the exact name and one per dot in the name for the
/// wildcards, tried from the longest suffix down, so the first hit is the longest match.
/// "*.b.c" matches "a.b.c" and "x.a.b.c" (any depth, as Envoy's server_names do) but not
/// "b.c" itself.
class sni_router {
 public:
  /// `pattern` is a lower-case server name or "*." plus one. False if already present.
  bool add(std::string_view pattern, std::size_t route);

  /// `server_name` must already be lower case (the ClientHello parser makes it so).
  std::optional<std::size_t> find(std::string_view server_name) const;

 private:
  struct hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  using table = std::unordered_map<std::string, std::size_t, hash, std::equal_to<>>;
  table exact_;
  table suffixes_;  // "*.b.c" is stored as "b.c"
};

}  // namespace meshgate::gateway
