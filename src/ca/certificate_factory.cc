#include "ca/certificate_factory.h"

#include "x509/pem.h"

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/rand.h>

#include <cstdio>
#include <ctime>
#include <vector>

namespace meshgate::ca {

using x509::crypto_error;
using x509::openssl_error;

namespace {

void check(int ok, const char* what) {
  if (ok != 1) throw crypto_error(openssl_error(what));
}

void set_validity(X509* cert, system_time from, system_time until) {
  if (!ASN1_TIME_set(X509_getm_notBefore(cert), std::chrono::system_clock::to_time_t(from)) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert), std::chrono::system_clock::to_time_t(until))) {
    throw crypto_error(openssl_error("setting validity"));
  }
}

void set_random_serial(X509* cert) {
  unsigned char bytes[16];
  check(RAND_bytes(bytes, sizeof bytes), "random serial");
  bytes[0] &= 0x7f;  // positive
  bytes[0] |= 0x01;  // and never shorter than 128 bits, never zero
  x509::bignum_ptr bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert))) {
    throw crypto_error(openssl_error("setting the serial"));
  }
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) throw crypto_error(openssl_error("making extension " + value));
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  check(ok, "adding an extension");
}

void set_name(X509_NAME* name, const std::string& common_name) {
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0),
        "setting a name");
}

x509::cert_ptr new_certificate() {
  x509::cert_ptr cert(X509_new());
  if (!cert) throw crypto_error(openssl_error("allocating a certificate"));
  check(X509_set_version(cert.get(), 2), "setting the version");  // v3
  set_random_serial(cert.get());
  return cert;
}

void sign(X509* cert, EVP_PKEY* key) {
  if (X509_sign(cert, key, EVP_sha256()) <= 0) throw crypto_error(openssl_error("signing"));
}

/// Copies the CSR's public key into the certificate as the encoded bytes it already is.
/// X509_set_pubkey would re-encode the key through OpenSSL 3's encoder machinery, which
/// measured as more than half the cost of signing a leaf.
void copy_public_key(X509* cert, X509_REQ* csr) {
  X509_PUBKEY* from = X509_REQ_get_X509_PUBKEY(csr);
  ASN1_OBJECT* algorithm = nullptr;
  const unsigned char* bytes = nullptr;
  int length = 0;
  X509_ALGOR* algor = nullptr;
  if (from == nullptr || X509_PUBKEY_get0_param(&algorithm, &bytes, &length, &algor, from) != 1) {
    throw crypto_error(openssl_error("reading the CSR's public key"));
  }
  int parameter_type = V_ASN1_UNDEF;
  const void* parameter = nullptr;
  X509_ALGOR_get0(nullptr, &parameter_type, &parameter, algor);
  void* parameter_copy = nullptr;
  if (parameter_type == V_ASN1_OBJECT) {
    parameter_copy = OBJ_dup(static_cast<const ASN1_OBJECT*>(parameter));
  } else if (parameter_type == V_ASN1_SEQUENCE) {
    parameter_copy = ASN1_STRING_dup(static_cast<const ASN1_STRING*>(parameter));
  }
  auto* key_bytes = static_cast<unsigned char*>(OPENSSL_memdup(bytes, static_cast<std::size_t>(length)));
  if (X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(cert), OBJ_dup(algorithm), parameter_type, parameter_copy, key_bytes,
                             length) != 1) {
    throw crypto_error(openssl_error("setting the public key"));
  }
}

bool is_p256(EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return false;
  char curve[64] = {};
  std::size_t length = 0;
  return EVP_PKEY_get_utf8_string_param(key, "group", curve, sizeof curve, &length) == 1 &&
         std::string_view(curve, length) == "prime256v1";
}

/// Checks a CSR the way every signing does: self-signature, EC P-256 key, no CA rights,
/// exactly one URI SAN equal to `expected_uri`. Returns the CSR's public key.
x509::pkey_ptr check_csr(X509_REQ* csr, const std::string& expected_uri, bool may_be_ca) {
  x509::pkey_ptr key(X509_REQ_get_pubkey(csr));
  if (!key) throw signing_refused("the CSR has no public key");
  if (X509_REQ_verify(csr, key.get()) != 1) {
    ERR_clear_error();
    throw signing_refused("the CSR's signature does not verify against its own key");
  }
  if (!is_p256(key.get())) throw signing_refused("the CSR's key is not an EC P-256 key");
  std::vector<std::string> uris;
  bool asks_ca = false;
  x509::extensions_ptr exts(X509_REQ_get_extensions(csr));
  for (int i = 0; exts && i < sk_X509_EXTENSION_num(exts.get()); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts.get(), i);
    const int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
    if (nid == NID_basic_constraints) {
      auto* bc = static_cast<BASIC_CONSTRAINTS*>(X509V3_EXT_d2i(ext));
      if (bc && bc->ca) asks_ca = true;
      BASIC_CONSTRAINTS_free(bc);
    } else if (nid == NID_subject_alt_name) {
      x509::general_names_ptr names(static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext)));
      for (int j = 0; names && j < sk_GENERAL_NAME_num(names.get()); ++j) {
        const GENERAL_NAME* n = sk_GENERAL_NAME_value(names.get(), j);
        if (n->type != GEN_URI) continue;
        const auto* uri = n->d.uniformResourceIdentifier;
        uris.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                          static_cast<std::size_t>(ASN1_STRING_length(uri)));
      }
    } else if (nid == NID_key_usage && !may_be_ca) {
      auto* usage = static_cast<ASN1_BIT_STRING*>(X509V3_EXT_d2i(ext));
      const bool cert_sign = usage && ASN1_BIT_STRING_get_bit(usage, 5);  // keyCertSign
      ASN1_BIT_STRING_free(usage);
      if (cert_sign) asks_ca = true;
    }
  }
  if (asks_ca && !may_be_ca) throw signing_refused("the CSR asks for CA rights (basicConstraints CA:TRUE or keyCertSign)");
  if (uris.size() != 1) {
    throw signing_refused("the CSR has " + std::to_string(uris.size()) + " URI SANs; it needs exactly one, " + expected_uri);
  }
  if (uris.front() != expected_uri) {
    throw signing_refused("the CSR's URI SAN " + uris.front() + " is not " + expected_uri);
  }
  return key;
}



}  // namespace


x509::cert_ptr make_root(EVP_PKEY* key, const std::string& trust_domain, const std::string& common_name,
                         std::chrono::seconds ttl, system_time now) {
  auto cert = new_certificate();
  set_name(X509_get_subject_name(cert.get()), common_name);
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())), "setting the issuer");
  set_validity(cert.get(), now - backdate, now + ttl);
  check(X509_set_pubkey(cert.get(), key), "setting the key");
  add_extension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(cert.get(), cert.get(), NID_key_usage, "critical,digitalSignature,keyCertSign,cRLSign");
  add_extension(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  add_extension(cert.get(), cert.get(), NID_authority_key_identifier, "keyid:always");
  add_extension(cert.get(), cert.get(), NID_subject_alt_name, "URI:" + x509::trust_domain_identity(trust_domain).to_string());
  sign(cert.get(), key);
  return cert;
}

x509::cert_ptr cross_sign(const signing_authority& old_root, X509* new_root, system_time now) {
  auto cert = new_certificate();
  check(X509_set_subject_name(cert.get(), X509_get_subject_name(new_root)), "copying the subject");
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(old_root.cert)), "setting the issuer");
  // Valid as long as both roots are: the old root's word is worth nothing past its own life.
  const auto until = std::min(not_after_of(new_root), not_after_of(old_root.cert));
  set_validity(cert.get(), now - backdate, until);
  x509::pkey_ptr key(X509_get_pubkey(new_root));
  check(X509_set_pubkey(cert.get(), key.get()), "copying the key");
  for (int nid : {NID_basic_constraints, NID_key_usage, NID_subject_key_identifier, NID_subject_alt_name}) {
    const int at = X509_get_ext_by_NID(new_root, nid, -1);
    if (at >= 0) check(X509_add_ext(cert.get(), X509_get_ext(new_root, at), -1), "copying an extension");
  }
  add_extension(cert.get(), old_root.cert, NID_authority_key_identifier, "keyid:always");
  sign(cert.get(), old_root.key);
  return cert;
}


x509::cert_ptr sign_intermediate(const signing_authority& root, X509_REQ* csr, const std::string& trust_domain,
                                 std::chrono::seconds ttl, system_time now) {
  const auto key = check_csr(csr, x509::trust_domain_identity(trust_domain).to_string(), true);
  auto cert = new_certificate();
  check(X509_set_subject_name(cert.get(), X509_REQ_get_subject_name(csr)), "copying the subject");
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(root.cert)), "setting the issuer");
  // Never beyond the root: a chain is only as valid as its shortest link.
  set_validity(cert.get(), now - backdate, std::min(now + ttl, not_after_of(root.cert)));
  check(X509_set_pubkey(cert.get(), key.get()), "setting the key");
  add_extension(cert.get(), root.cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  add_extension(cert.get(), root.cert, NID_key_usage, "critical,digitalSignature,keyCertSign,cRLSign");
  add_extension(cert.get(), root.cert, NID_subject_key_identifier, "hash");
  add_extension(cert.get(), root.cert, NID_authority_key_identifier, "keyid:always");
  add_extension(cert.get(), root.cert, NID_subject_alt_name, "URI:" + x509::trust_domain_identity(trust_domain).to_string());
  sign(cert.get(), root.key);
  return cert;
}

signed_leaf sign_leaf(const signing_authority& signer, X509_REQ* csr, const leaf_request& request, system_time now) {
  const auto key = check_csr(csr, request.identity.to_string(), false);
  auto cert = new_certificate();
  set_name(X509_get_subject_name(cert.get()), request.service);
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(signer.cert)), "setting the issuer");
  set_validity(cert.get(), now - backdate, std::min(now + request.ttl, not_after_of(signer.cert)));
  copy_public_key(cert.get(), csr);
  add_extension(cert.get(), signer.cert, NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), signer.cert, NID_key_usage, "critical,digitalSignature,keyAgreement");
  add_extension(cert.get(), signer.cert, NID_ext_key_usage, "serverAuth,clientAuth");
  add_extension(cert.get(), signer.cert, NID_subject_key_identifier, "hash");
  add_extension(cert.get(), signer.cert, NID_authority_key_identifier, "keyid:always");
  add_extension(cert.get(), signer.cert, NID_subject_alt_name,
                "URI:" + request.identity.to_string() + ",DNS:" + request.service);
  sign(cert.get(), signer.key);
  return {x509::to_pem(cert.get()), serial_of(cert.get()), not_before_of(cert.get()), not_after_of(cert.get())};
}




}  // namespace meshgate::ca
