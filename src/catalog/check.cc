#include "catalog/check.h"

#include <boost/json.hpp>

#include "common/duration.h"

namespace meshgate::catalog {

namespace json = boost::json;

std::string_view to_string(check_status s) noexcept {
  switch (s) {
    case check_status::passing: return "passing";
    case check_status::warning: return "warning";
    case check_status::critical: return "critical";
  }
  return "critical";
}

std::optional<check_status> parse_check_status(std::string_view text) {
  if (text == "passing") return check_status::passing;
  if (text == "warning") return check_status::warning;
  if (text == "critical") return check_status::critical;
  return std::nullopt;
}

std::string_view to_string(check_type t) noexcept {
  switch (t) {
    case check_type::ttl: return "ttl";
    case check_type::tcp: return "tcp";
    case check_type::http: return "http";
  }
  return "ttl";
}

check_definition decode_check(json_reader& in) {
  check_definition c;
  // Kinds of checks Consul has that meshgate does not run: refused by name, not ignored.
  for (const char* unsupported : {"Args", "ScriptArgs", "GRPC", "DockerContainerID", "Shell",
                                  "AliasNode", "AliasService", "H2PING", "UDP", "OSService"}) {
    if (in.has(unsupported)) {
      const std::string why = std::string_view(unsupported) == "Args" ||
                                      std::string_view(unsupported) == "ScriptArgs"
                                  ? "script checks are disabled (they would run commands sent "
                                    "over the network); use a TTL, TCP or HTTP check"
                                  : "this kind of check is not supported; use a TTL, TCP or HTTP check";
      throw invalid_input(in.at(unsupported) + ": " + why);
    }
  }
  c.id = in.string("CheckID");
  if (c.id.empty()) c.id = in.string("ID");
  c.name = in.string("Name");
  c.notes = in.string("Notes");
  if (const auto status = in.string("Status"); !status.empty()) {
    const auto parsed = parse_check_status(status);
    if (!parsed) {
      throw invalid_input(in.at("Status") + ": \"" + status + "\" must be passing, warning or critical");
    }
    c.initial_status = *parsed;
  }
  const auto ttl = in.duration("TTL");
  c.tcp = in.string("TCP");
  c.http = in.string("HTTP");
  c.method = in.string("Method", "GET");
  // Header maps names to lists of values; the names are data, not fields.
  for (const auto& [name, values] : in.opaque("Header")) {
    const auto where = in.at("Header") + "." + std::string(name);
    if (!values.is_array()) throw invalid_input(where + ": must be an array of strings");
    for (const auto& v : values.get_array()) {
      if (!v.is_string()) throw invalid_input(where + ": must be an array of strings");
      c.header[std::string(name)].emplace_back(v.get_string());
    }
  }
  c.body = in.string("Body");
  c.tls_skip_verify = in.boolean("TLSSkipVerify");
  in.string("TLSServerName");
  const auto interval = in.duration("Interval");
  const auto timeout = in.duration("Timeout");
  c.deregister_critical_service_after = in.duration("DeregisterCriticalServiceAfter").value_or(std::chrono::milliseconds(0));
  c.success_before_passing = static_cast<int>(in.integer("SuccessBeforePassing", 0, 0, 1000));
  c.failures_before_critical = static_cast<int>(in.integer("FailuresBeforeCritical", 0, 0, 1000));
  in.string("ServiceID");  // accepted (the service the check belongs to is known here)
  in.integer("OutputMaxSize", 0, 0, 1 << 20);

  const int kinds = (ttl ? 1 : 0) + (c.tcp.empty() ? 0 : 1) + (c.http.empty() ? 0 : 1);
  if (kinds == 0) {
    throw invalid_input(in.path() + ": a check needs one of TTL, TCP or HTTP");
  }
  if (kinds > 1) throw invalid_input(in.at("TTL") + ": a check has one of TTL, TCP or HTTP, not several");
  if (ttl) {
    if (ttl->count() <= 0) throw invalid_input(in.at("TTL") + ": must be greater than 0");
    c.type = check_type::ttl;
    c.ttl = *ttl;
    if (interval) throw invalid_input(in.at("Interval") + ": a TTL check has no Interval");
  } else {
    c.type = c.tcp.empty() ? check_type::http : check_type::tcp;
    if (!interval || interval->count() <= 0) {
      throw invalid_input(in.at("Interval") + ": required (greater than 0) for a TCP or HTTP check");
    }
    c.interval = std::max(*interval, min_check_interval);
    if (timeout) {
      if (timeout->count() <= 0) throw invalid_input(in.at("Timeout") + ": must be greater than 0");
      c.timeout = *timeout;
    }
    if (c.type == check_type::http && !c.http.starts_with("http://") && !c.http.starts_with("https://")) {
      throw invalid_input(in.at("HTTP") + ": \"" + c.http + "\" must be an http:// or https:// URL");
    }
    if (c.type == check_type::tcp && c.tcp.rfind(':') == std::string::npos) {
      throw invalid_input(in.at("TCP") + ": \"" + c.tcp + "\" must be host:port");
    }
  }
  in.done();
  return c;
}

json::object to_json(const health_check& check) {
  const auto& d = check.definition;
  json::object definition;
  if (d.type == check_type::http) {
    definition["HTTP"] = d.http;
    definition["Method"] = d.method;
    if (d.tls_skip_verify) definition["TLSSkipVerify"] = true;
    if (!d.body.empty()) definition["Body"] = d.body;
    if (!d.header.empty()) {
      json::object header;
      for (const auto& [name, values] : d.header) {
        json::array a;
        for (const auto& v : values) a.emplace_back(v);
        header[name] = std::move(a);
      }
      definition["Header"] = std::move(header);
    }
  }
  if (d.type == check_type::tcp) definition["TCP"] = d.tcp;
  if (d.type == check_type::ttl) {
    definition["TTL"] = format_duration(d.ttl);
  } else {
    definition["Interval"] = format_duration(d.interval);
    definition["Timeout"] = format_duration(d.timeout);
  }
  if (d.deregister_critical_service_after.count() > 0) {
    definition["DeregisterCriticalServiceAfter"] = format_duration(d.deregister_critical_service_after);
  }
  json::array tags;
  for (const auto& t : check.service_tags) tags.emplace_back(t);
  json::object out{{"Node", check.node},
                   {"CheckID", d.id},
                   {"Name", d.name},
                   {"Status", to_string(check.status)},
                   {"Notes", d.notes},
                   {"Output", check.output},
                   {"ServiceID", check.service_id},
                   {"ServiceName", check.service_name},
                   {"ServiceTags", std::move(tags)},
                   {"Type", to_string(d.type)},
                   {"Definition", std::move(definition)}};
  if (d.success_before_passing > 0) out["SuccessBeforePassing"] = d.success_before_passing;
  if (d.failures_before_critical > 0) out["FailuresBeforeCritical"] = d.failures_before_critical;
  return out;
}

health_check health_check_from_json(const json::value& stored) {
  // Stored records were written by to_json() above; read them back through the same
  // strict decoder so that the two cannot drift apart unnoticed.
  json_reader in(stored, "stored check");
  health_check h;
  h.node = in.string("Node");
  h.service_id = in.string("ServiceID");
  h.service_name = in.string("ServiceName");
  h.service_tags = in.strings("ServiceTags");
  h.status = parse_check_status(in.string("Status")).value_or(check_status::critical);
  h.output = in.string("Output");
  in.string("Type");
  in.integer("CreateIndex", 0, 0, INT64_MAX);
  in.integer("ModifyIndex", 0, 0, INT64_MAX);
  json::object flat;
  flat["CheckID"] = in.string("CheckID");
  flat["Name"] = in.string("Name");
  flat["Notes"] = in.string("Notes");
  for (const char* f : {"SuccessBeforePassing", "FailuresBeforeCritical"}) {
    if (const auto* v = in.find(f)) flat[f] = *v;
  }
  if (const auto* definition = in.find("Definition")) {
    for (const auto& [k, v] : definition->as_object()) flat[k] = v;
  }
  in.done();
  const json::value flat_value(std::move(flat));
  json_reader d(flat_value, "stored check definition");
  h.definition = decode_check(d);
  return h;
}

}  // namespace meshgate::catalog
