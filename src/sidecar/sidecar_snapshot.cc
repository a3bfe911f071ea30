#include "sidecar/sidecar_snapshot.h"

#include "catalog/json_reader.h"

namespace meshgate::sidecar {

using catalog::invalid_input;

namespace {

/// "address" and "port" as an endpoint; "localhost" is the IPv4 loopback (no resolver on
/// the data path).
std::optional<net::tcp_endpoint> endpoint_of(std::string address, int port) {
  if (address == "localhost") address = "127.0.0.1";
  const bool v6 = address.find(':') != std::string::npos;
  return net::parse_endpoint((v6 ? "[" + address + "]" : address) + ":" + std::to_string(port));
}

}  // namespace

std::string upstream_listener_name(const std::string& upstream) { return "upstream:" + upstream; }

sidecar_snapshot::sidecar_snapshot(proxycfg::proxy_snapshot config, sidecar_stats& stats)
    : config_(std::move(config)) {
  if (!config_.sidecar) throw invalid_input("sidecar: this configuration is not a sidecar's");
  const auto& sc = *config_.sidecar;
  if (sc.inbound.local_service_port != 0) {
    const auto bind = endpoint_of(sc.inbound.address, sc.inbound.port);
    if (!bind) throw invalid_input("sidecar.inbound.address: \"" + sc.inbound.address + "\" is not an IP address");
    const auto local = endpoint_of(sc.inbound.local_service_address, sc.inbound.local_service_port);
    if (!local) {
      throw invalid_input("sidecar.inbound.local_service_address: \"" + sc.inbound.local_service_address +
                          "\" is not an IP address");
    }
    inbound_ = inbound_runtime{*bind, *local, stats.target(sc.destination_service, "inbound")};
  }
  for (std::size_t i = 0; i < sc.upstreams.size(); ++i) {
    const auto& u = sc.upstreams[i];
    const auto where = "sidecar.upstreams[" + std::to_string(i) + "]";
    const auto bind = endpoint_of(u.local_bind_address, u.local_bind_port);
    if (!bind) throw invalid_input(where + ".local_bind_address: \"" + u.local_bind_address + "\" is not an IP address");
    std::vector<net::tcp_endpoint> endpoints;
    for (const auto& e : u.endpoints) {
      if (const auto parsed = net::parse_endpoint(e); parsed && parsed->port() != 0) {
        endpoints.push_back(*parsed);
      } else {
        skipped_.push_back(u.name + ": endpoint \"" + e + "\" is not IP:PORT");
      }
    }
    const auto name = upstream_listener_name(u.name);
    if (upstreams_.contains(name)) throw invalid_input(where + ".name: \"" + u.name + "\" is used twice");
    upstreams_.emplace(name, std::make_unique<upstream_runtime>(u, std::move(endpoints), *bind, stats.target(u.name, "upstream")));
  }
}

const upstream_runtime* sidecar_snapshot::find_upstream(std::string_view listener_name) const noexcept {
  const auto it = upstreams_.find(listener_name);
  return it == upstreams_.end() ? nullptr : it->second.get();
}

std::map<std::string, net::tcp_endpoint> sidecar_snapshot::listeners() const {
  std::map<std::string, net::tcp_endpoint> out;
  if (inbound_) out.emplace(std::string(inbound_listener_name), inbound_->bind);
  for (const auto& [name, u] : upstreams_) out.emplace(name, u->bind);
  return out;
}

}  // namespace meshgate::sidecar
