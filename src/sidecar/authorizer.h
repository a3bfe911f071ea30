#pragma once
// The seam intentions plug into (DESIGN.md §2.7): the inbound listener asks it about every
// new connection, with the caller's verified identity. Until intentions are enforced,
// everything verified is allowed.

#include <string_view>

namespace meshgate::sidecar {

class connection_authorizer {
 public:
  virtual ~connection_authorizer() = default;
  /// May `source` (a verified SPIFFE ID) open a connection to `destination` (our service)?
  virtual bool allowed(std::string_view source, std::string_view destination) const noexcept = 0;
};

class allow_all_connections final : public connection_authorizer {
 public:
  bool allowed(std::string_view, std::string_view) const noexcept override { return true; }
};

}  // namespace meshgate::sidecar
