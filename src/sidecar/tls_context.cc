#include "sidecar/tls_context.h"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "x509/certificate_info.h"
#include "x509/peer_verifier.h"
#include "x509/pem.h"

namespace meshgate::sidecar {

using x509::crypto_error;
using x509::openssl_error;

namespace {

constexpr int max_chain_depth = 4;  // leaf, intermediate, cross-signed root, root

void check(int ok, const std::string& what) {
  if (ok != 1) throw crypto_error(openssl_error(what));
}

/// Is `id` who this connection may talk to? Records the answer in `check`.
bool admit(handshake_check& check, const tls_context& context, const std::optional<x509::spiffe_id>& id) {
  if (!id) {
    check.refusal = peer_refusal::identity_mismatch;
    check.detail = "no single SPIFFE URI SAN";
    return false;
  }
  check.peer_identity = id->to_string();
  bool admitted = false;
  if (check.expected_identity != nullptr) {
    admitted = check.peer_identity == *check.expected_identity;
  } else {
    admitted = id->trust_domain == context.trust_domain() &&
               (context.admitted() == inbound_peers::trust_domain || x509::as_service_identity(*id).has_value());
  }
  if (!admitted) {
    check.refusal = peer_refusal::identity_mismatch;
    check.detail = check.peer_identity;
  }
  return admitted;
}

struct connection_view {
  handshake_check* check = nullptr;
  const tls_context* context = nullptr;
};

connection_view view_of(X509_STORE_CTX* store) {
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  if (ssl == nullptr) return {};
  return {static_cast<handshake_check*>(SSL_get_app_data(ssl)),
          static_cast<const tls_context*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)))};
}

/// Inside X509_verify_cert, once per certificate of the peer's chain, leaf last. OpenSSL has
/// checked the chain, times and key usage (`preverify`); at the leaf we check the identity.
int verify_peer(int preverify, X509_STORE_CTX* store) {
  const auto [check, context] = view_of(store);
  if (check == nullptr || context == nullptr) return 0;
  if (preverify != 1) {
    if (check->refusal == peer_refusal::none) {
      check->refusal = peer_refusal::untrusted;
      check->detail = X509_verify_cert_error_string(X509_STORE_CTX_get_error(store));
    }
    return 0;
  }
  if (X509_STORE_CTX_get_error_depth(store) != 0) return 1;
  if (!admit(*check, *context, x509::spiffe_id_of(X509_STORE_CTX_get_current_cert(store)))) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  return 1;
}

/// Replaces libssl's call to X509_verify_cert: a chain that verified before against this
/// context's store is not verified again (verified_chain_cache.h says why that is sound);
/// the identity is judged for every connection all the same.
int verify_chain(X509_STORE_CTX* store, void* arg) {
  auto* cache = static_cast<verified_chain_cache*>(arg);
  const auto [check, context] = view_of(store);
  if (check == nullptr || context == nullptr) return 0;
  const auto key = verified_chain_cache::key_of(X509_STORE_CTX_get0_untrusted(store));
  if (key) {
    if (const auto identity = cache->find(*key, std::time(nullptr))) {
      if (admit(*check, *context, x509::parse_spiffe_id(*identity))) return 1;
      X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
      return 0;
    }
  }
  const int ok = X509_verify_cert(store);
  if (ok == 1 && key && check->refusal == peer_refusal::none) {
    cache->remember(*key, X509_STORE_CTX_get0_chain(store), check->peer_identity);
  }
  return ok;
}

/// Settings both sides share: TLS 1.2 and up, no session resumption (no tickets, no cache:
/// every connection proves who it is, and a renewal takes effect at once), no
/// renegotiation, and a peer that closes without close_notify is an end of stream rather
/// than an error (many clients do that).
ssl_ctx_ptr make_context(const SSL_METHOD* method) {
  ssl_ctx_ptr ctx(SSL_CTX_new(method));
  if (!ctx) throw crypto_error(openssl_error("making a TLS context"));
  check(SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION), "setting the minimum TLS version");
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
                                     SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  // A relay hands SSL_write whatever its shared chunk holds; a retry may come from another.
  // NO_AUTO_CHAIN: we send the chain we were given (the leaf and any intermediate the CA
  // returned). Without it OpenSSL rebuilds our own chain from the trust store on every
  // handshake — a second X509_verify_cert per connection, a sixth of a handshake's CPU.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_NO_AUTO_CHAIN);
  SSL_CTX_set_verify_depth(ctx.get(), max_chain_depth);
  return ctx;
}

void load_identity(SSL_CTX* ctx, const std::vector<x509::cert_ptr>& chain, EVP_PKEY* key) {
  check(SSL_CTX_use_certificate(ctx, chain.front().get()), "using the certificate");
  for (std::size_t i = 1; i < chain.size(); ++i) {
    check(static_cast<int>(SSL_CTX_add1_chain_cert(ctx, chain[i].get())), "adding a chain certificate");
  }
  check(SSL_CTX_use_PrivateKey(ctx, key), "using the private key");
  check(SSL_CTX_check_private_key(ctx), "the private key does not match the certificate");
}

}  // namespace

tls_context::tls_context(const certificate_chain& leaf, const std::vector<std::string>& root_pems,
                         std::string trust_domain, inbound_peers admitted)
    : trust_domain_(std::move(trust_domain)), admitted_(admitted) {
  const auto chain = x509::certificates_from_pem(leaf.chain_pem);
  const auto key = x509::private_key_from_pem(leaf.key_pem);
  const x509::trust_bundle roots(root_pems);
  root_count_ = roots.size();
  serial_ = x509::serial_of(chain.front().get());
  not_before_ = x509::not_before_of(chain.front().get());
  not_after_ = x509::not_after_of(chain.front().get());
  if (const auto id = x509::spiffe_id_of(chain.front().get())) identity_ = id->to_string();

  server_ = make_context(TLS_server_method());
  client_ = make_context(TLS_client_method());
  for (SSL_CTX* ctx : {server_.get(), client_.get()}) {
    load_identity(ctx, chain, key.get());
    SSL_CTX_set1_cert_store(ctx, roots.store());  // a reference each: the bundle may go
    SSL_CTX_set_app_data(ctx, this);
  }
  // The server issues no tickets (TLS 1.3 would send two after every handshake).
  check(SSL_CTX_set_num_tickets(server_.get(), 0), "turning off session tickets");
  SSL_CTX_set_verify(server_.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_peer);
  SSL_CTX_set_verify(client_.get(), SSL_VERIFY_PEER, verify_peer);
  SSL_CTX_set_cert_verify_callback(server_.get(), verify_chain, &inbound_chains_);
  SSL_CTX_set_cert_verify_callback(client_.get(), verify_chain, &outbound_chains_);
}

ssl_ptr tls_context::new_inbound(handshake_check& check) const {
  ssl_ptr ssl(SSL_new(server_.get()));
  if (!ssl) throw crypto_error(openssl_error("making a TLS connection"));
  check.expected_identity = nullptr;
  SSL_set_app_data(ssl.get(), &check);
  SSL_set_accept_state(ssl.get());
  return ssl;
}

ssl_ptr tls_context::new_outbound(handshake_check& check, const std::string& server_name) const {
  ssl_ptr ssl(SSL_new(client_.get()));
  if (!ssl) throw crypto_error(openssl_error("making a TLS connection"));
  SSL_set_app_data(ssl.get(), &check);
  if (!server_name.empty() && SSL_set_tlsext_host_name(ssl.get(), server_name.c_str()) != 1) {
    throw crypto_error(openssl_error("setting the server name"));
  }
  SSL_set_connect_state(ssl.get());
  return ssl;
}

std::string_view to_string(peer_refusal r) noexcept {
  switch (r) {
    case peer_refusal::none: return "none";
    case peer_refusal::no_certificate: return "no_certificate";
    case peer_refusal::untrusted: return "untrusted";
    case peer_refusal::identity_mismatch: return "identity_mismatch";
  }
  return "unknown";
}

}  // namespace meshgate::sidecar
