#include "proxycfg/proxy_snapshot.h"

#include <boost/json.hpp>

#include "catalog/json_reader.h"

namespace meshgate::proxycfg {

namespace json = boost::json;
using catalog::invalid_input;
using catalog::json_reader;

namespace {

json::array strings_json(const std::vector<std::string>& v) {
  json::array out;
  for (const auto& s : v) out.emplace_back(s);
  return out;
}

json::object to_json(const inbound_config& in) {
  return {{"address", in.address},
          {"port", in.port},
          {"local_service_address", in.local_service_address},
          {"local_service_port", in.local_service_port}};
}

json::object to_json(const upstream_config& u) {
  json::object out{{"name", u.name},
          {"destination_name", u.destination_name},
          {"destination_namespace", u.destination_namespace},
          {"datacenter", u.datacenter},
          {"local_bind_address", u.local_bind_address},
          {"local_bind_port", u.local_bind_port},
          {"sni", u.sni},
          {"identity", u.identity},
          {"mode", u.mode},
          {"mode_source", u.mode_source},
          {"endpoints", strings_json(u.endpoints)},
          {"connect_timeout_ms", u.connect_timeout_ms}};
  if (!u.subset.empty()) out["subset"] = u.subset;
  return out;
}

std::string required(json_reader& in, std::string_view field) {
  auto s = in.string(field);
  if (s.empty()) throw invalid_input(in.at(field) + ": required");
  return s;
}

int port(json_reader& in, std::string_view field, int min) {
  return static_cast<int>(in.integer(field, 0, min, 65535));
}

inbound_config parse_inbound(json_reader& in, bool strict) {
  inbound_config out;
  out.address = in.string("address", "0.0.0.0");
  out.port = port(in, "port", 0);
  out.local_service_address = in.string("local_service_address", "127.0.0.1");
  out.local_service_port = port(in, "local_service_port", 1);
  if (out.local_service_port == 0) throw invalid_input(in.at("local_service_port") + ": required");
  if (strict) in.done();
  return out;
}

upstream_config parse_upstream(json_reader& in, bool strict) {
  upstream_config out;
  out.destination_name = required(in, "destination_name");
  out.destination_namespace = in.string("destination_namespace", "default");
  out.datacenter = in.string("datacenter");
  out.name = in.string("name", out.destination_name);
  out.local_bind_address = in.string("local_bind_address", "127.0.0.1");
  out.local_bind_port = port(in, "local_bind_port", 1);
  if (out.local_bind_port == 0) throw invalid_input(in.at("local_bind_port") + ": required");
  out.sni = required(in, "sni");
  out.subset = in.string("subset");
  out.identity = required(in, "identity");
  out.mode = in.string("mode", "none");
  out.mode_source = in.string("mode_source");
  out.endpoints = in.strings("endpoints");
  out.connect_timeout_ms = static_cast<int>(in.integer("connect_timeout_ms", 5000, 1, 300'000));
  if (strict) in.done();
  return out;
}

}  // namespace

json::object to_json(const proxy_snapshot& s) {
  json::object out{{"proxy_id", s.proxy_id},       {"kind", s.kind},
                   {"service", s.service},         {"datacenter", s.datacenter},
                   {"trust_domain", s.trust_domain}, {"active_root_id", s.active_root_id},
                   {"roots", strings_json(s.roots)}};
  if (s.sidecar) {
    json::array upstreams;
    for (const auto& u : s.sidecar->upstreams) upstreams.push_back(to_json(u));
    out["sidecar"] = json::object{{"destination_service", s.sidecar->destination_service},
                                  {"identity", s.sidecar->identity},
                                  {"inbound", to_json(s.sidecar->inbound)},
                                  {"upstreams", std::move(upstreams)}};
  }
  if (s.gateway) out["gateway"] = *s.gateway;
  return out;
}

proxy_snapshot parse_proxy_snapshot(const json::value& v, field_check check) {
  const bool strict = check == field_check::strict;
  if (!v.is_object()) throw invalid_input("proxy configuration: must be a JSON object");
  json_reader in(v, "");
  proxy_snapshot out;
  out.proxy_id = in.string("proxy_id");
  out.kind = in.string("kind", "connect-proxy");
  if (out.kind != "connect-proxy" && out.kind != "mesh-gateway") {
    throw invalid_input("kind: \"" + out.kind + "\" must be \"connect-proxy\" or \"mesh-gateway\"");
  }
  out.service = in.string("service");
  out.datacenter = in.string("datacenter");
  out.trust_domain = required(in, "trust_domain");
  out.active_root_id = in.string("active_root_id");
  out.roots = in.strings("roots");
  if (out.roots.empty()) throw invalid_input("roots: at least one trusted root is required");
  if (auto sc = in.object("sidecar")) {
    sidecar_config s;
    s.destination_service = sc->string("destination_service");
    s.identity = sc->string("identity");
    auto inbound = sc->object("inbound");
    if (inbound) s.inbound = parse_inbound(*inbound, strict);
    for (auto& u : sc->objects("upstreams")) s.upstreams.push_back(parse_upstream(u, strict));
    if (strict) sc->done();
    if (!inbound && s.upstreams.empty()) throw invalid_input("sidecar: needs an inbound listener or an upstream");
    out.sidecar = std::move(s);
  }
  if (const auto* g = in.find("gateway")) out.gateway = *g;
  if (out.kind == "connect-proxy" && !out.sidecar) throw invalid_input("sidecar: required for a connect-proxy");
  if (out.kind == "mesh-gateway" && !out.gateway) throw invalid_input("gateway: required for a mesh-gateway");
  if (strict) in.done();
  return out;
}

proxy_snapshot parse_proxy_snapshot(std::string_view json_text, field_check check) {
  return parse_proxy_snapshot(catalog::parse_body(json_text), check);
}

}  // namespace meshgate::proxycfg
