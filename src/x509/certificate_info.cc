#include "x509/certificate_info.h"

#include <openssl/asn1.h>

#include <cstdio>
#include <ctime>
#include <vector>

namespace meshgate::x509 {

namespace {

std::string hex(const unsigned char* data, std::size_t n) {
  std::string out;
  char byte[4];
  for (std::size_t i = 0; i < n; ++i) {
    std::snprintf(byte, sizeof byte, i == 0 ? "%02x" : ":%02x", data[i]);
    out += byte;
  }
  return out;
}

system_time to_system_time(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return {};
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

}  // namespace

std::string serial_of(X509* cert) {
  bignum_ptr bn(ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr));
  std::vector<unsigned char> bytes(static_cast<std::size_t>(BN_num_bytes(bn.get())));
  BN_bn2bin(bn.get(), bytes.data());
  return hex(bytes.data(), bytes.size());
}

std::string fingerprint_of(X509* cert) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(cert, EVP_sha256(), digest, &n) != 1) throw crypto_error(openssl_error("fingerprint"));
  return hex(digest, n);
}

system_time not_before_of(X509* cert) { return to_system_time(X509_get0_notBefore(cert)); }
system_time not_after_of(X509* cert) { return to_system_time(X509_get0_notAfter(cert)); }

}  // namespace meshgate::x509
