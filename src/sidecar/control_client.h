#pragma once
// Feeds a sidecar from the meshgate server: watches the proxy's configuration with a
// blocking query, and keeps a certificate for it — its own key, a CSR signed by the CA
// (the key never leaves the process), renewed per the renewal rule and at once when the
// active root changes.
//
// When the server goes away the sidecar keeps its last configuration and certificate and
// this client retries with backoff; when the server returns, everything picks up again.
// Both loops run as coroutines on one thread of their own, so stopping cancels a long poll
// at once rather than waiting for it to end.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/api_client.h"
#include "proxycfg/proxy_snapshot.h"
#include "sidecar/certificate_schedule.h"
#include "sidecar/sidecar.h"

namespace meshgate::sidecar {

struct control_options {
  std::string http_address;  // the server's
  std::string token;
  std::string proxy_id;
  /// How long one blocking query may wait for a change.
  std::chrono::milliseconds wait{std::chrono::minutes(5)};
  /// Retries after a failure start at the first and double up to the second.
  std::chrono::milliseconds backoff_min{500};
  std::chrono::milliseconds backoff_max{std::chrono::seconds(30)};
  inbound_peers admitted = inbound_peers::service_identity;
};

/// Finds the proxy registered as the sidecar for `service_id` (Consul's -sidecar-for):
/// a connect-proxy whose Proxy.DestinationServiceID is it (or, lacking one, whose
/// DestinationServiceName is). Throws std::runtime_error saying what it found instead, or
/// api::unreachable.
std::string find_sidecar_for(const api::api_client& server, const std::string& service_id);

class control_client {
 public:
  control_client(control_options options, sidecar& target);
  control_client(const control_client&) = delete;
  control_client& operator=(const control_client&) = delete;
  ~control_client();

  void start();
  void stop();

 private:
  /// What the certificate needs from the configuration.
  struct ca_view {
    std::string trust_domain;
    std::string active_root_id;
    std::vector<std::string> roots;
    std::string service;   // the destination service (the leaf's name)
    std::string identity;  // its SPIFFE ID (the leaf's URI SAN)
    bool operator==(const ca_view&) const = default;
  };

  boost::asio::awaitable<void> watch_configuration();
  boost::asio::awaitable<void> keep_certificate();
  boost::asio::awaitable<void> sleep(std::chrono::milliseconds d);
  std::chrono::milliseconds next_backoff(std::chrono::milliseconds& current);
  void publish_status();
  void note_server(bool reachable, const std::string& error);

  control_options options_;
  sidecar& target_;
  api::api_client server_;
  boost::asio::io_context io_{1};
  boost::asio::steady_timer certificate_wake_{io_};  // cancelled when the CA view changes
  // Owned by the io_ thread.
  std::optional<ca_view> ca_;
  std::uint64_t config_index_ = 0;
  std::optional<certificate_schedule> schedule_;
  std::string chain_pem_;
  std::string key_pem_;
  std::optional<ca_view> certificate_view_;  // what the current certificate was made for
  bool server_reachable_ = true;
  std::string last_error_;
  std::thread thread_;
};

}  // namespace meshgate::sidecar
