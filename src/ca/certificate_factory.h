#pragma once
// Keys and certificates of the mesh CA (DESIGN.md §2.5), as pure functions of their inputs
// and the time: a fake clock tests them.

#include <chrono>
#include <stdexcept>
#include <string>

#include "x509/certificate_info.h"
#include "x509/keys.h"
#include "x509/openssl_handles.h"
#include "x509/spiffe_id.h"

namespace meshgate::ca {

using system_time = std::chrono::system_clock::time_point;

/// Leaves are backdated so that a peer whose clock is a little behind accepts them.
inline constexpr std::chrono::minutes backdate{1};

/// A CSR the signer will not sign; what() names the rule (the API answers 400).
class signing_refused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};


/// The certificate that signs, and its key.
struct signing_authority {
  X509* cert;
  EVP_PKEY* key;
};

/// A self-signed root: CA:TRUE, URI SAN spiffe://<trust_domain>, valid from now for `ttl`.
x509::cert_ptr make_root(EVP_PKEY* key, const std::string& trust_domain, const std::string& common_name,
                         std::chrono::seconds ttl, system_time now);

/// The old root vouching for the new one: `new_root`'s subject, key and SANs, issued and
/// signed by `old_root`, so that a peer trusting only the old root accepts what the new one
/// signs (with this certificate in the chain).
x509::cert_ptr cross_sign(const signing_authority& old_root, X509* new_root, system_time now);

/// Signs a secondary datacenter's intermediate: CA:TRUE, path length 0, for `ttl`. The CSR
/// must be self-signed with an EC P-256 key and carry exactly the trust domain's URI.
x509::cert_ptr sign_intermediate(const signing_authority& root, X509_REQ* csr, const std::string& trust_domain,
                                 std::chrono::seconds ttl, system_time now);

struct leaf_request {
  x509::spiffe_id identity;  // what the CSR's URI SAN must be, exactly
  std::string service;       // the DNS SAN and common name
  std::chrono::seconds ttl;
};

/// A signed leaf, encoded: signing copies the CSR's key as the bytes it already is (OpenSSL
/// 3 re-encoding it cost more than half of each signature), so the in-memory certificate is
/// only good for encoding; what comes out is its PEM and what callers want to know of it.
struct signed_leaf {
  std::string pem;
  std::string serial;
  system_time not_before;
  system_time not_after;
};

/// Signs a leaf: EC P-256, URI SAN = the identity, DNS SAN = the service name, client and
/// server auth, backdated a minute, a random 128-bit serial. Throws signing_refused when the
/// CSR's signature is bad, its key is not EC P-256, it asks for CA rights, or its URI SAN is
/// not exactly the identity of the service named in the request.
signed_leaf sign_leaf(const signing_authority& signer, X509_REQ* csr, const leaf_request& request, system_time now);

// Shared with the proxies (x509/), named here too for the CA's callers.
using x509::fingerprint_of;
using x509::make_csr;
using x509::make_key;
using x509::not_after_of;
using x509::not_before_of;
using x509::serial_of;


}  // namespace meshgate::ca
