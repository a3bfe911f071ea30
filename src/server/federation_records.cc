#include "server/federation_records.h"

#include <boost/json.hpp>

#include <algorithm>
#include <initializer_list>

#include "catalog/json_reader.h"
#include "mesh/names.h"
#include "net/endpoint.h"

namespace meshgate::server {

namespace json = boost::json;

namespace {

constexpr std::size_t max_gateways = 1024;

std::string string_field(const json::object& o, std::string_view name, std::string_view where) {
  const auto* v = o.if_contains(name);
  if (v == nullptr || !v->is_string() || v->as_string().empty()) {
    throw catalog::invalid_input(std::string(where) + std::string(name) + ": required, a non-empty string");
  }
  return std::string(v->as_string());
}

std::string endpoint_field(const json::object& o, std::string_view name, std::string_view where) {
  auto text = string_field(o, name, where);
  if (!net::parse_endpoint(text)) {
    throw catalog::invalid_input(std::string(where) + std::string(name) + ": \"" + text + "\" is not IP:PORT");
  }
  return text;
}

bool is_datacenter_name(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

/// An object member as a string, or "".
std::string text_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

int port_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_number()) return 0;
  boost::system::error_code ec;
  const auto p = v->to_number<std::int64_t>(ec);
  return ec || p < 0 || p > 65535 ? 0 : static_cast<int>(p);
}

/// The fields a subset filter can select on (catalog::filter_expression), copied when
/// they have the right type and within bounds: a remote server's answer is untrusted.
json::object filterable_fields(const json::object& from, std::initializer_list<std::string_view> strings) {
  constexpr std::size_t max_items = 64, max_text = 512;
  auto fits = [](const json::value& v) { return v.is_string() && v.get_string().size() <= max_text; };
  json::object out;
  for (const auto key : strings) {
    if (const auto* v = from.if_contains(key); v && fits(*v)) out[key] = *v;
  }
  if (const auto* port = from.if_contains("Port"); port && port->is_int64()) out["Port"] = *port;
  if (const auto* tags = from.if_contains("Tags"); tags && tags->is_array()) {
    json::array kept;
    for (const auto& t : tags->get_array()) {
      if (kept.size() < max_items && fits(t)) kept.push_back(t);
    }
    out["Tags"] = std::move(kept);
  }
  if (const auto* meta = from.if_contains("Meta"); meta && meta->is_object()) {
    json::object kept;
    for (const auto& [k, v] : meta->get_object()) {
      if (kept.size() < max_items && k.size() <= max_text && fits(v)) kept[k] = v;
    }
    out["Meta"] = std::move(kept);
  }
  if (const auto* proxy = from.if_contains("Proxy"); proxy && proxy->is_object()) {
    out["Proxy"] = filterable_fields(proxy->get_object(), {"DestinationServiceName", "DestinationServiceID"});
  }
  return out;
}

}  // namespace

json::object parse_federation_state(const json::value& v) {
  if (!v.is_object()) throw catalog::invalid_input("a federation state must be a JSON object");
  const auto& o = v.as_object();
  const auto dc = string_field(o, "Datacenter", "");
  if (!is_datacenter_name(dc)) throw catalog::invalid_input("Datacenter: \"" + dc + "\" is not a datacenter name");
  json::object out{{"Datacenter", dc},
                   {"PrimaryDatacenter", string_field(o, "PrimaryDatacenter", "")},
                   {"ServerAddress", endpoint_field(o, "ServerAddress", "")}};
  json::array gateways;
  const auto* list = o.if_contains("MeshGateways");
  if (list != nullptr && !list->is_null()) {
    if (!list->is_array()) throw catalog::invalid_input("MeshGateways: must be an array");
    if (list->as_array().size() > max_gateways) throw catalog::invalid_input("MeshGateways: more than 1024");
    std::size_t i = 0;
    for (const auto& g : list->as_array()) {
      const auto where = "MeshGateways[" + std::to_string(i++) + "].";
      if (!g.is_object()) throw catalog::invalid_input(where + ": must be an object");
      const auto& go = g.as_object();
      gateways.push_back(json::object{{"ID", string_field(go, "ID", where)},
                                      {"LAN", endpoint_field(go, "LAN", where)},
                                      {"WAN", endpoint_field(go, "WAN", where)}});
    }
  }
  out["MeshGateways"] = std::move(gateways);
  return out;
}

json::object remote_sidecars_record(const json::value& health_answer) {
  if (!health_answer.is_array()) throw catalog::invalid_input("the health answer is not a JSON array");
  json::array instances;
  for (const auto& entry : health_answer.as_array()) {
    if (instances.size() >= 4096 || !entry.is_object()) continue;
    const auto* service = entry.as_object().if_contains("Service");
    const auto* node = entry.as_object().if_contains("Node");
    if (service == nullptr || !service->is_object()) continue;
    const auto& s = service->as_object();
    mesh::instance_addresses a;
    a.service_address = text_of(s, "Address");
    a.port = port_of(s, "Port");
    if (const auto* tagged = s.if_contains("TaggedAddresses"); tagged && tagged->is_object()) {
      if (const auto* wan = tagged->as_object().if_contains("wan"); wan && wan->is_object()) {
        a.tagged_wan_address = text_of(wan->as_object(), "Address");
        a.tagged_wan_port = port_of(wan->as_object(), "Port");
      }
    }
    if (node != nullptr && node->is_object()) {
      a.node_address = text_of(node->as_object(), "Address");
      if (const auto* tagged = node->as_object().if_contains("TaggedAddresses"); tagged && tagged->is_object()) {
        a.node_wan_address = text_of(tagged->as_object(), "wan");
      }
    }
    const auto lan = mesh::lan_endpoint(a);
    const auto wan = mesh::wan_endpoint(a);
    if (a.port == 0 || !net::parse_endpoint(lan) || !net::parse_endpoint(wan)) continue;
    json::object selectable{{"Service", filterable_fields(s, {"ID", "Service", "Kind", "Address"})}};
    if (node != nullptr && node->is_object()) {
      selectable["Node"] = filterable_fields(node->as_object(), {"Node", "Address", "Datacenter"});
    }
    instances.push_back(json::object{{"LAN", lan}, {"WAN", wan}, {"Entry", std::move(selectable)}});
  }
  return json::object{{"Instances", std::move(instances)}};
}

}  // namespace meshgate::server
