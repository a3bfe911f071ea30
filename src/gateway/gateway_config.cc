#include "gateway/gateway_config.h"

#include <algorithm>
#include <boost/json.hpp>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "tls/server_name.h"

namespace meshgate::gateway {

namespace json = boost::json;

namespace {

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw config_error(where.empty() ? what : where + ": " + what);
}

std::string json_quoted(std::string_view s) { return json::serialize(json::string(s)); }

std::string kind_of(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "a number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "a value";
}

/// Refuses keys outside `allowed`, so that a typo is an error rather than a silent default.
void check_keys(const json::object& object, std::initializer_list<std::string_view> allowed,
                const std::string& where) {
  for (const auto& [key, value] : object) {
    if (std::find(allowed.begin(), allowed.end(), std::string_view(key)) != allowed.end()) {
      continue;
    }
    std::string expected;
    for (auto name : allowed) expected += (expected.empty() ? "" : ", ") + std::string(name);
    fail(where, "unknown field " + json_quoted(key) + " (expected: " + expected + ")");
  }
}

const json::object& as_object(const json::value& v, const std::string& where) {
  if (!v.is_object()) fail(where, "must be an object, not " + kind_of(v));
  return v.get_object();
}

const json::array& as_array(const json::value& v, const std::string& where) {
  if (!v.is_array()) fail(where, "must be an array, not " + kind_of(v));
  return v.get_array();
}

std::string as_string(const json::value& v, const std::string& where) {
  if (!v.is_string()) fail(where, "must be a string, not " + kind_of(v));
  return std::string(v.get_string());
}

std::int64_t as_integer(const json::value& v, std::int64_t low, std::int64_t high,
                        const std::string& where) {
  std::int64_t n = 0;
  if (v.is_int64()) {
    n = v.get_int64();
  } else if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(high)) {
    n = static_cast<std::int64_t>(v.get_uint64());
  } else if (v.is_uint64()) {
    n = high + 1;
  } else {
    fail(where, "must be an integer, not " + kind_of(v));
  }
  if (n < low || n > high) {
    fail(where, std::to_string(n) + " is out of range " + std::to_string(low) + ".." +
                    std::to_string(high));
  }
  return n;
}

const json::value& required(const json::object& object, std::string_view key,
                            const std::string& where) {
  const auto* v = object.if_contains(key);
  if (v == nullptr) fail(where, "missing required field " + json_quoted(key));
  return *v;
}

listener_config parse_listener(const json::value& v, const std::string& where) {
  const auto& object = as_object(v, where);
  check_keys(object, {"name", "address", "port"}, where);
  listener_config listener;
  listener.name = as_string(required(object, "name", where), where + ".name");
  if (listener.name.empty()) fail(where + ".name", "must not be empty");
  const auto address = as_string(required(object, "address", where), where + ".address");
  boost::system::error_code error;
  const auto ip = boost::asio::ip::make_address(address, error);
  if (error) fail(where + ".address", json_quoted(address) + " is not an IP address");
  const auto port = as_integer(required(object, "port", where), 0, 65535, where + ".port");
  listener.endpoint = net::tcp_endpoint(ip, static_cast<unsigned short>(port));
  return listener;
}

cluster_config parse_cluster(const std::string& name, const json::value& v,
                             const std::string& where) {
  const auto& object = as_object(v, where);
  check_keys(object, {"endpoints", "connect_timeout_ms", "max_connect_attempts"}, where);
  cluster_config cluster;
  cluster.name = name;
  if (name.empty()) fail(where, "a cluster name must not be empty");
  const auto& endpoints = as_array(required(object, "endpoints", where), where + ".endpoints");
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    const auto at = where + ".endpoints[" + std::to_string(i) + "]";
    const auto text = as_string(endpoints[i], at);
    const auto endpoint = net::parse_endpoint(text);
    if (!endpoint) {
      fail(at, json_quoted(text) + " is not an IP:PORT address (host names are not resolved; IPv6 "
                              "as [addr]:port)");
    }
    if (endpoint->port() == 0) fail(at, json_quoted(text) + " has port 0");
    cluster.endpoints.push_back(*endpoint);
  }
  if (const auto* t = object.if_contains("connect_timeout_ms")) {
    cluster.connect_timeout = std::chrono::milliseconds(
        as_integer(*t, 1, max_connect_timeout.count(), where + ".connect_timeout_ms"));
  }
  if (const auto* a = object.if_contains("max_connect_attempts")) {
    cluster.max_connect_attempts =
        static_cast<std::size_t>(as_integer(*a, 1, 16, where + ".max_connect_attempts"));
  }
  return cluster;
}

gateway_config parse_document(const json::value& document) {
  const auto& top = as_object(document, "the routes document");
  check_keys(top, {"listeners", "routes", "clusters"}, "");
  gateway_config config;

  const auto& clusters = as_object(required(top, "clusters", "the routes document"), "clusters");
  for (const auto& [name, value] : clusters) {
    config.clusters.push_back(
        parse_cluster(std::string(name), value, "clusters." + std::string(name)));
  }
  std::sort(config.clusters.begin(), config.clusters.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });

  const auto& listeners = as_array(required(top, "listeners", "the routes document"), "listeners");
  if (listeners.empty()) fail("listeners", "at least one listener is needed");
  std::map<std::string, std::size_t> listener_names;
  for (std::size_t i = 0; i < listeners.size(); ++i) {
    const auto where = "listeners[" + std::to_string(i) + "]";
    auto listener = parse_listener(listeners[i], where);
    if (auto [it, fresh] = listener_names.emplace(listener.name, i); !fresh) {
      fail(where + ".name", json_quoted(listener.name) + " is already the name of listeners[" +
                                std::to_string(it->second) + "]");
    }
    for (std::size_t j = 0; j < config.listeners.size(); ++j) {
      if (listener.endpoint.port() != 0 && config.listeners[j].endpoint == listener.endpoint) {
        fail(where, "address " + net::to_string(listener.endpoint) +
                        " is already used by listeners[" + std::to_string(j) + "]");
      }
    }
    config.listeners.push_back(std::move(listener));
  }

  const auto& routes = as_array(required(top, "routes", "the routes document"), "routes");
  std::map<std::string, std::size_t> patterns;
  for (std::size_t i = 0; i < routes.size(); ++i) {
    const auto where = "routes[" + std::to_string(i) + "]";
    const auto& object = as_object(routes[i], where);
    check_keys(object, {"sni", "cluster"}, where);
    route_config route;
    const auto sni = as_string(required(object, "sni", where), where + ".sni");
    if (!is_valid_route_pattern(sni)) {
      fail(where + ".sni", json_quoted(sni) +
                               " is not a server name or a \"*.suffix\" pattern (letters, "
                               "digits, '-' and '.', labels of 1-63, at most 255 bytes)");
    }
    route.sni = tls::to_lower_ascii(sni);
    route.cluster = as_string(required(object, "cluster", where), where + ".cluster");
    if (config.find_cluster(route.cluster) == nullptr) {
      fail(where + ".cluster", json_quoted(route.cluster) + " is not defined in \"clusters\"");
    }
    if (auto [it, fresh] = patterns.emplace(route.sni, i); !fresh) {
      fail(where + ".sni", json_quoted(route.sni) + " is already routed by routes[" +
                               std::to_string(it->second) + "]");
    }
    config.routes.push_back(std::move(route));
  }
  return config;
}

/// 1-based line and column of byte `offset` in `text`.
std::string position(std::string_view text, std::size_t offset) {
  std::size_t line = 1;
  std::size_t column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return std::to_string(line) + ":" + std::to_string(column);
}

}  // namespace

const cluster_config* gateway_config::find_cluster(std::string_view name) const noexcept {
  const auto it = std::lower_bound(clusters.begin(), clusters.end(), name,
                                   [](const auto& c, std::string_view n) { return c.name < n; });
  return it != clusters.end() && it->name == name ? &*it : nullptr;
}

bool is_valid_route_pattern(std::string_view pattern) noexcept {
  if (pattern.starts_with("*.")) pattern.remove_prefix(2);
  return tls::is_valid_server_name(pattern);
}

gateway_config parse_gateway_config(std::string_view json_text) {
  json::stream_parser parser;
  boost::system::error_code error;
  const std::size_t used = parser.write(json_text.data(), json_text.size(), error);
  if (!error) parser.finish(error);
  if (error) {
    throw config_error(position(json_text, used) + ": invalid JSON: " + error.message());
  }
  return parse_document(parser.release());
}

gateway_config load_gateway_config(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw config_error(path.string() + ": cannot read the file");
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return parse_gateway_config(text.str());
  } catch (const config_error& e) {
    // "routes.json:3:14: invalid JSON ..." or "routes.json: routes[1].cluster: ..."
    const std::string_view what = e.what();
    const bool positioned = !what.empty() && what[0] >= '0' && what[0] <= '9';
    throw config_error(path.string() + (positioned ? ":" : ": ") + std::string(what));
  }
}

json::value to_json(const gateway_config& config) {
  json::array listeners;
  for (const auto& l : config.listeners) {
    listeners.push_back({{"name", l.name},
                         {"address", l.endpoint.address().to_string()},
                         {"port", l.endpoint.port()}});
  }
  json::array routes;
  for (const auto& r : config.routes) routes.push_back({{"sni", r.sni}, {"cluster", r.cluster}});
  json::object clusters;
  for (const auto& c : config.clusters) {
    json::array endpoints;
    for (const auto& e : c.endpoints) endpoints.push_back(json::string(net::to_string(e)));
    clusters[c.name] = {{"endpoints", std::move(endpoints)},
                        {"connect_timeout_ms", c.connect_timeout.count()},
                        {"max_connect_attempts", c.max_connect_attempts}};
  }
  return {{"listeners", std::move(listeners)},
          {"routes", std::move(routes)},
          {"clusters", std::move(clusters)}};
}

}  // namespace meshgate::gateway
