#include "x509/pem.h"

#include <openssl/err.h>
#include <openssl/pem.h>

namespace meshgate::x509 {

namespace {

bio_ptr memory_in(std::string_view pem) {
  return bio_ptr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

std::string drain(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace

std::string to_pem(X509* cert) {
  bio_ptr out(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(out.get(), cert) != 1) throw crypto_error(openssl_error("writing a certificate"));
  return drain(out.get());
}

std::string to_pem(X509_REQ* csr) {
  bio_ptr out(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509_REQ(out.get(), csr) != 1) throw crypto_error(openssl_error("writing a CSR"));
  return drain(out.get());
}

std::string private_key_to_pem(EVP_PKEY* key) {
  bio_ptr out(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(out.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    throw crypto_error(openssl_error("writing a private key"));
  }
  return drain(out.get());
}

std::vector<cert_ptr> certificates_from_pem(std::string_view pem) {
  auto in = memory_in(pem);
  std::vector<cert_ptr> out;
  while (X509* cert = PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr)) out.emplace_back(cert);
  // The loop ends on "no more PEM" (expected) or on a broken block (an error).
  const auto last = ERR_peek_last_error();
  if (ERR_GET_REASON(last) == PEM_R_NO_START_LINE) ERR_clear_error();
  if (ERR_peek_error() != 0) throw crypto_error(openssl_error("reading certificates"));
  if (out.empty()) throw crypto_error("no PEM certificate found");
  return out;
}

cert_ptr certificate_from_pem(std::string_view pem) { return std::move(certificates_from_pem(pem).front()); }

csr_ptr csr_from_pem(std::string_view pem) {
  auto in = memory_in(pem);
  csr_ptr csr(PEM_read_bio_X509_REQ(in.get(), nullptr, nullptr, nullptr));
  if (!csr) throw crypto_error(openssl_error("not a PEM certificate signing request"));
  return csr;
}

pkey_ptr private_key_from_pem(std::string_view pem) {
  auto in = memory_in(pem);
  pkey_ptr key(PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr));
  if (!key) throw crypto_error(openssl_error("not a PEM private key"));
  return key;
}

}  // namespace meshgate::x509
