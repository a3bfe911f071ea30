#pragma once
// Federation (DESIGN.md §2.8): what a server does to be one datacenter among several.
//
// Every server publishes its own federation state (federation_state.h) — its address and
// healthy mesh gateways — whenever it changes. The primary keeps every datacenter's; a
// secondary sends its own to the primary and follows the primary with blocking queries
// for two things: the federation states of all datacenters, and every config entry
// (config writes sent to a secondary are forwarded to the primary, and answered once the
// secondary has the result, so a client reads its own write). Reads with `?dc=` naming
// another datacenter are forwarded to that datacenter's server.
//
// When the primary is away a secondary keeps what it has (stored durably like everything
// else), answers from it, and catches up when the primary returns.

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <optional>
#include <string>

#include "server/api.h"
#include "server/server_context.h"

namespace meshgate::server {

class federation {
 public:
  /// `primary_address` is empty on the primary. `advertise_address` is where the other
  /// datacenters reach this server.
  federation(server_context& ctx, std::string primary_address, std::string advertise_address);

  bool is_primary() const { return primary_address_.empty(); }
  const std::string& primary_address() const { return primary_address_; }

  /// Keeps this datacenter's state published (locally, and to the primary from a secondary).
  boost::asio::awaitable<void> publish_local_state();
  /// Secondary: follows the primary's federation states.
  boost::asio::awaitable<void> replicate_states();
  /// Secondary: follows the primary's config entries.
  boost::asio::awaitable<void> replicate_config();
  /// Every server: for each upstream of a local proxy that names another datacenter,
  /// follows that datacenter's healthy sidecars of the service (what mode none dials).
  boost::asio::awaitable<void> follow_remote_sidecars();

  /// A request whose `?dc=` names another datacenter: its server's answer (500 "No path to
  /// datacenter" when it is not known). nullopt for a local request.
  boost::asio::awaitable<std::optional<api_response>> forward_if_remote(const api_request& request);
  /// Secondary: sends a config write to the primary and answers once it is replicated here
  /// (or after 5 s, answering the primary's result all the same).
  boost::asio::awaitable<api_response> forward_config_write(const api_request& request);

 private:
  std::uint64_t replicated_config_index() const;
  boost::asio::awaitable<void> follow_one_remote(std::string datacenter, std::string service,
                                                 std::shared_ptr<bool> stop);

  server_context& ctx_;
  std::string primary_address_;
  std::string advertise_address_;
};

/// The HTTP endpoints servers use among themselves:
///   GET /v1/meshgate/federation/states          every datacenter's state (blocking)
///   PUT /v1/meshgate/federation/state           a secondary's own (primary only)
///   GET /v1/meshgate/federation/config-entries  every config entry (blocking; what
///                                               secondaries replicate)
void add_federation_endpoints(router& routes, server_context& ctx);

}  // namespace meshgate::server
