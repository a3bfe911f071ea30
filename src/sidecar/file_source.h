#pragma once
// A sidecar fed by a file instead of the server (`meshgate proxy -config-file`): for
// benchmarks against other proxies, and for running the data plane with certificates
// from another CA. The file holds the server's snapshot shape under "proxy", and where
// the certificate, its key and the trusted roots are:
//
//   {"proxy": {"trust_domain": "bench.internal",
//              "sidecar": {"inbound": {...}, "upstreams": [...]}},
//    "certificate": {"cert_file": "server.pem", "key_file": "server.key",
//                    "roots_file": "root.pem"},
//    "admit": "trust-domain"}
//
// Relative paths are relative to the file. SIGHUP re-reads everything.

#include <filesystem>
#include <memory>

#include "proxycfg/proxy_snapshot.h"
#include "sidecar/tls_context.h"

namespace meshgate::sidecar {

struct file_config {
  proxycfg::proxy_snapshot snapshot;
  std::shared_ptr<const tls_context> tls;
};

/// Reads and checks the file and the files it names. Throws std::runtime_error whose
/// message starts with the path and names the field or file at fault.
file_config load_file_config(const std::filesystem::path& path);

}  // namespace meshgate::sidecar
