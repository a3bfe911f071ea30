#include "server/catalog_state.h"

#include <boost/json.hpp>
#include <set>

namespace meshgate::server {

namespace json = boost::json;

std::string service_topic(std::string_view name) { return "service:" + std::string(name); }
std::string connect_topic(std::string_view name) { return "connect:" + std::string(name); }
std::string config_topic(std::string_view kind) { return "config:" + std::string(kind); }
std::string config_entry_topic(std::string_view kind, std::string_view name) {
  return "config:" + std::string(kind) + "/" + std::string(name);
}

std::vector<store::index_definition> catalog_indexes() {
  return {
      {std::string(services_table), std::string(services_by_name),
       [](const json::value& v) { return std::vector<std::string>{std::string(v.at("Service").as_string())}; }},
      {std::string(services_table), std::string(services_by_connect),
       [](const json::value& v) {
         // Stored services come from to_json(service): the fields below are as it writes them.
         std::vector<std::string> keys;
         const auto& s = v.as_object();
         if (const auto* proxy = s.if_contains("Proxy");
             proxy && s.contains("Kind") && s.at("Kind").as_string() == "connect-proxy") {
           if (const auto* dest = proxy->as_object().if_contains("DestinationServiceName")) {
             keys.emplace_back(dest->as_string());
           }
         }
         if (const auto* connect = s.if_contains("Connect"); connect && connect->as_object().contains("Native")) {
           keys.emplace_back(s.at("Service").as_string());
         }
         return keys;
       }},
      {std::string(services_table), std::string(services_by_kind),
       [](const json::value& v) {
         std::vector<std::string> keys;
         if (const auto* kind = v.as_object().if_contains("Kind"); kind && !kind->as_string().empty()) {
           keys.emplace_back(kind->as_string());
         }
         return keys;
       }},
      {std::string(checks_table), std::string(checks_by_service),
       [](const json::value& v) { return std::vector<std::string>{std::string(v.at("ServiceID").as_string())}; }},
  };
}

json::object node_info::to_json(std::uint64_t create_index, std::uint64_t modify_index) const {
  return {{"ID", id},
          {"Node", name},
          {"Address", address},
          {"Datacenter", datacenter},
          {"TaggedAddresses", {{"lan", address}, {"lan_ipv4", address}, {"wan", address}, {"wan_ipv4", address}}},
          {"Meta", json::object{}},
          {"CreateIndex", create_index},
          {"ModifyIndex", modify_index}};
}

json::object with_indexes(const store::record& r) {
  json::object out = r.value.as_object();
  out["CreateIndex"] = r.create_index;
  out["ModifyIndex"] = r.modify_index;
  return out;
}

std::vector<std::string> topics_of_service(const json::value& stored) {
  std::vector<std::string> topics;
  const auto& s = stored.as_object();
  const std::string name(s.at("Service").as_string());
  topics.push_back(service_topic(name));
  if (const auto* proxy = s.if_contains("Proxy")) {
    if (const auto* dest = proxy->as_object().if_contains("DestinationServiceName")) {
      topics.push_back(connect_topic(dest->as_string()));
    }
  }
  if (const auto* connect = s.if_contains("Connect")) {
    if (connect->as_object().if_contains("Native")) topics.push_back(connect_topic(name));
  }
  if (const auto* kind = s.if_contains("Kind"); kind && kind->as_string() == "mesh-gateway") {
    topics.push_back(gateways_topic);
  }
  return topics;
}

std::vector<const store::record*> checks_of(const store::state_view& state, std::string_view service_id) {
  return state.find(checks_table, checks_by_service, service_id);
}

catalog::check_status aggregate_status(const std::vector<const store::record*>& checks) {
  auto worst = catalog::check_status::passing;
  for (const auto* c : checks) {
    const auto s = catalog::parse_check_status(c->value.as_object().at("Status").as_string())
                       .value_or(catalog::check_status::critical);
    if (s == catalog::check_status::critical) return s;
    if (s == catalog::check_status::warning) worst = s;
  }
  return worst;
}

store::transaction register_transaction(const store::state_view& state, const catalog::registration& r,
                                        const node_info& node) {
  store::transaction txn;
  const auto stored = catalog::to_json(r.svc, node.datacenter);
  std::set<std::string> topics = {services_topic, checks_topic};
  for (auto& t : topics_of_service(stored)) topics.insert(std::move(t));
  if (const auto* old = state.get(services_table, r.svc.id)) {
    for (auto& t : topics_of_service(old->value)) topics.insert(std::move(t));  // it may have been renamed
  }
  txn.ops.push_back({std::string(services_table), r.svc.id, stored, std::nullopt});

  // The registration's checks replace the service's old ones; a check keeps its status
  // across a re-registration (as in Consul), otherwise it starts at its initial status.
  std::set<std::string> kept;
  for (const auto& def : r.checks) {
    catalog::health_check h;
    h.definition = def;
    h.node = node.name;
    h.service_id = r.svc.id;
    h.service_name = r.svc.name;
    h.service_tags = r.svc.tags;
    h.status = def.initial_status;
    if (const auto* old = state.get(checks_table, def.id)) {
      const auto& o = old->value.as_object();
      if (o.at("ServiceID").as_string() == r.svc.id) {
        h.status = catalog::parse_check_status(o.at("Status").as_string()).value_or(h.status);
        h.output = std::string(o.at("Output").as_string());
      }
    }
    txn.ops.push_back({std::string(checks_table), def.id, catalog::to_json(h), std::nullopt});
    kept.insert(def.id);
  }
  for (const auto* old : checks_of(state, r.svc.id)) {
    const std::string id(old->value.as_object().at("CheckID").as_string());
    if (!kept.contains(id)) txn.ops.push_back({std::string(checks_table), id, std::nullopt, std::nullopt});
  }
  txn.topics.assign(topics.begin(), topics.end());
  return txn;
}

std::optional<store::transaction> deregister_transaction(const store::state_view& state,
                                                         std::string_view service_id) {
  const auto* existing = state.get(services_table, service_id);
  if (existing == nullptr) return std::nullopt;
  store::transaction txn;
  txn.ops.push_back({std::string(services_table), std::string(service_id), std::nullopt, std::nullopt});
  for (const auto* c : checks_of(state, service_id)) {
    txn.ops.push_back({std::string(checks_table), std::string(c->value.as_object().at("CheckID").as_string()),
                       std::nullopt, std::nullopt});
  }
  txn.topics = topics_of_service(existing->value);
  txn.topics.push_back(services_topic);
  txn.topics.push_back(checks_topic);
  return txn;
}

std::optional<store::transaction> check_update_transaction(const store::state_view& state,
                                                           std::string_view check_id,
                                                           catalog::check_status status,
                                                           const std::string& output) {
  const auto* existing = state.get(checks_table, check_id);
  if (existing == nullptr) return std::nullopt;
  auto updated = existing->value.as_object();
  if (updated.at("Status").as_string() == catalog::to_string(status) && updated.at("Output").as_string() == output) {
    return std::nullopt;  // nothing changed: no write, nobody woken
  }
  updated["Status"] = std::string(catalog::to_string(status));
  updated["Output"] = output;
  store::transaction txn;
  txn.topics = {checks_topic};
  if (const auto* svc = state.get(services_table, updated.at("ServiceID").as_string())) {
    for (auto& t : topics_of_service(svc->value)) txn.topics.push_back(std::move(t));
  }
  // CAS on the check's index: a deregistration that raced this update wins.
  txn.ops.push_back({std::string(checks_table), std::string(check_id), json::value(std::move(updated)),
                     existing->modify_index});
  return txn;
}

bool all_checks_pass(const store::state_view& state, std::string_view service_id) {
  return aggregate_status(checks_of(state, service_id)) == catalog::check_status::passing;
}

mesh::instance_addresses addresses_of(const catalog::service& s, const node_info& node) {
  mesh::instance_addresses a;
  a.service_address = s.address;
  a.port = s.port;
  if (s.kind == catalog::service_kind::mesh_gateway) {
    if (auto lan = s.tagged_addresses.find("lan"); lan != s.tagged_addresses.end()) {
      a.service_address = lan->second.address;
      if (lan->second.port != 0) a.port = lan->second.port;
    }
  }
  if (auto wan = s.tagged_addresses.find("wan"); wan != s.tagged_addresses.end()) {
    a.tagged_wan_address = wan->second.address;
    a.tagged_wan_port = wan->second.port;
  }
  a.node_address = node.address;
  a.node_wan_address = node.address;  // the server's node has one address for both
  return a;
}

}  // namespace meshgate::server
