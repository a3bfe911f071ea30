#include "server/proxy_snapshot_builder.h"

#include <boost/json.hpp>
#include <set>

#include "ca/ca_manager.h"
#include "catalog/config_entry.h"
#include "catalog/service.h"
#include "mesh/names.h"
#include "mesh/upstream_resolution.h"
#include "server/federation_state.h"
#include "x509/spiffe_id.h"

namespace meshgate::server {

namespace json = boost::json;

namespace {

constexpr int default_connect_timeout_ms = 5000;

struct ca_view {
  std::string trust_domain;
  std::string active_root_id;
  std::vector<std::string> roots;
};

std::optional<ca_view> read_ca(const store::state_view& state) {
  const auto* meta = state.get(ca::ca_table, "meta");
  if (meta == nullptr) return std::nullopt;
  ca_view out;
  out.trust_domain = std::string(meta->value.at("TrustDomain").as_string());
  const auto& t = state.table(ca::ca_table);
  for (auto it = t.lower_bound("root/"); it != t.end() && it->first.starts_with("root/"); ++it) {
    const auto& r = it->second.value.as_object();
    out.roots.emplace_back(r.at("RootCert").as_string());
    if (r.at("Active").as_bool()) out.active_root_id = std::string(r.at("ID").as_string());
  }
  if (out.roots.empty()) return std::nullopt;
  return out;
}

mesh::gateway_mode entry_mode(const store::state_view& state, std::string_view kind, std::string_view name) {
  const auto* r = state.get(config_table, catalog::config_key(kind, name));
  return r ? catalog::mesh_gateway_mode_of(r->value.as_object()) : mesh::gateway_mode::defer;
}

/// `connect_timeout_ms` from an opaque Config map, if it is a sane number.
std::optional<int> connect_timeout_of(const json::object& config) {
  const auto* v = config.if_contains("connect_timeout_ms");
  if (v == nullptr) return std::nullopt;
  std::int64_t ms = 0;
  if (v->is_int64()) ms = v->get_int64();
  else if (v->is_uint64()) ms = static_cast<std::int64_t>(std::min<std::uint64_t>(v->get_uint64(), 300'000));
  else if (v->is_double()) ms = static_cast<std::int64_t>(v->get_double());
  else return std::nullopt;
  if (ms < 1 || ms > 300'000) return std::nullopt;
  return static_cast<int>(ms);
}

/// `records` (stored services) as candidates; only those `filter` selects when it is set.
std::vector<mesh::candidate> candidates(const store::state_view& state, const node_info& node,
                                        const std::vector<const store::record*>& records,
                                        const catalog::filter_expression* filter = nullptr) {
  std::vector<mesh::candidate> out;
  const json::value node_json = filter ? json::value(node.to_json(0, 0)) : json::value();
  for (const auto* r : records) {
    if (filter != nullptr && !filter->matches(node_json, r->value)) continue;
    const auto s = catalog::service_from_json(r->value);
    out.push_back({addresses_of(s, node), all_checks_pass(state, s.id)});
  }
  return out;
}

/// A service-resolver's subsets (DESIGN.md §1's subset SNIs), filters parsed.
struct subset {
  std::string name;
  std::optional<catalog::filter_expression> filter;  // none: every instance
};

const json::object* resolver_of(const store::state_view& state, std::string_view service) {
  const auto* r = state.get(config_table, catalog::config_key("service-resolver", service));
  return r && r->value.is_object() ? &r->value.get_object() : nullptr;
}

std::vector<subset> subsets_of(const store::state_view& state, std::string_view service) {
  std::vector<subset> out;
  const auto* resolver = resolver_of(state, service);
  const auto* subsets = resolver ? resolver->if_contains("Subsets") : nullptr;
  if (subsets == nullptr || !subsets->is_object()) return out;
  for (const auto& [name, def] : subsets->get_object()) {
    subset s{std::string(name), std::nullopt};
    if (const auto* f = def.is_object() ? def.get_object().if_contains("Filter") : nullptr; f && f->is_string()) {
      try {
        s.filter = catalog::filter_expression::parse(f->get_string());
      } catch (const catalog::invalid_input&) {
        continue;  // refused when written; a stored one that no longer parses selects nothing
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

/// The subset an upstream of `service` gets when it names none: the resolver's DefaultSubset.
std::string default_subset_of(const store::state_view& state, std::string_view service) {
  const auto* resolver = resolver_of(state, service);
  const auto* d = resolver ? resolver->if_contains("DefaultSubset") : nullptr;
  return d && d->is_string() ? std::string(d->get_string()) : std::string();
}

/// The sidecars of `service` in this datacenter or (as its server said) another, only
/// those of `subset_name` when it is set. An unknown subset has no instances.
std::vector<mesh::candidate> sidecars_of(const store::state_view& state, const node_info& node,
                                         const std::string& service, const std::string& subset_name,
                                         const std::string& dc) {
  std::optional<subset> chosen;
  if (!subset_name.empty()) {
    for (auto& s : subsets_of(state, service)) {
      if (s.name == subset_name) chosen = std::move(s);
    }
    if (!chosen) return {};
  }
  const auto* filter = chosen && chosen->filter ? &*chosen->filter : nullptr;
  if (dc != node.datacenter) return remote_sidecars(state, dc, service, filter);  // healthy ones, as dc's server said
  return candidates(state, node, state.find(services_table, services_by_connect, service), filter);
}

/// The datacenter's view for resolving one sidecar's upstreams. Other datacenters'
/// gateways come from federation states, their sidecars from what their servers said
/// (federation::follow_remote_sidecars).
mesh::catalog_view view_for(const store::state_view& state, const node_info& node, const std::string& trust_domain,
                            const catalog::service& proxy) {
  mesh::catalog_view v;
  v.local_datacenter = node.datacenter;
  v.trust_domain = trust_domain;
  v.proxy_registration_mode = proxy.proxy.mesh_gateway;
  v.proxy_defaults_mode = entry_mode(state, "proxy-defaults", "global");
  v.service_defaults_mode = [&state](const std::string& service) {
    return entry_mode(state, "service-defaults", service);
  };
  v.sidecars = [&state, &node](const std::string& service, const std::string& subset_name, const std::string& dc) {
    return sidecars_of(state, node, service, subset_name, dc);
  };
  v.gateways = [&state, &node](const std::string& dc) {
    if (dc != node.datacenter) return remote_gateways(state, dc);  // healthy ones, from federation
    return candidates(state, node, state.find(services_table, services_by_kind, "mesh-gateway"));
  };
  return v;
}

/// Where the application's own service listens, for the inbound listener to forward to.
std::optional<int> local_service_port(const store::state_view& state, const catalog::service& proxy) {
  if (proxy.proxy.local_service_port != 0) return proxy.proxy.local_service_port;
  if (!proxy.proxy.destination_service_id.empty()) {
    if (const auto* r = state.get(services_table, proxy.proxy.destination_service_id)) {
      if (const auto port = r->value.at("Port").to_number<int>(); port > 0) return port;
    }
  }
  for (const auto* r : state.find(services_table, services_by_name, proxy.proxy.destination_service_name)) {
    if (const auto port = r->value.at("Port").to_number<int>(); port > 0) return port;
  }
  return std::nullopt;
}

std::string upstream_name(const catalog::upstream& u) {
  return u.datacenter.empty() ? u.destination_name : u.destination_name + "?dc=" + u.datacenter;
}

std::variant<built_snapshot, snapshot_unavailable> build_sidecar(const store::state_view& state,
                                                                 const node_info& node, const ca_view& ca,
                                                                 const catalog::service& proxy,
                                                                 proxycfg::proxy_snapshot snapshot,
                                                                 std::set<std::string> topics) {
  const auto& p = proxy.proxy;
  proxycfg::sidecar_config sc;
  sc.destination_service = p.destination_service_name;
  sc.identity = x509::service_identity(ca.trust_domain, "default", node.datacenter, p.destination_service_name).to_string();

  topics.insert(service_topic(p.destination_service_name));  // its port, when the proxy does not say
  const auto port = local_service_port(state, proxy);
  if (!port) {
    return snapshot_unavailable{
        404,
        "proxy " + proxy.id + ": Proxy.LocalServicePort is not set and no instance of \"" +
            p.destination_service_name + "\" with a port is registered",
        {topics.begin(), topics.end()}};
  }
  sc.inbound.local_service_address = p.local_service_address.empty() ? "127.0.0.1" : p.local_service_address;
  sc.inbound.local_service_port = *port;
  sc.inbound.address = proxy.address.empty() ? "0.0.0.0" : proxy.address;
  if (const auto* bind = p.config.if_contains("bind_address"); bind && bind->is_string()) {
    sc.inbound.address = std::string(bind->get_string());
  }
  sc.inbound.port = proxy.port;

  topics.insert(config_entry_topic("proxy-defaults", "global"));
  topics.insert(gateways_topic);
  const auto view = view_for(state, node, ca.trust_domain, proxy);
  const int proxy_timeout = connect_timeout_of(p.config).value_or(default_connect_timeout_ms);
  for (const auto& u : p.upstreams) {
    if (u.destination_type != "service") continue;  // prepared queries: not supported (yet)
    topics.insert(connect_topic(u.destination_name));
    topics.insert(config_entry_topic("service-defaults", u.destination_name));
    topics.insert(config_entry_topic("service-resolver", u.destination_name));
    if (!u.datacenter.empty() && u.datacenter != node.datacenter) {
      topics.insert(remote_sidecars_topic(u.datacenter, u.destination_name));
    }
    mesh::upstream_request request{u.destination_name, u.destination_namespace, u.datacenter, u.mesh_gateway,
                                   default_subset_of(state, u.destination_name)};
    const auto resolved = mesh::resolve_upstream(request, view);
    proxycfg::upstream_config out;
    out.name = upstream_name(u);
    out.destination_name = u.destination_name;
    out.destination_namespace = u.destination_namespace.empty() ? "default" : u.destination_namespace;
    out.datacenter = resolved.datacenter;
    out.local_bind_address = u.local_bind_address.empty() ? "127.0.0.1" : u.local_bind_address;
    out.local_bind_port = u.local_bind_port;
    out.sni = resolved.sni;
    out.subset = request.subset;
    out.identity = resolved.identity;
    out.mode = std::string(mesh::to_string(resolved.mode.mode));
    out.mode_source = std::string(mesh::to_string(resolved.mode.decided_by));
    out.endpoints = resolved.endpoints;
    out.connect_timeout_ms = connect_timeout_of(u.config).value_or(proxy_timeout);
    sc.upstreams.push_back(std::move(out));
  }
  snapshot.sidecar = std::move(sc);
  return built_snapshot{std::move(snapshot), {topics.begin(), topics.end()}};
}

/// A gateway's listeners as its registration asks (DESIGN.md §2.2's Proxy.Config options).
json::array gateway_listeners(const catalog::service& gw) {
  json::array out;
  auto add = [&](const std::string& name, const std::string& address, int port) {
    if (port <= 0) return;
    const std::string ip = address.empty() ? "0.0.0.0" : address;
    for (const auto& l : out) {  // one listener per address (a tagged "lan" is often the default)
      if (l.at("address").as_string() == ip && l.at("port").as_int64() == port) return;
    }
    out.push_back({{"name", name}, {"address", ip}, {"port", port}});
  };
  const auto& config = gw.proxy.config;
  auto flag = [&](const char* key) {
    const auto* v = config.if_contains(key);
    return v && v->is_bool() && v->get_bool();
  };
  if (!flag("envoy_gateway_no_default_bind")) add("default", gw.address, gw.port);
  if (flag("envoy_gateway_bind_tagged_addresses")) {
    for (const auto& [tag, a] : gw.tagged_addresses) add(tag, a.address, a.port);
  }
  if (const auto* extra = config.if_contains("envoy_gateway_bind_addresses"); extra && extra->is_object()) {
    for (const auto& [name, v] : extra->get_object()) {
      if (!v.is_object()) continue;
      const auto* address = v.get_object().if_contains("address");
      const auto* port = v.get_object().if_contains("port");
      if (address && address->is_string() && port && port->is_int64()) {
        add(std::string(name), std::string(address->get_string()), static_cast<int>(port->get_int64()));
      }
    }
  }
  return out;
}

built_snapshot build_gateway(const store::state_view& state, const node_info& node, const ca_view& ca,
                             const catalog::service& gw, proxycfg::proxy_snapshot snapshot,
                             std::set<std::string> topics) {
  topics.insert(services_topic);
  topics.insert(checks_topic);
  const int timeout = connect_timeout_of(gw.proxy.config).value_or(default_connect_timeout_ms);
  json::array routes;
  json::object clusters;
  auto add_local = [&](const std::string& sni, const std::string& cluster, const std::vector<mesh::candidate>& all) {
    json::array endpoints;
    for (const auto& c : all) {
      if (c.healthy) endpoints.emplace_back(mesh::lan_endpoint(c.addresses));
    }
    routes.push_back({{"sni", sni}, {"cluster", cluster}});
    clusters[cluster] = {{"endpoints", std::move(endpoints)}, {"connect_timeout_ms", timeout}};
  };
  // Every local service reachable through the mesh: its SNI to its healthy sidecars, at
  // their LAN address; and each subset its resolver defines, to the sidecars its filter
  // selects.
  topics.insert(config_topic("service-resolver"));
  for (const auto& name : state.index_keys(services_by_connect)) {
    const auto records = state.find(services_table, services_by_connect, name);
    add_local(mesh::service_sni(name, "default", node.datacenter, ca.trust_domain), name,
              candidates(state, node, records));
    for (const auto& s : subsets_of(state, name)) {
      add_local(mesh::subset_sni(s.name, name, "default", node.datacenter, ca.trust_domain), mesh::subset_cluster(s.name, name),
                candidates(state, node, records, s.filter ? &*s.filter : nullptr));
    }
  }
  // Every other datacenter federation knows: *.<dc>.internal.<td> to its healthy gateways,
  // at their WAN address. A datacenter with none gets no route: such names are refused.
  topics.insert(federation_topic);
  for (const auto& dc : known_datacenters(state, node.datacenter)) {
    if (dc == node.datacenter) continue;
    json::array endpoints;
    for (const auto& c : remote_gateways(state, dc)) endpoints.emplace_back(mesh::wan_endpoint(c.addresses));
    if (endpoints.empty()) continue;
    const auto cluster = mesh::datacenter_cluster(dc);
    routes.push_back({{"sni", "*." + mesh::datacenter_sni(dc, ca.trust_domain)}, {"cluster", cluster}});
    clusters[cluster] = {{"endpoints", std::move(endpoints)}, {"connect_timeout_ms", timeout}};
  }
  snapshot.gateway = json::object{{"listeners", gateway_listeners(gw)}, {"routes", std::move(routes)}, {"clusters", std::move(clusters)}};
  return {std::move(snapshot), {topics.begin(), topics.end()}};
}

}  // namespace

std::variant<built_snapshot, snapshot_unavailable> build_proxy_snapshot(const store::state_view& state,
                                                                        const node_info& node,
                                                                        std::string_view proxy_id) {
  std::set<std::string> topics{ca::roots_topic, services_topic};
  const auto* r = state.get(services_table, proxy_id);
  if (r == nullptr) {
    return snapshot_unavailable{404, "unknown proxy \"" + std::string(proxy_id) + "\": no service with that ID is registered",
                                {topics.begin(), topics.end()}};
  }
  const auto proxy = catalog::service_from_json(r->value);
  topics.insert(service_topic(proxy.name));  // the registration itself, and its checks
  if (proxy.kind == catalog::service_kind::typical) {
    return snapshot_unavailable{400, "service \"" + proxy.id + "\" is not a proxy (its Kind is \"\"; a sidecar is \"connect-proxy\")",
                                {topics.begin(), topics.end()}};
  }
  const auto ca = read_ca(state);
  if (!ca) return snapshot_unavailable{503, "the CA is not ready yet", {topics.begin(), topics.end()}};

  proxycfg::proxy_snapshot s;
  s.proxy_id = proxy.id;
  s.kind = std::string(catalog::to_string(proxy.kind));
  s.service = proxy.name;
  s.datacenter = node.datacenter;
  s.trust_domain = ca->trust_domain;
  s.active_root_id = ca->active_root_id;
  s.roots = ca->roots;
  if (proxy.kind == catalog::service_kind::mesh_gateway) {
    return build_gateway(state, node, *ca, proxy, std::move(s), std::move(topics));
  }
  return build_sidecar(state, node, *ca, proxy, std::move(s), std::move(topics));
}

}  // namespace meshgate::server
