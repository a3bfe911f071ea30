#pragma once
// The catalog as the server stores it: which tables and topics a service, a check or a
// config entry lives in, the transactions that change them, and the JSON reads answer with.

#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <vector>

#include "catalog/check.h"
#include "catalog/service.h"
#include "mesh/names.h"
#include "store/record_store.h"

namespace meshgate::server {

inline constexpr std::string_view services_table = "services";
inline constexpr std::string_view checks_table = "checks";
inline constexpr std::string_view config_table = "config";
inline constexpr std::string_view node_table = "node";

/// Secondary indexes: services by name and by the service they are a proxy for (connect),
/// checks by service ID. Declared to the store, which keeps them current.
inline constexpr std::string_view services_by_name = "services.name";
inline constexpr std::string_view services_by_connect = "services.connect";
inline constexpr std::string_view services_by_kind = "services.kind";  // proxies and gateways
inline constexpr std::string_view checks_by_service = "checks.service";
std::vector<store::index_definition> catalog_indexes();

/// Topics: what a blocking query waits for.
inline const std::string services_topic = "services";  // the list of services changed
inline const std::string checks_topic = "checks";
inline const std::string gateways_topic = "kind:mesh-gateway";  // mesh gateways or their checks
std::string service_topic(std::string_view name);  // instances of `name` or their checks
std::string connect_topic(std::string_view name);  // proxies for `name` or their checks
std::string config_topic(std::string_view kind);
std::string config_entry_topic(std::string_view kind, std::string_view name);

/// The server's own node: every registration made through it lives on it.
struct node_info {
  std::string id;    // a UUID made on first start
  std::string name;
  std::string address;
  std::string datacenter;
  boost::json::object to_json(std::uint64_t create_index, std::uint64_t modify_index) const;
};

/// A stored record's JSON with its CreateIndex and ModifyIndex added.
boost::json::object with_indexes(const store::record& r);

/// Registering `r` (replacing any registration with the same ID and the checks it had).
store::transaction register_transaction(const store::state_view& state, const catalog::registration& r,
                                        const node_info& node);
/// Deregistering `service_id` with its checks; nullopt if no such service.
std::optional<store::transaction> deregister_transaction(const store::state_view& state,
                                                         std::string_view service_id);
/// A new status and output for a check; nullopt if nothing would change.
std::optional<store::transaction> check_update_transaction(const store::state_view& state,
                                                           std::string_view check_id,
                                                           catalog::check_status status,
                                                           const std::string& output);

/// Topics a service's changes touch (its name, and for proxies the service they front).
std::vector<std::string> topics_of_service(const boost::json::value& stored_service);

/// Every check of a service, as stored.
std::vector<const store::record*> checks_of(const store::state_view& state, std::string_view service_id);
/// The worst status among `checks` (passing if none).
catalog::check_status aggregate_status(const std::vector<const store::record*>& checks);
/// Whether every check of a service passes (true if it has none).
bool all_checks_pass(const store::state_view& state, std::string_view service_id);

/// Where an instance listens (DESIGN.md §2.3's inputs). A gateway's LAN address is its
/// tagged "lan" when it has one.
mesh::instance_addresses addresses_of(const catalog::service& s, const node_info& node);

}  // namespace meshgate::server
