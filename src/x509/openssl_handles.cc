#include "x509/openssl_handles.h"

#include <openssl/err.h>

namespace meshgate::x509 {

std::string openssl_error(const std::string& what) {
  std::string out = what;
  bool first = true;
  while (const unsigned long e = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(e, buffer, sizeof buffer);
    out += first ? ": " : "; ";
    out += buffer;
    first = false;
  }
  return out;
}

cert_ptr share(X509* cert) {
  X509_up_ref(cert);
  return cert_ptr(cert);
}

}  // namespace meshgate::x509
