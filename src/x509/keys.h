#pragma once
// Keys and certificate signing requests: what a proxy makes for itself so that its private
// key never leaves it, and what the CA makes for its own roots and intermediates.

#include <string>

#include "x509/openssl_handles.h"

namespace meshgate::x509 {

/// A new EC P-256 key.
pkey_ptr make_key();

/// A CSR for `key` with one URI SAN (and a DNS SAN if given); `is_ca` asks for CA rights.
csr_ptr make_csr(EVP_PKEY* key, const std::string& common_name, const std::string& uri_san,
                 const std::string& dns_san, bool is_ca);

}  // namespace meshgate::x509
