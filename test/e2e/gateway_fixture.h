#pragma once
// A real `meshgate gateway` process for end-to-end tests, and the real TLS peers around
// it: certificates made by `openssl req`, backends run by `openssl s_server`.

#include <boost/json/value.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "support/process.h"

namespace meshgate::test {

/// A CA and leaf certificates for the names the tests route, made once per test binary.
struct test_pki {
  static const test_pki& get();
  std::filesystem::path ca;
  /// Leaf certificate and key files for `name` (one of the names below).
  std::filesystem::path cert(const std::string& name) const;
  std::filesystem::path key(const std::string& name) const;
  std::filesystem::path dir;
};

inline const std::string api_sni = "api.default.dc1.internal.example.consul";
inline const std::string web_sni = "web.default.dc1.internal.example.consul";
inline const std::string dc2_name = "db.default.dc2.internal.example.consul";  // via *.dc2...

/// `openssl s_server -www` with the leaf certificate of `name`.
class tls_backend {
 public:
  tls_backend(const temp_dir& dir, const std::string& name);
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  std::unique_ptr<child_process> process_;
  std::uint16_t port_ = 0;
};

class gateway_process {
 public:
  /// Writes `routes_json` to the directory, starts the gateway with `-workers 1` unless
  /// `flags` say otherwise, and waits until its admin endpoint reports ready.
  gateway_process(const temp_dir& dir, const std::string& routes_json,
                  std::vector<std::string> flags = {});

  std::string admin() const { return admin_; }
  /// The address of the listener called `name`, as bound.
  std::string listener(const std::string& name = "wan") const;
  boost::json::value stats() const;
  std::uint64_t closed(const std::string& reason) const;
  std::uint64_t route_stat(const std::string& route, const std::string& field) const;
  std::int64_t active() const;
  /// Rewrites the routes file and sends SIGHUP; returns once the reload was counted.
  void reload(const std::string& routes_json);
  child_process& process() { return *process_; }
  const std::filesystem::path& routes_file() const { return routes_file_; }

 private:
  std::filesystem::path routes_file_;
  std::unique_ptr<child_process> process_;
  std::string admin_;
};

/// A routes document with one listener "wan" on 127.0.0.1 port 0, and `routes` given as
/// (sni, cluster) pairs and `clusters` as (name, endpoints).
std::string routes_json(const std::vector<std::pair<std::string, std::string>>& routes,
                        const std::vector<std::pair<std::string, std::vector<std::string>>>& clusters,
                        int connect_timeout_ms = 2000);

/// Runs curl against `name` through `gateway_address`, trusting only the test CA; returns
/// curl's exit code and writes the body to <dir>/<tag>.out.
int curl_through(const temp_dir& dir, const std::string& tag, const std::string& name,
                 const std::string& gateway_address);

}  // namespace meshgate::test
