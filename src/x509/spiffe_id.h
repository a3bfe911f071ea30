#pragma once
// SPIFFE IDs: parsing that refuses anything malformed, and the names of mesh identities
// (DESIGN.md §1).

#include <optional>
#include <string>
#include <string_view>

namespace meshgate::x509 {

struct spiffe_id {
  std::string trust_domain;  // "7f3c....consul", lower case
  std::string path;          // "" or "/ns/default/dc/dc1/svc/web"
  std::string to_string() const { return "spiffe://" + trust_domain + path; }
  bool operator==(const spiffe_id&) const = default;
};

/// Parses per the SPIFFE ID spec: scheme "spiffe" (lower case), a trust domain of lower-case
/// letters, digits, '.', '-' and '_' (no port, no user info), then a path of segments of
/// letters, digits, '.', '-' and '_' — none empty, none "." or "..", no trailing slash, no
/// query, fragment or percent-encoding; at most 2048 bytes. nullopt for anything else.
std::optional<spiffe_id> parse_spiffe_id(std::string_view text);

/// spiffe://<td>/ns/<ns>/dc/<dc>/svc/<service>
spiffe_id service_identity(std::string_view trust_domain, std::string_view ns, std::string_view dc,
                           std::string_view service);
/// spiffe://<td>: the trust domain itself (a CA's URI).
spiffe_id trust_domain_identity(std::string_view trust_domain);

/// The parts of a service identity, or nullopt if `id` is not one.
struct service_identity_parts {
  std::string ns, dc, service;
};
std::optional<service_identity_parts> as_service_identity(const spiffe_id& id);

}  // namespace meshgate::x509
