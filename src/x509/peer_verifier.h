#pragma once
// Verifying a peer: its chain up to a trusted root, at a given time, for the right purpose,
// and its identity (the URI SAN) equal to the one expected, exactly.

#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "x509/openssl_handles.h"
#include "x509/spiffe_id.h"

namespace meshgate::x509 {

/// The roots a proxy trusts, parsed once and shared read-only by every connection.
class trust_bundle {
 public:
  /// Throws crypto_error if a PEM is not a certificate or there is none.
  explicit trust_bundle(const std::vector<std::string>& root_pems);
  X509_STORE* store() const noexcept { return store_.get(); }
  std::size_t size() const noexcept { return count_; }

 private:
  store_ptr store_;
  std::size_t count_ = 0;
};

/// Which extended key usage the peer's leaf must carry.
enum class peer_role { server, client };

struct verify_result {
  bool ok = false;
  std::string error;  // why not, for logs and counters
};

/// Verifies `leaf` (with the `intermediates` the peer sent) against `roots` at `now`, for
/// `role`, and requires the leaf's only URI SAN to be exactly `expected`.
verify_result verify_peer(const trust_bundle& roots, X509* leaf, const std::vector<X509*>& intermediates,
                          const spiffe_id& expected, peer_role role, std::time_t now);

/// The same chain checks, then hands back the identity instead of comparing it (for an
/// inbound listener that accepts any service of its trust domain and lets intentions decide).
verify_result verify_chain(const trust_bundle& roots, X509* leaf, const std::vector<X509*>& intermediates,
                           peer_role role, std::time_t now);

/// The certificate's URI SANs.
std::vector<std::string> uri_sans(X509* cert);
/// The certificate's single SPIFFE ID, if it has exactly one URI SAN and it parses.
std::optional<spiffe_id> spiffe_id_of(X509* cert);

}  // namespace meshgate::x509
