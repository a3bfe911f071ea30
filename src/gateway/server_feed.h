#pragma once
// A gateway fed by the meshgate server instead of a routes file (DESIGN.md §3.1): it may
// register itself (Kind mesh-gateway, its LAN and WAN addresses, a TCP check on the LAN
// one), then follows its configuration — every local service's SNI to its healthy
// sidecars, every other datacenter's *.<dc>.internal.<td> to that datacenter's healthy
// gateways — through the same fetch-and-watch loop as the sidecar. New routes apply to
// new connections; when the server goes away the gateway keeps the last ones.

#include <boost/asio/io_context.hpp>
#include <optional>
#include <string>
#include <thread>

#include "api/api_client.h"
#include "gateway/gateway.h"
#include "gateway/gateway_config.h"

namespace meshgate::gateway {

struct registration {
  std::string id;           // the service ID (and the proxy ID the gateway follows)
  std::string service;      // its name, "mesh-gateway" by default
  std::string lan_address;  // IP:PORT other services of this datacenter reach it on
  std::string wan_address;  // IP:PORT other datacenters reach it on
};

/// Registers the gateway with the server (replacing an earlier registration of the same ID).
/// Throws std::runtime_error saying why the server refused, or api::unreachable.
void register_gateway(const api::api_client& server, const registration& r);

/// What a self-registering gateway starts with: its "default" listener on `lan_address`,
/// no routes yet. Throws std::runtime_error for an address that is not IP:PORT.
gateway_config listening_only(const std::string& lan_address);

/// The gateway's first configuration: asks until the server answers with one, logging
/// why not meanwhile. Throws only on an answer that can never work (not a gateway).
gateway_config fetch_first_config(const api::api_client& server, const std::string& proxy_id);

/// Follows the configuration on a thread of its own and applies every change to `target`.
class server_feed {
 public:
  server_feed(std::string http_address, std::string token, std::string proxy_id, gateway& target);
  server_feed(const server_feed&) = delete;
  server_feed& operator=(const server_feed&) = delete;
  ~server_feed();

  void start();
  void stop();

 private:
  std::string proxy_id_;
  gateway& target_;
  api::api_client server_;
  boost::asio::io_context io_{1};
  bool reachable_ = true;
  std::string last_error_;
  std::thread thread_;
};

}  // namespace meshgate::gateway
