#include "x509/peer_verifier.h"

#include "x509/pem.h"

namespace meshgate::x509 {

trust_bundle::trust_bundle(const std::vector<std::string>& root_pems) : store_(X509_STORE_new()) {
  for (const auto& pem : root_pems) {
    for (auto& cert : certificates_from_pem(pem)) {
      if (X509_STORE_add_cert(store_.get(), cert.get()) != 1) {
        throw crypto_error(openssl_error("adding a trusted root"));
      }
      ++count_;
    }
  }
  if (count_ == 0) throw crypto_error("no trusted root given");
}

std::vector<std::string> uri_sans(X509* cert) {
  std::vector<std::string> out;
  general_names_ptr names(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type != GEN_URI) continue;
    const auto* uri = name->d.uniformResourceIdentifier;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                     static_cast<std::size_t>(ASN1_STRING_length(uri)));
  }
  return out;
}

std::optional<spiffe_id> spiffe_id_of(X509* cert) {
  const auto uris = uri_sans(cert);
  if (uris.size() != 1) return std::nullopt;
  return parse_spiffe_id(uris.front());
}

verify_result verify_chain(const trust_bundle& roots, X509* leaf, const std::vector<X509*>& intermediates,
                           peer_role role, std::time_t now) {
  if (leaf == nullptr) return {false, "no certificate"};
  cert_stack_ptr chain(sk_X509_new_null());
  for (X509* c : intermediates) {
    X509_up_ref(c);
    sk_X509_push(chain.get(), c);
  }
  store_ctx_ptr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), roots.store(), leaf, chain.get()) != 1) {
    return {false, openssl_error("cannot set up verification")};
  }
  X509_STORE_CTX_set_time(ctx.get(), 0, now);
  // The purpose checks the extended key usage of the leaf (and of the CAs, if they say).
  X509_STORE_CTX_set_purpose(ctx.get(), role == peer_role::server ? X509_PURPOSE_SSL_SERVER : X509_PURPOSE_SSL_CLIENT);
  if (X509_verify_cert(ctx.get()) != 1) {
    return {false, std::string("certificate chain: ") +
                       X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()))};
  }
  return {true, {}};
}

verify_result verify_peer(const trust_bundle& roots, X509* leaf, const std::vector<X509*>& intermediates,
                          const spiffe_id& expected, peer_role role, std::time_t now) {
  auto result = verify_chain(roots, leaf, intermediates, role, now);
  if (!result.ok) return result;
  const auto uris = uri_sans(leaf);
  if (uris.size() != 1) {
    return {false, "identity: the certificate has " + std::to_string(uris.size()) + " URI SANs, not one"};
  }
  // Compared as written, byte for byte: no normalisation an attacker could play with.
  if (uris.front() != expected.to_string()) {
    return {false, "identity: " + uris.front() + " is not the expected " + expected.to_string()};
  }
  return {true, {}};
}

}  // namespace meshgate::x509
