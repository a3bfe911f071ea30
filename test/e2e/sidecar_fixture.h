#pragma once
// Real `meshgate proxy` processes fed by a real server, and the real programs around them:
// python3's http.server as the local service, openssl s_client/s_server as foreign peers.

#include <boost/json/value.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "support/process.h"

namespace meshgate::test {

/// A port nobody listens on right now, for addresses that must be known before the process
/// that binds them starts (a sidecar listens where its registration says). The system picks
/// it, so a collision needs another process to be handed the same port in between.
std::uint16_t unused_port();

/// Waits until `process` (a proxy or gateway started with -admin-addr-file `admin_file`)
/// answers 200 on /ready; its admin address. Throws, with the process's stderr, if it
/// exits or is not ready within `timeout`.
std::string wait_until_ready(child_process& process, const std::filesystem::path& admin_file, const std::string& what,
                             std::chrono::milliseconds timeout = std::chrono::seconds(20));

/// `meshgate proxy -sidecar-for <service>` against `server_address`; waits until /ready.
class proxy_process {
 public:
  proxy_process(const temp_dir& dir, const std::string& server_address, const std::string& service,
                std::vector<std::string> flags = {});
  const std::string& admin_address() const { return admin_; }
  child_process& process() { return *process_; }
  /// GET on the admin endpoint, parsed; throws if it does not answer 200.
  boost::json::value admin_json(const std::string& path) const;
  /// One counter of /stats: `listener` is "inbound" or an upstream's name.
  std::uint64_t counter(const std::string& listener, const std::string& name) const;
  std::uint64_t closed(const std::string& listener, const std::string& reason) const;
  std::string serial() const;

 private:
  std::unique_ptr<child_process> process_;
  std::string admin_;
};

/// `python3 -m http.server` on 127.0.0.1 (any free port) serving `root`.
class http_file_server {
 public:
  http_file_server(const temp_dir& dir, const std::filesystem::path& root);
  std::uint16_t port() const noexcept { return port_; }

 private:
  std::unique_ptr<child_process> process_;
  std::uint16_t port_ = 0;
};

/// One `openssl s_client` call: connects to `address` with SNI `server_name`, trusting
/// `roots_file`, presenting `cert_file`/`key_file` if given, sends `request` and prints
/// what comes back until the peer closes. Its whole stdout, or "" if it did not finish.
struct s_client_call {
  std::string address;
  std::string server_name;
  std::filesystem::path roots_file;
  std::filesystem::path cert_file;  // empty: no client certificate
  std::filesystem::path key_file;
  std::string request;
  /// Non-empty: the peer will not close (an echo service); stop once this came back.
  std::string until_seen = {};
};
std::string run_s_client(const temp_dir& dir, const s_client_call& call);

/// The serial (as x509::serial_of spells it) of the first certificate in `text`.
std::string first_certificate_serial(const std::string& text);

}  // namespace meshgate::test
