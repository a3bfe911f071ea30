#include "server/federation_state.h"

#include <boost/json.hpp>

#include <algorithm>

#include "net/endpoint.h"

namespace meshgate::server {

namespace json = boost::json;

json::object local_federation_state(const store::state_view& state, const node_info& node,
                                    const std::string& primary_datacenter, const std::string& server_address) {
  json::array gateways;
  for (const auto* r : state.find(services_table, services_by_kind, "mesh-gateway")) {
    const auto s = catalog::service_from_json(r->value);
    if (!all_checks_pass(state, s.id)) continue;  // a failing gateway gets no traffic (better than #15703)
    const auto a = addresses_of(s, node);
    gateways.push_back(json::object{{"ID", s.id}, {"LAN", mesh::lan_endpoint(a)}, {"WAN", mesh::wan_endpoint(a)}});
  }
  return json::object{{"Datacenter", node.datacenter},
                      {"PrimaryDatacenter", primary_datacenter},
                      {"ServerAddress", server_address},
                      {"MeshGateways", std::move(gateways)}};
}

std::optional<std::string> server_address_of(const store::state_view& state, const std::string& datacenter) {
  const auto* r = state.get(federation_table, datacenter);
  if (r == nullptr || !r->value.is_object()) return std::nullopt;
  const auto* a = r->value.as_object().if_contains("ServerAddress");
  if (a == nullptr || !a->is_string()) return std::nullopt;
  return std::string(a->as_string());
}

std::vector<std::string> known_datacenters(const store::state_view& state, const std::string& local) {
  std::vector<std::string> out{local};
  for (const auto& [dc, r] : state.table(federation_table)) {
    if (dc != local) out.push_back(dc);
  }
  return out;
}

namespace {

/// An instance another datacenter published as {"LAN": ip:port, "WAN": ip:port}, as the
/// resolver reads addresses: LAN from the service address, WAN from the "wan" tag.
std::optional<mesh::candidate> candidate_of(const json::value& instance) {
  const auto lan = net::parse_endpoint(std::string(instance.at("LAN").as_string()));
  const auto wan = net::parse_endpoint(std::string(instance.at("WAN").as_string()));
  if (!lan || !wan) return std::nullopt;
  mesh::candidate c;
  c.addresses.service_address = lan->address().to_string();
  c.addresses.port = lan->port();
  c.addresses.tagged_wan_address = wan->address().to_string();
  c.addresses.tagged_wan_port = wan->port();
  return c;  // healthy: only healthy instances are published
}

}  // namespace

std::vector<mesh::candidate> remote_gateways(const store::state_view& state, const std::string& datacenter) {
  std::vector<mesh::candidate> out;
  const auto* r = state.get(federation_table, datacenter);
  if (r == nullptr || !r->value.is_object()) return out;
  const auto* list = r->value.as_object().if_contains("MeshGateways");
  if (list == nullptr || !list->is_array()) return out;
  for (const auto& g : list->as_array()) {
    if (auto c = candidate_of(g)) out.push_back(std::move(*c));
  }
  return out;
}

std::string remote_sidecars_topic(std::string_view datacenter, std::string_view service) {
  return "remote:" + std::string(datacenter) + "/" + std::string(service);
}

std::vector<mesh::candidate> remote_sidecars(const store::state_view& state, const std::string& datacenter,
                                             const std::string& service, const catalog::filter_expression* filter) {
  std::vector<mesh::candidate> out;
  const auto* r = state.get(remote_sidecars_table, datacenter + "/" + service);
  if (r == nullptr || !r->value.is_object()) return out;
  const auto* list = r->value.as_object().if_contains("Instances");
  if (list == nullptr || !list->is_array()) return out;
  for (const auto& i : list->as_array()) {
    if (filter != nullptr) {
      const auto* entry = i.as_object().if_contains("Entry");  // absent in records kept before subsets
      if (entry == nullptr || !entry->is_object() || !filter->matches(entry->get_object())) continue;
    }
    if (auto c = candidate_of(i)) out.push_back(std::move(*c));
  }
  return out;
}

std::optional<store::transaction> federation_state_update(const store::state_view& state,
                                                          const json::object& fed_state) {
  const std::string dc(fed_state.at("Datacenter").as_string());
  if (const auto* r = state.get(federation_table, dc); r != nullptr && r->value == json::value(fed_state)) {
    return std::nullopt;
  }
  store::transaction txn;
  txn.ops.push_back({std::string(federation_table), dc, json::value(fed_state), std::nullopt});
  txn.topics = {federation_topic, gateways_topic};  // proxies routing to that datacenter
  return txn;
}

}  // namespace meshgate::server
