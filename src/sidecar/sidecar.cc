#include "sidecar/sidecar.h"

#include <boost/json.hpp>

#include "common/logging.h"
#include "common/system.h"
#include "net/drain.h"
#include "common/timestamp.h"

namespace meshgate::sidecar {

namespace json = boost::json;

namespace {

const auto& log() {
  static const auto logger = module_logger("proxy");
  return logger;
}

// Descriptors kept aside for listeners, admin, logs, epoll and the control client.
constexpr std::size_t reserved_descriptors = 64;

sidecar_options resolve(sidecar_options options) {
  if (options.workers == 0) options.workers = 1;
  const std::size_t descriptors = raise_descriptor_limit();
  const std::size_t fit = descriptors > reserved_descriptors * 2 ? (descriptors - reserved_descriptors) / 2 : 1;
  if (options.max_connections == 0 || options.max_connections > fit) options.max_connections = fit;
  return options;
}

}  // namespace

sidecar::sidecar(sidecar_options options)
    : options_(resolve(std::move(options))), stats_(options_.workers), limit_(options_.max_connections) {
  if (options_.admin_endpoint) {
    admin_ = std::make_unique<net::admin_server>(*options_.admin_endpoint,
                                                 [this](const auto& request) { return admin(request); });
  }
  for (std::size_t i = 0; i < options_.workers; ++i) {
    workers_.push_back(std::make_unique<sidecar_worker>(i, options_, stats_, limit_, authorizer_));
    workers_.back()->start();
  }
  if (admin_) {
    admin_->start();
    const auto address = net::to_string(admin_->local_endpoint());
    log()->info("admin: listening on {}", address);
    if (!options_.admin_address_file.empty()) write_file_atomically(options_.admin_address_file, address + "\n");
  }
}

sidecar::~sidecar() {
  if (admin_) admin_->stop();
  for (auto& w : workers_) w->stop();
}

void sidecar::apply_config(proxycfg::proxy_snapshot config) {
  if (draining_) return;  // a drain has closed the listeners for good
  auto snapshot = std::make_shared<const sidecar_snapshot>(std::move(config), stats_);
  const auto wanted = snapshot->listeners();
  // Bind everything new first: if an address is taken, nothing has changed yet.
  std::map<std::string, std::vector<net::listening_fd>> fresh;
  for (const auto& [name, endpoint] : wanted) {
    const auto open = listeners_.find(name);
    if (open != listeners_.end() && open->second.requested == endpoint) continue;  // unchanged: keep it
    try {
      fresh[name] = net::open_reuseport_listeners(endpoint, workers_.size(), options_.listen_backlog);
    } catch (const boost::system::system_error& e) {
      throw boost::system::system_error(e.code(), "listener " + name);
    }
  }
  std::vector<std::string> closed;
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    if (wanted.contains(it->first)) {
      ++it;
      continue;
    }
    log()->info("listener {}: closed ({})", it->first, net::to_string(it->second.local));
    closed.push_back(it->first);
    it = listeners_.erase(it);
  }
  std::vector<std::map<std::string, net::listening_fd>> per_worker(workers_.size());
  for (auto& [name, fds] : fresh) {
    const auto local = net::local_endpoint_of(fds.front().get());
    for (std::size_t i = 0; i < workers_.size(); ++i) per_worker[i].emplace(name, std::move(fds[i]));
    listeners_[name] = {wanted.at(name), local};
    log()->info("listener {}: listening on {}", name, net::to_string(local));
  }
  for (std::size_t i = 0; i < workers_.size(); ++i) workers_[i]->apply(snapshot, std::move(per_worker[i]), closed);
  for (const auto& skipped : snapshot->skipped()) log()->warn("configuration: {}", skipped);
  std::lock_guard lock(mutex_);
  snapshot_ = std::move(snapshot);
  bound_.clear();
  for (const auto& [name, l] : listeners_) bound_.emplace(name, l.local);
  stats_.control.config_updates.inc();
}

void sidecar::apply_certificate(std::shared_ptr<const tls_context> tls) {
  for (auto& w : workers_) w->set_tls(tls);
  std::lock_guard lock(mutex_);
  tls_ = std::move(tls);
}

void sidecar::set_control_status(json::object status) {
  std::lock_guard lock(mutex_);
  control_status_ = std::move(status);
}

std::shared_ptr<const sidecar_snapshot> sidecar::current_config() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

std::shared_ptr<const tls_context> sidecar::current_tls() const {
  std::lock_guard lock(mutex_);
  return tls_;
}

std::map<std::string, net::tcp_endpoint> sidecar::bound_listeners() const {
  std::lock_guard lock(mutex_);
  return bound_;
}

int sidecar::run(std::function<void()> reload) {
  net::lifecycle_hooks hooks;
  hooks.reload = std::move(reload);
  hooks.stop_accepting = [this] {
    for (auto& w : workers_) w->stop_accepting();
  };
  hooks.open_connections = [this] { return limit_.open(); };
  hooks.abort_connections = [this] {
    for (auto& w : workers_) w->abort_connections();
  };
  hooks.on_draining = [this] { draining_ = true; };
  net::serve_until_drained("proxy", options_.drain_timeout, hooks);
  if (admin_) admin_->stop();
  for (auto& w : workers_) w->stop();
  log()->info("proxy stopped");
  return 0;
}

std::string sidecar::not_ready_reason() const {
  if (draining_) return "draining";
  std::lock_guard lock(mutex_);
  if (!snapshot_) return "waiting for a configuration";
  if (!tls_) return "waiting for a certificate";
  return {};
}

net::admin_response sidecar::admin(const net::admin_request& request) {
  if (request.method != "GET" && request.method != "HEAD") return {405, "text/plain", "only GET is supported\n"};
  if (request.path == "/ready") {
    const auto why = not_ready_reason();
    if (why.empty()) return {200, "text/plain", "ready\n"};
    return {503, "text/plain", why + "\n"};
  }
  if (request.path == "/stats") return {200, "application/json", json::serialize(stats_.to_json()) + "\n"};
  if (request.path == "/stats/prometheus" || request.path == "/metrics") {
    return {200, "text/plain; version=0.0.4", stats_.prometheus()};
  }
  if (request.path == "/config") {
    const auto snapshot = current_config();
    if (!snapshot) return {503, "text/plain", "no configuration yet\n"};
    return {200, "application/json", json::serialize(proxycfg::to_json(snapshot->config())) + "\n"};
  }
  if (request.path == "/certificates") {
    json::object out;
    {
      std::lock_guard lock(mutex_);
      out = control_status_;
      if (tls_) {
        out["serial"] = tls_->serial();
        out["identity"] = tls_->identity();
        out["valid_after"] = rfc3339(tls_->not_before());
        out["valid_before"] = rfc3339(tls_->not_after());
        out["trust_domain"] = tls_->trust_domain();
        out["roots"] = tls_->root_count();
        out["verified_peer_chains"] = tls_->verified_chains();
      }
    }
    return {200, "application/json", json::serialize(out) + "\n"};
  }
  if (request.path == "/listeners") {
    json::array out;
    for (const auto& [name, endpoint] : bound_listeners()) {
      out.push_back({{"name", name}, {"address", net::to_string(endpoint)}});
    }
    return {200, "application/json", json::serialize(out) + "\n"};
  }
  if (request.path == "/") {
    return {200, "text/plain",
            "meshgate proxy admin\n"
            "  /ready              200 when serving, 503 while starting (and why) or draining\n"
            "  /stats              counters as JSON, per listener and close reason\n"
            "  /stats/prometheus   counters in Prometheus text format (also /metrics)\n"
            "  /config             the configuration snapshot in force\n"
            "  /certificates       the certificate in use, its renewal, the server's reachability\n"
            "  /listeners          the addresses listened on\n"};
  }
  return {404, "text/plain", "not found; GET / lists the endpoints\n"};
}

}  // namespace meshgate::sidecar
