#pragma once
// What operators and the API want to know of a certificate, in Consul's notation.

#include <chrono>
#include <string>

#include "x509/openssl_handles.h"

namespace meshgate::x509 {

using system_time = std::chrono::system_clock::time_point;

/// The serial in Consul's form: hex bytes joined by ':'.
std::string serial_of(X509* cert);
/// A stable ID for a certificate: the SHA-256 of its DER, hex with ':' (Consul's root IDs).
std::string fingerprint_of(X509* cert);
system_time not_before_of(X509* cert);
system_time not_after_of(X509* cert);

}  // namespace meshgate::x509
