#include "catalog/config_entry.h"

#include <boost/json.hpp>
#include <set>

#include "catalog/filter_expression.h"
#include "catalog/service.h"

namespace meshgate::catalog {

namespace json = boost::json;

namespace {

std::string quoted(std::string_view s) { return json::serialize(json::string(s)); }

void copy_meta(json_reader& in, json::object& out) {
  const auto meta = in.string_map("Meta");
  if (meta.empty()) return;
  json::object m;
  for (const auto& [k, v] : meta) m[k] = v;
  out["Meta"] = std::move(m);
}

void copy_mesh_gateway(json_reader& in, json::object& out) {
  auto mg = in.object("MeshGateway");
  if (!mg) return;
  const auto mode_text = mg->string("Mode");
  if (!mesh::parse_gateway_mode(mode_text)) {
    throw invalid_input(mg->at("Mode") + ": " + quoted(mode_text) +
                        " must be \"\", \"none\", \"local\" or \"remote\"");
  }
  mg->done();
  out["MeshGateway"] = {{"Mode", mode_text}};
}

void require_service_name(const std::string& name, const json_reader& in, bool wildcard_ok) {
  if (wildcard_ok && name == "*") return;
  if (!is_valid_service_name(name)) {
    throw invalid_input(in.at("Name") + ": " + quoted(name) +
                        " must be a service name: 1-63 letters, digits and '-'" +
                        (wildcard_ok ? " (or \"*\")" : ""));
  }
}

void decode_proxy_defaults(json_reader& in, config_entry& e) {
  if (e.name != "global") {
    throw invalid_input(in.at("Name") + ": " + quoted(e.name) + " must be \"global\" for proxy-defaults");
  }
  if (auto config = in.opaque("Config"); !config.empty()) e.body["Config"] = std::move(config);
  copy_mesh_gateway(in, e.body);
  copy_meta(in, e.body);
}

void decode_service_defaults(json_reader& in, config_entry& e) {
  require_service_name(e.name, in, false);
  if (const auto protocol = in.string("Protocol"); !protocol.empty()) {
    static const std::set<std::string> known = {"tcp", "http", "http2", "grpc"};
    if (!known.contains(protocol)) {
      throw invalid_input(in.at("Protocol") + ": " + quoted(protocol) + " must be tcp, http, http2 or grpc");
    }
    e.body["Protocol"] = protocol;
  }
  copy_mesh_gateway(in, e.body);
  if (const auto sni = in.string("ExternalSNI"); !sni.empty()) e.body["ExternalSNI"] = sni;
  copy_meta(in, e.body);
}

void decode_service_resolver(json_reader& in, config_entry& e) {
  require_service_name(e.name, in, false);
  std::set<std::string> subsets;
  if (const auto* raw = in.find("Subsets")) {
    if (!raw->is_object()) throw invalid_input(in.at("Subsets") + ": must be an object of subsets");
    json::object out;
    for (const auto& [name, value] : raw->get_object()) {
      const auto where = in.at("Subsets") + "." + std::string(name);
      if (!is_valid_service_name(name)) {
        throw invalid_input(where + ": subset names are 1-63 letters, digits and '-' (they go into TLS server names)");
      }
      json_reader s(value, where);
      json::object subset;
      if (const auto filter = s.string("Filter"); !filter.empty()) {
        try {
          filter_expression::parse(filter);  // refused now, not when traffic is routed
        } catch (const invalid_input& bad) {
          throw invalid_input(s.at("Filter") + ": " + bad.what());
        }
        subset["Filter"] = filter;
      }
      subset["OnlyPassing"] = s.boolean("OnlyPassing");
      s.done();
      out[name] = std::move(subset);
      subsets.insert(std::string(name));
    }
    if (!out.empty()) e.body["Subsets"] = std::move(out);
  }
  if (const auto d = in.string("DefaultSubset"); !d.empty()) {
    if (!subsets.contains(d)) throw invalid_input(in.at("DefaultSubset") + ": " + quoted(d) + " is not one of Subsets");
    e.body["DefaultSubset"] = d;
  }
  if (auto r = in.object("Redirect")) {
    json::object redirect;
    for (const char* f : {"Service", "ServiceSubset", "Namespace", "Datacenter"}) {
      if (const auto v = r->string(f); !v.empty()) redirect[f] = v;
    }
    r->done();
    if (redirect.empty()) throw invalid_input(in.at("Redirect") + ": names nothing to redirect to");
    if (!subsets.empty()) throw invalid_input(in.at("Redirect") + ": cannot be set together with Subsets");
    if (in.has("Failover")) throw invalid_input(in.at("Redirect") + ": cannot be set together with Failover");
    e.body["Redirect"] = std::move(redirect);
  }
  if (const auto* raw = in.find("Failover")) {
    if (!raw->is_object()) throw invalid_input(in.at("Failover") + ": must be an object keyed by subset or \"*\"");
    json::object out;
    for (const auto& [key, value] : raw->get_object()) {
      const auto where = in.at("Failover") + "." + std::string(key);
      if (key != "*" && !subsets.contains(std::string(key))) {
        throw invalid_input(where + ": " + quoted(key) + " is neither \"*\" nor one of Subsets");
      }
      json_reader f(value, where);
      json::object failover;
      for (const char* field : {"Service", "ServiceSubset", "Namespace"}) {
        if (const auto v = f.string(field); !v.empty()) failover[field] = v;
      }
      if (const auto dcs = f.strings("Datacenters"); !dcs.empty()) {
        json::array a;
        for (const auto& dc : dcs) {
          if (dc.empty()) throw invalid_input(f.at("Datacenters") + ": a datacenter name is empty");
          a.emplace_back(dc);
        }
        failover["Datacenters"] = std::move(a);
      }
      f.done();
      if (failover.empty()) {
        throw invalid_input(where + ": needs at least one of Service, ServiceSubset, Namespace or Datacenters");
      }
      out[key] = std::move(failover);
    }
    if (!out.empty()) e.body["Failover"] = std::move(out);
  }
  if (const auto timeout = in.duration("ConnectTimeout")) {
    e.body["ConnectTimeout"] = std::to_string(timeout->count()) + "ms";
  }
  copy_meta(in, e.body);
}

void decode_service_intentions(json_reader& in, config_entry& e) {
  require_service_name(e.name, in, true);
  auto sources = in.objects("Sources");
  json::array out;
  std::set<std::string> names;
  for (auto& s : sources) {
    json::object source;
    const auto name = s.string("Name");
    if (name.empty()) throw invalid_input(s.at("Name") + ": required (the source service, or \"*\")");
    if (name != "*" && !is_valid_service_name(name)) {
      throw invalid_input(s.at("Name") + ": " + quoted(name) + " must be a service name or \"*\"");
    }
    if (!names.insert(name).second) {
      throw invalid_input(s.at("Name") + ": " + quoted(name) + " is listed twice");
    }
    source["Name"] = name;
    const auto action = s.string("Action");
    if (action != "allow" && action != "deny") {
      if (s.has("Permissions")) {
        throw invalid_input(s.at("Permissions") + ": L7 permissions are not supported; use Action allow or deny");
      }
      throw invalid_input(s.at("Action") + ": " + quoted(action) + " must be \"allow\" or \"deny\"");
    }
    source["Action"] = action;
    if (const auto t = s.string("Type", "consul"); t != "consul") {
      throw invalid_input(s.at("Type") + ": " + quoted(t) + " must be \"consul\"");
    }
    source["Type"] = "consul";
    if (const auto d = s.string("Description"); !d.empty()) source["Description"] = d;
    s.string("Namespace");
    s.integer("Precedence", 0, 0, 100);  // computed by the server; accepted and ignored
    s.string("LegacyID");
    s.done();
    out.push_back(std::move(source));
  }
  e.body["Sources"] = std::move(out);
  copy_meta(in, e.body);
}

}  // namespace

bool is_known_config_kind(std::string_view kind) noexcept {
  return kind == proxy_defaults_kind || kind == service_defaults_kind ||
         kind == service_resolver_kind || kind == service_intentions_kind;
}

std::string config_key(std::string_view kind, std::string_view name) {
  return std::string(kind) + "/" + std::string(name);
}

config_entry decode_config_entry(const json::value& body) {
  json_reader in(body, "");
  config_entry e;
  e.kind = in.string("Kind");
  if (e.kind.empty()) throw invalid_input("Kind: required");
  if (!is_known_config_kind(e.kind)) {
    throw invalid_input("Kind: " + quoted(e.kind) +
                        " must be proxy-defaults, service-defaults, service-resolver or service-intentions");
  }
  e.name = in.string("Name");
  if (e.name.empty()) throw invalid_input("Name: required");
  e.body["Kind"] = e.kind;
  e.body["Name"] = e.name;
  in.string("Namespace");
  in.string("Partition");
  in.integer("CreateIndex", 0, 0, INT64_MAX);  // read-only, echoed back by clients
  in.integer("ModifyIndex", 0, 0, INT64_MAX);
  if (e.kind == proxy_defaults_kind) decode_proxy_defaults(in, e);
  if (e.kind == service_defaults_kind) decode_service_defaults(in, e);
  if (e.kind == service_resolver_kind) decode_service_resolver(in, e);
  if (e.kind == service_intentions_kind) decode_service_intentions(in, e);
  in.done();
  return e;
}

mesh::gateway_mode mesh_gateway_mode_of(const json::object& entry) {
  const auto* mg = entry.if_contains("MeshGateway");
  if (mg == nullptr || !mg->is_object()) return mesh::gateway_mode::defer;
  const auto* mode = mg->get_object().if_contains("Mode");
  if (mode == nullptr || !mode->is_string()) return mesh::gateway_mode::defer;
  return mesh::parse_gateway_mode(mode->get_string()).value_or(mesh::gateway_mode::defer);
}

}  // namespace meshgate::catalog
