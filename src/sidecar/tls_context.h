#pragma once
// The sidecar's TLS settings for one certificate and one set of roots: a server context for
// the inbound listener and a client context for upstreams, built once per certificate and
// shared read-only by every connection that starts while it is current. A renewal builds a
// new pair; connections that started with the old one keep it (OpenSSL counts references).
//
// Peer checks happen inside the handshake (a verify callback at the leaf), so a refused
// peer gets a TLS alert, and the reason is recorded for the counters:
//   inbound  — a client certificate is required; it must chain to a trusted root, be valid
//              now, carry clientAuth, and have as its only URI SAN a service identity of
//              our trust domain (or any SPIFFE ID of it, for standalone use);
//   outbound — the server's chain as above with serverAuth, and its URI SAN must equal the
//              upstream's expected identity exactly.
// A chain that verified once is remembered per context (verified_chain_cache.h); the
// identity is still judged for every connection.

#include <openssl/ssl.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "sidecar/verified_chain_cache.h"
#include "x509/openssl_handles.h"

namespace meshgate::sidecar {

using ssl_ctx_ptr = std::unique_ptr<SSL_CTX, x509::openssl_deleter<SSL_CTX_free>>;
using ssl_ptr = std::unique_ptr<SSL, x509::openssl_deleter<SSL_free>>;
using system_time = std::chrono::system_clock::time_point;

/// Which identities the inbound listener admits.
enum class inbound_peers {
  service_identity,  // spiffe://<td>/ns/<ns>/dc/<dc>/svc/<service> (the mesh)
  trust_domain,      // any SPIFFE ID of <td> (standalone use with other workloads)
};

/// Why a handshake's peer was refused; none if it was not.
enum class peer_refusal : std::uint8_t {
  none,
  no_certificate,     // the client sent none (inbound)
  untrusted,          // bad chain, unknown root, expired, wrong key usage
  identity_mismatch,  // the URI SAN is not the one expected / not one we admit
};

/// What one connection's handshake checks and learns; lives in the connection, and the
/// verify callback reaches it through SSL_get_app_data.
struct handshake_check {
  const std::string* expected_identity = nullptr;  // outbound: the upstream's identity
  peer_refusal refusal = peer_refusal::none;
  std::string detail;         // for logs: the verify error, or the identity seen
  std::string peer_identity;  // the verified peer's URI SAN
};

/// A certificate the sidecar presents: the leaf first, then what chains it to a root.
struct certificate_chain {
  std::string chain_pem;
  std::string key_pem;
};

class tls_context {
 public:
  /// Parses everything once. Throws x509::crypto_error naming what is wrong (a key that does
  /// not match its certificate, a PEM that is not one).
  tls_context(const certificate_chain& leaf, const std::vector<std::string>& root_pems,
              std::string trust_domain, inbound_peers admitted);
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;

  /// A new server-side connection for the inbound listener.
  ssl_ptr new_inbound(handshake_check& check) const;
  /// A new client-side connection for an upstream: SNI `server_name`, and the peer's URI
  /// SAN must equal `*check.expected_identity`.
  ssl_ptr new_outbound(handshake_check& check, const std::string& server_name) const;

  const std::string& serial() const noexcept { return serial_; }
  const std::string& identity() const noexcept { return identity_; }
  system_time not_before() const noexcept { return not_before_; }
  system_time not_after() const noexcept { return not_after_; }
  const std::string& trust_domain() const noexcept { return trust_domain_; }
  inbound_peers admitted() const noexcept { return admitted_; }
  std::size_t root_count() const noexcept { return root_count_; }
  /// Peer chains verified so far and remembered (inbound, outbound).
  std::size_t verified_chains() const { return inbound_chains_.size() + outbound_chains_.size(); }

 private:
  ssl_ctx_ptr server_;
  ssl_ctx_ptr client_;
  std::string trust_domain_;
  inbound_peers admitted_;
  std::string serial_;
  std::string identity_;
  system_time not_before_{};
  system_time not_after_{};
  std::size_t root_count_ = 0;
  verified_chain_cache inbound_chains_;   // client certificates (the server context's)
  verified_chain_cache outbound_chains_;  // server certificates (the client context's)
};

std::string_view to_string(peer_refusal r) noexcept;

}  // namespace meshgate::sidecar
