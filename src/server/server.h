#pragma once
// The server process: the store, the HTTP API, the health checks, signals.

#include <filesystem>
#include <optional>
#include <string>

#include "net/endpoint.h"

namespace meshgate::server {

struct server_options {
  std::string datacenter = "dc1";
  std::string primary_datacenter;  // "": the same as datacenter
  std::filesystem::path data_dir;  // required
  net::tcp_endpoint http_endpoint{boost::asio::ip::make_address("127.0.0.1"), 8500};
  std::string node_name;           // "": the host name
  std::size_t threads = 0;         // 0: one per usable CPU
  std::string http_address_file;   // the API's actual IP:PORT is written here once it listens
  std::string primary_address;     // a secondary: the primary server's HTTP API (host:port)
  std::string advertise_wan;       // the IP other datacenters reach this server on ("": the one it listens on)
};

/// Reads a JSON config file into `options` (Consul's names: datacenter,
/// primary_datacenter, data_dir, node_name, addresses.http / ports.http, and http_addr,
/// primary_addr).
/// Throws catalog::invalid_input naming the field.
void load_server_config_file(const std::filesystem::path& file, server_options& options);

/// Runs a server until SIGINT or SIGTERM; returns the exit code. Throws on a start-up
/// failure (store_error, system_error for the address) with a message that says what.
int run_server(server_options options);

}  // namespace meshgate::server
