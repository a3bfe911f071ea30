#pragma once
// Federation states (Consul's name; DESIGN.md §2.8): one record per datacenter saying where
// its server answers and where its healthy mesh gateways listen. Each datacenter computes
// its own; a secondary sends it to the primary, which holds every datacenter's, and every
// secondary copies them back from the primary. That is how a datacenter learns the others:
// for forwarding `?dc=` reads, for listing datacenters, and for routing to their gateways.
//
//   {"Datacenter": "dc2", "ServerAddress": "10.2.0.5:8500", "PrimaryDatacenter": "dc1",
//    "MeshGateways": [{"ID": "mesh-gateway", "LAN": "10.2.0.10:8443", "WAN": "192.0.2.2:8443"}]}

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <vector>

#include "catalog/filter_expression.h"
#include "mesh/upstream_resolution.h"
#include "server/federation_records.h"
#include "server/catalog_state.h"

namespace meshgate::server {

inline constexpr std::string_view federation_table = "federation";
inline const std::string federation_topic = "federation";

/// This datacenter's state as it is now: healthy mesh gateways only.
boost::json::object local_federation_state(const store::state_view& state, const node_info& node,
                                           const std::string& primary_datacenter, const std::string& server_address);

/// Where `datacenter`'s server answers, if it is known.
std::optional<std::string> server_address_of(const store::state_view& state, const std::string& datacenter);

/// Every datacenter known: this one first, then the others by name.
std::vector<std::string> known_datacenters(const store::state_view& state, const std::string& local);

/// `datacenter`'s gateways as the resolver sees candidates (all of them healthy: only
/// healthy gateways are published). Empty if the datacenter is unknown.
std::vector<mesh::candidate> remote_gateways(const store::state_view& state, const std::string& datacenter);

/// Another datacenter's healthy sidecars of one service, as its server last said (kept by
/// federation::follow_remote_sidecars for every upstream that names another datacenter;
/// what mode `none` dials). Key "<dc>/<service>".
inline constexpr std::string_view remote_sidecars_table = "remote_sidecars";
std::string remote_sidecars_topic(std::string_view datacenter, std::string_view service);
/// Those sidecars as the resolver sees candidates, only those `filter` selects when it is
/// set; empty when unknown.
std::vector<mesh::candidate> remote_sidecars(const store::state_view& state, const std::string& datacenter,
                                             const std::string& service,
                                             const catalog::filter_expression* filter = nullptr);
/// Writes `state` for its datacenter if it differs from what is stored.
std::optional<store::transaction> federation_state_update(const store::state_view& state,
                                                          const boost::json::object& fed_state);

}  // namespace meshgate::server
