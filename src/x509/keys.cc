#include "x509/keys.h"

#include <openssl/err.h>

namespace meshgate::x509 {

namespace {

void check(int ok, const char* what) {
  if (ok != 1) throw crypto_error(openssl_error(what));
}

void set_name(X509_NAME* name, const std::string& common_name) {
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0),
        "setting a name");
}

}  // namespace

pkey_ptr make_key() {
  pkey_ptr key(EVP_EC_gen("P-256"));
  if (!key) throw crypto_error(openssl_error("generating an EC P-256 key"));
  return key;
}

csr_ptr make_csr(EVP_PKEY* key, const std::string& common_name, const std::string& uri_san,
                       const std::string& dns_san, bool is_ca) {
  csr_ptr csr(X509_REQ_new());
  check(X509_REQ_set_version(csr.get(), 0), "setting the CSR version");
  set_name(X509_REQ_get_subject_name(csr.get()), common_name);
  check(X509_REQ_set_pubkey(csr.get(), key), "setting the CSR key");
  extensions_ptr exts(sk_X509_EXTENSION_new_null());
  auto add = [&](int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, nullptr, nullptr, csr.get(), nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (ext == nullptr) throw crypto_error(openssl_error("making CSR extension " + value));
    sk_X509_EXTENSION_push(exts.get(), ext);
  };
  std::string san = "URI:" + uri_san;
  if (!dns_san.empty()) san += ",DNS:" + dns_san;
  add(NID_subject_alt_name, san);
  if (is_ca) add(NID_basic_constraints, "critical,CA:TRUE");
  check(X509_REQ_add_extensions(csr.get(), exts.get()), "adding CSR extensions");
  if (X509_REQ_sign(csr.get(), key, EVP_sha256()) <= 0) throw crypto_error(openssl_error("signing the CSR"));
  return csr;
}

}  // namespace meshgate::x509
