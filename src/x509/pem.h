#pragma once
// PEM text to and from OpenSSL objects.

#include <string>
#include <string_view>
#include <vector>

#include "x509/openssl_handles.h"

namespace meshgate::x509 {

std::string to_pem(X509* cert);
std::string to_pem(X509_REQ* csr);
/// The private key in PKCS#8 PEM (unencrypted: it is stored in a file only the server reads).
std::string private_key_to_pem(EVP_PKEY* key);

/// Every certificate in `pem`, in order. Throws crypto_error if there is none or one is bad.
std::vector<cert_ptr> certificates_from_pem(std::string_view pem);
cert_ptr certificate_from_pem(std::string_view pem);
csr_ptr csr_from_pem(std::string_view pem);
pkey_ptr private_key_from_pem(std::string_view pem);

}  // namespace meshgate::x509
