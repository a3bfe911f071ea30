#pragma once
// Every OpenSSL handle the project holds is owned by one of these (STYLE.md rule 7).

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace meshgate::x509 {

inline void free_cert_stack(STACK_OF(X509)* s) noexcept { sk_X509_pop_free(s, X509_free); }
inline void free_extension_stack(STACK_OF(X509_EXTENSION)* s) noexcept {
  sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
}

template <auto free_fn>
struct openssl_deleter {
  template <class T>
  void operator()(T* p) const noexcept {
    free_fn(p);
  }
};

using pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_deleter<EVP_PKEY_free>>;
using pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, openssl_deleter<EVP_PKEY_CTX_free>>;
using cert_ptr = std::unique_ptr<X509, openssl_deleter<X509_free>>;
using csr_ptr = std::unique_ptr<X509_REQ, openssl_deleter<X509_REQ_free>>;
using bio_ptr = std::unique_ptr<BIO, openssl_deleter<BIO_free_all>>;
using store_ptr = std::unique_ptr<X509_STORE, openssl_deleter<X509_STORE_free>>;
using store_ctx_ptr = std::unique_ptr<X509_STORE_CTX, openssl_deleter<X509_STORE_CTX_free>>;
using cert_stack_ptr = std::unique_ptr<STACK_OF(X509), openssl_deleter<free_cert_stack>>;
using extensions_ptr = std::unique_ptr<STACK_OF(X509_EXTENSION), openssl_deleter<free_extension_stack>>;
using general_names_ptr = std::unique_ptr<GENERAL_NAMES, openssl_deleter<GENERAL_NAMES_free>>;
using bignum_ptr = std::unique_ptr<BIGNUM, openssl_deleter<BN_free>>;

/// What OpenSSL said went wrong (its error queue, emptied), after `what`.
std::string openssl_error(const std::string& what);

/// Certificates, keys or requests that cannot be used; what() says which and why.
class crypto_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Takes a new reference to `cert` (X509_up_ref) for a second owner.
cert_ptr share(X509* cert);

}  // namespace meshgate::x509
