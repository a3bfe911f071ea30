#include "gateway/server_feed.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json.hpp>

#include <stdexcept>
#include <thread>

#include "catalog/json_reader.h"
#include "common/logging.h"
#include "net/endpoint.h"
#include "proxycfg/config_watch.h"

namespace meshgate::gateway {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

const auto& log() {
  static const auto logger = module_logger("gateway");
  return logger;
}

json::object address_of(const std::string& text, const char* flag) {
  const auto endpoint = net::parse_endpoint(text);
  if (!endpoint || endpoint->port() == 0) {
    throw std::runtime_error(std::string(flag) + ": \"" + text + "\" is not IP:PORT with a port");
  }
  return json::object{{"Address", endpoint->address().to_string()}, {"Port", endpoint->port()}};
}

/// The gateway part of a snapshot as the gateway's own configuration type.
gateway_config to_config(const proxycfg::proxy_snapshot& snapshot) {
  if (!snapshot.gateway) {
    throw catalog::invalid_input("proxy " + snapshot.proxy_id + " is not a mesh gateway (kind " + snapshot.kind + ")");
  }
  try {
    return parse_gateway_config(json::serialize(*snapshot.gateway));
  } catch (const config_error& e) {
    throw catalog::invalid_input(std::string("the server's routes: ") + e.what());
  }
}

}  // namespace

void register_gateway(const api::api_client& server, const registration& r) {
  const auto lan = address_of(r.lan_address, "-address");
  const auto wan = address_of(r.wan_address, "-wan-address");
  json::object body{{"ID", r.id},
                    {"Name", r.service},
                    {"Kind", "mesh-gateway"},
                    {"Address", lan.at("Address")},
                    {"Port", lan.at("Port")},
                    {"TaggedAddresses", json::object{{"lan", lan}, {"wan", wan}}},
                    // Listen where we say we can be reached: on the WAN address too when it
                    // is another one (no listener is opened twice for the same address).
                    {"Proxy", json::object{{"Config", json::object{{"envoy_gateway_bind_tagged_addresses",
                                                                   r.wan_address != r.lan_address}}}}},
                    // The server checks that the gateway listens; failing, it gets no traffic.
                    {"Check", json::object{{"CheckID", r.id + ":tcp"},
                                           {"Name", "mesh gateway listening on " + r.lan_address},
                                           {"TCP", r.lan_address},
                                           {"Interval", "10s"},
                                           {"Timeout", "2s"}}}};
  const auto response = server.request("PUT", "/v1/agent/service/register", json::serialize(body));
  if (!response.ok()) throw std::runtime_error("registering " + r.id + ": " + response.error_message());
  log()->info("registered {} ({}): LAN {}, WAN {}", r.id, r.service, r.lan_address, r.wan_address);
}

gateway_config listening_only(const std::string& lan_address) {
  const auto endpoint = net::parse_endpoint(lan_address);
  if (!endpoint || endpoint->port() == 0) {
    throw std::runtime_error("-address: \"" + lan_address + "\" is not IP:PORT with a port");
  }
  gateway_config config;
  config.listeners.push_back({"default", *endpoint});
  return config;
}

gateway_config fetch_first_config(const api::api_client& server, const std::string& proxy_id) {
  std::chrono::milliseconds pause(500);
  std::string last;
  for (;;) {
    std::string why;
    try {
      const auto r = server.request("GET", "/v1/meshgate/proxy/" + proxy_id);
      if (r.ok()) return to_config(proxycfg::parse_proxy_snapshot(r.body, proxycfg::field_check::lenient));
      if (r.status == 400) throw std::runtime_error(r.error_message());  // not a gateway: asking again will not help
      why = "the server answered " + std::to_string(r.status) + ": " + r.error_message();
    } catch (const api::unreachable& e) {
      why = e.what();
    }
    if (why != last) log()->warn("waiting for the first configuration of {}: {}", proxy_id, why);
    last = why;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(std::chrono::seconds(10)));
  }
}

server_feed::server_feed(std::string http_address, std::string token, std::string proxy_id, gateway& target)
    : proxy_id_(std::move(proxy_id)), target_(target), server_(std::move(http_address), std::move(token)) {}

server_feed::~server_feed() { stop(); }

void server_feed::start() {
  proxycfg::watch_options options;
  options.proxy_id = proxy_id_;
  proxycfg::watch_handlers handlers;
  handlers.on_snapshot = [this](const proxycfg::proxy_snapshot& snapshot, std::uint64_t index) {
    target_.apply(to_config(snapshot), "the server (index " + std::to_string(index) + ")");
  };
  handlers.on_status = [this](bool reachable, const std::string& error, std::uint64_t) {
    if (reachable && !reachable_) log()->info("server {} is reachable again", server_.address());
    if (!reachable && reachable_) log()->warn("{}; serving the last routes until it is back", error);
    if (reachable && !error.empty() && error != last_error_) log()->error("{}; retrying", error);
    reachable_ = reachable;
    last_error_ = error;
  };
  asio::co_spawn(io_, proxycfg::watch_proxy_config(server_, std::move(options), std::move(handlers)), asio::detached);
  thread_ = std::thread([this] { io_.run(); });
}

void server_feed::stop() {
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace meshgate::gateway
