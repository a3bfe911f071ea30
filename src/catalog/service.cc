#include "catalog/service.h"

#include <boost/json.hpp>
#include <cctype>
#include <set>

namespace meshgate::catalog {

namespace json = boost::json;

namespace {

constexpr std::size_t max_meta_pairs = 64;
constexpr std::size_t max_meta_key = 128;
constexpr std::size_t max_meta_value = 512;

std::string quoted(std::string_view s) { return json::serialize(json::string(s)); }

mesh::gateway_mode decode_mesh_gateway(json_reader& parent) {
  auto in = parent.object("MeshGateway");
  if (!in) return mesh::gateway_mode::defer;
  const auto text = in->string("Mode");
  const auto mode = mesh::parse_gateway_mode(text);
  if (!mode) {
    throw invalid_input(in->at("Mode") + ": " + quoted(text) +
                        " must be \"\", \"none\", \"local\" or \"remote\"");
  }
  in->done();
  return *mode;
}

// Consul's validateMetaPair rules.
void check_meta(const std::map<std::string, std::string>& meta, const std::string& where) {
  if (meta.size() > max_meta_pairs) {
    throw invalid_input(where + ": at most " + std::to_string(max_meta_pairs) + " pairs");
  }
  for (const auto& [key, value] : meta) {
    const bool ok = !key.empty() && key.size() <= max_meta_key &&
                    std::all_of(key.begin(), key.end(), [](char c) {
                      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
                    });
    if (!ok) {
      throw invalid_input(where + "." + key + ": keys are 1-128 letters, digits, '_' or '-'");
    }
    if (key.starts_with("consul-")) {
      throw invalid_input(where + "." + key + ": keys starting with \"consul-\" are reserved");
    }
    if (value.size() > max_meta_value) {
      throw invalid_input(where + "." + key + ": values are at most 512 bytes");
    }
  }
}

int port_of(json_reader& in, std::string_view field) {
  return static_cast<int>(in.integer(field, 0, 0, 65535));
}

upstream decode_upstream(json_reader& in) {
  upstream u;
  u.destination_type = in.string("DestinationType", "service");
  if (u.destination_type.empty()) u.destination_type = "service";
  if (u.destination_type != "service" && u.destination_type != "prepared_query") {
    throw invalid_input(in.at("DestinationType") + ": " + quoted(u.destination_type) +
                        " must be \"service\" or \"prepared_query\"");
  }
  u.destination_namespace = in.string("DestinationNamespace");
  u.destination_name = in.string("DestinationName");
  if (u.destination_name.empty()) throw invalid_input(in.at("DestinationName") + ": required");
  if (u.destination_type == "service" && !is_valid_service_name(u.destination_name)) {
    throw invalid_input(in.at("DestinationName") + ": " + quoted(u.destination_name) +
                        " is not a service name (letters, digits and '-', at most 63)");
  }
  u.datacenter = in.string("Datacenter");
  u.local_bind_address = in.string("LocalBindAddress");
  u.local_bind_port = port_of(in, "LocalBindPort");
  if (u.local_bind_port == 0) {
    throw invalid_input(in.at("LocalBindPort") + ": required, 1..65535 (where the sidecar listens for this upstream)");
  }
  u.config = in.opaque("Config");
  u.mesh_gateway = decode_mesh_gateway(in);
  in.done();
  return u;
}

proxy_config decode_proxy(json_reader& in) {
  proxy_config p;
  p.destination_service_name = in.string("DestinationServiceName");
  p.destination_service_id = in.string("DestinationServiceID");
  p.local_service_address = in.string("LocalServiceAddress");
  p.local_service_port = port_of(in, "LocalServicePort");
  p.config = in.opaque("Config");
  for (auto& u : in.objects("Upstreams")) p.upstreams.push_back(decode_upstream(u));
  p.mesh_gateway = decode_mesh_gateway(in);
  if (const auto mode = in.string("Mode"); !mode.empty() && mode != "direct") {
    throw invalid_input(in.at("Mode") + ": " + quoted(mode) + " is not supported (only \"direct\")");
  }
  in.done();
  return p;
}

void validate_proxy(const service& s, const std::string& kind) {
  const auto& p = s.proxy;
  if (s.kind == service_kind::connect_proxy) {
    if (p.destination_service_name.empty()) {
      throw invalid_input("Proxy.DestinationServiceName: required for a connect-proxy service");
    }
    if (!is_valid_service_name(p.destination_service_name)) {
      throw invalid_input("Proxy.DestinationServiceName: " + quoted(p.destination_service_name) +
                          " is not a service name (letters, digits and '-', at most 63)");
    }
    if (s.port == 0) throw invalid_input("Port: must be set for a connect-proxy service");
    if (s.connect_native) throw invalid_input("Connect.Native: a proxy cannot also be Connect Native");
    std::set<std::string> keys, binds;
    for (std::size_t i = 0; i < p.upstreams.size(); ++i) {
      const auto& u = p.upstreams[i];
      const auto where = "Proxy.Upstreams[" + std::to_string(i) + "]";
      const auto key = u.destination_type + ":" + u.destination_namespace + "/" + u.destination_name +
                       "?dc=" + u.datacenter;
      if (!keys.insert(key).second) {
        throw invalid_input(where + ": a second upstream for " + quoted(u.destination_name) +
                            (u.datacenter.empty() ? "" : " in " + u.datacenter) +
                            " (upstreams cannot contain duplicates)");
      }
      const auto bind = (u.local_bind_address.empty() ? std::string("127.0.0.1") : u.local_bind_address) +
                        ":" + std::to_string(u.local_bind_port);
      if (!binds.insert(bind).second) {
        throw invalid_input(where + ".LocalBindPort: " + bind +
                            " is already used by another upstream (one upstream per bind address and port)");
      }
    }
  } else if (s.kind == service_kind::mesh_gateway) {
    if (s.port == 0) throw invalid_input("Port: must be non-zero for a " + kind);
    if (!p.destination_service_name.empty()) {
      throw invalid_input("Proxy.DestinationServiceName: not valid for a " + kind);
    }
    if (!p.destination_service_id.empty()) throw invalid_input("Proxy.DestinationServiceID: not valid for a " + kind);
    if (!p.local_service_address.empty()) throw invalid_input("Proxy.LocalServiceAddress: not valid for a " + kind);
    if (p.local_service_port != 0) throw invalid_input("Proxy.LocalServicePort: not valid for a " + kind);
    if (!p.upstreams.empty()) throw invalid_input("Proxy.Upstreams: a " + kind + " has no upstreams");
  }
}

/// The fields common to a registration body and a stored AgentService; `name_field` is
/// "Name" in the former and "Service" in the latter.
service decode_service(json_reader& in, std::string_view name_field) {
  service s;
  const auto kind = in.string("Kind");
  if (kind.empty()) {
    s.kind = service_kind::typical;
  } else if (kind == "connect-proxy") {
    s.kind = service_kind::connect_proxy;
  } else if (kind == "mesh-gateway") {
    s.kind = service_kind::mesh_gateway;
  } else {
    throw invalid_input(in.at("Kind") + ": " + quoted(kind) +
                        " must be \"\" (a typical service), \"connect-proxy\" or \"mesh-gateway\"");
  }
  s.name = in.string(name_field);
  if (s.name.empty()) throw invalid_input(in.at(name_field) + ": required (the service's name)");
  if (!is_valid_service_name(s.name)) {
    throw invalid_input(in.at(name_field) + ": " + quoted(s.name) +
                        " must be 1-63 letters, digits and '-' (it becomes part of TLS server names)");
  }
  s.id = in.string("ID", s.name);
  if (s.id.empty()) s.id = s.name;
  if (s.id.size() > 256 || s.id.find('/') != std::string::npos ||
      std::any_of(s.id.begin(), s.id.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
    throw invalid_input(in.at("ID") + ": " + quoted(s.id) +
                        " must be at most 256 bytes without '/' or control characters");
  }
  s.tags = in.strings("Tags");
  s.address = in.string("Address");
  s.port = port_of(in, "Port");
  s.meta = in.string_map("Meta");
  check_meta(s.meta, in.at("Meta"));
  for (const auto& [name, value] : in.opaque("TaggedAddresses")) {
    json_reader a(value, in.at("TaggedAddresses") + "." + std::string(name));
    tagged_address t{a.string("Address"), port_of(a, "Port")};
    a.done();
    if (t.address.empty()) throw invalid_input(a.at("Address") + ": required");
    s.tagged_addresses[std::string(name)] = t;
  }
  if (auto w = in.object("Weights")) {
    s.weight_passing = static_cast<int>(w->integer("Passing", 1, 1, 65535));
    s.weight_warning = static_cast<int>(w->integer("Warning", 1, 0, 65535));
    w->done();
  }
  s.enable_tag_override = in.boolean("EnableTagOverride");
  if (auto connect = in.object("Connect")) {
    s.connect_native = connect->boolean("Native");
    if (connect->has("SidecarService")) {
      throw invalid_input(connect->at("SidecarService") +
                          ": not supported yet; register the sidecar as its own service with "
                          "Kind \"connect-proxy\"");
    }
    connect->done();
  }
  if (auto proxy = in.object("Proxy")) {
    if (s.kind == service_kind::typical) {
      throw invalid_input(in.at("Proxy") + ": only a connect-proxy or mesh-gateway service has a Proxy");
    }
    s.proxy = decode_proxy(*proxy);
  }
  in.string("Namespace");  // the default namespace is the only one
  in.string("Datacenter");
  validate_proxy(s, std::string(to_string(s.kind)));
  return s;
}

json::object to_json(const mesh::gateway_mode mode) {
  return {{"Mode", std::string(mesh::to_string(mode))}};
}

}  // namespace

std::string_view to_string(service_kind k) noexcept {
  switch (k) {
    case service_kind::typical: return "";
    case service_kind::connect_proxy: return "connect-proxy";
    case service_kind::mesh_gateway: return "mesh-gateway";
  }
  return "";
}

bool is_valid_service_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 63) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
  });
}

registration decode_registration(const json::value& body) {
  json_reader in(body, "");
  registration r;
  r.svc = decode_service(in, "Name");
  std::vector<json_reader> checks;
  if (auto one = in.object("Check")) checks.push_back(std::move(*one));
  for (auto& c : in.objects("Checks")) checks.push_back(std::move(c));
  in.done();
  std::set<std::string> ids;
  for (std::size_t i = 0; i < checks.size(); ++i) {
    auto c = decode_check(checks[i]);
    if (c.id.empty()) {
      // Consul's defaults: "service:<id>" for one check, "service:<id>:<n>" for several.
      c.id = "service:" + r.svc.id + (checks.size() > 1 ? ":" + std::to_string(i + 1) : "");
    }
    if (c.name.empty()) c.name = "Service '" + r.svc.name + "' check";
    if (!ids.insert(c.id).second) {
      throw invalid_input(checks[i].at("CheckID") + ": " + quoted(c.id) + " is given to two checks");
    }
    r.checks.push_back(std::move(c));
  }
  return r;
}

json::object to_json(const service& s, const std::string& datacenter) {
  json::array tags;
  for (const auto& t : s.tags) tags.emplace_back(t);
  json::object meta;
  for (const auto& [k, v] : s.meta) meta[k] = v;
  json::object out;
  if (s.kind != service_kind::typical) out["Kind"] = std::string(to_string(s.kind));
  out["ID"] = s.id;
  out["Service"] = s.name;
  out["Tags"] = std::move(tags);
  out["Meta"] = std::move(meta);
  out["Port"] = s.port;
  out["Address"] = s.address;
  if (!s.tagged_addresses.empty()) {
    json::object tagged;
    for (const auto& [name, a] : s.tagged_addresses) tagged[name] = {{"Address", a.address}, {"Port", a.port}};
    out["TaggedAddresses"] = std::move(tagged);
  }
  out["Weights"] = {{"Passing", s.weight_passing}, {"Warning", s.weight_warning}};
  out["EnableTagOverride"] = s.enable_tag_override;
  if (s.kind != service_kind::typical) {
    const auto& p = s.proxy;
    json::array upstreams;
    for (const auto& u : p.upstreams) {
      json::object o{{"DestinationType", u.destination_type},
                     {"DestinationName", u.destination_name},
                     {"LocalBindPort", u.local_bind_port},
                     {"MeshGateway", to_json(u.mesh_gateway)}};
      if (!u.destination_namespace.empty()) o["DestinationNamespace"] = u.destination_namespace;
      if (!u.datacenter.empty()) o["Datacenter"] = u.datacenter;
      if (!u.local_bind_address.empty()) o["LocalBindAddress"] = u.local_bind_address;
      if (!u.config.empty()) o["Config"] = u.config;
      upstreams.push_back(std::move(o));
    }
    json::object proxy{{"MeshGateway", to_json(p.mesh_gateway)}};
    if (!p.destination_service_name.empty()) proxy["DestinationServiceName"] = p.destination_service_name;
    if (!p.destination_service_id.empty()) proxy["DestinationServiceID"] = p.destination_service_id;
    if (!p.local_service_address.empty()) proxy["LocalServiceAddress"] = p.local_service_address;
    if (p.local_service_port != 0) proxy["LocalServicePort"] = p.local_service_port;
    if (!p.config.empty()) proxy["Config"] = p.config;
    if (!upstreams.empty()) proxy["Upstreams"] = std::move(upstreams);
    out["Proxy"] = std::move(proxy);
  }
  if (s.connect_native) out["Connect"] = {{"Native", true}};
  out["Datacenter"] = datacenter;
  return out;
}

service service_from_json(const json::value& stored) {
  json_reader in(stored, "stored service");
  auto s = decode_service(in, "Service");
  in.integer("CreateIndex", 0, 0, INT64_MAX);
  in.integer("ModifyIndex", 0, 0, INT64_MAX);
  in.done();
  return s;
}

}  // namespace meshgate::catalog
