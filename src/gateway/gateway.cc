#include "gateway/gateway.h"

#include <boost/json.hpp>

#include "common/logging.h"
#include "common/system.h"
#include "net/drain.h"

namespace meshgate::gateway {

namespace json = boost::json;

namespace {

const auto& log() {
  static const auto logger = module_logger("gateway");
  return logger;
}

// Descriptors kept aside for everything that is not a relayed connection (listeners,
// admin, logs, the epoll and timer descriptors of each worker).
constexpr std::size_t reserved_descriptors = 64;


}  // namespace

namespace {

gateway_options resolve(gateway_options options) {
  if (options.workers == 0) options.workers = usable_cpus();
  const std::size_t descriptors = raise_descriptor_limit();
  const std::size_t fit = descriptors > reserved_descriptors * 2
                              ? (descriptors - reserved_descriptors) / 2
                              : 1;
  if (options.max_connections == 0) {
    options.max_connections = fit;
  } else if (options.max_connections > fit) {
    log()->warn("-max-connections {} needs {} descriptors but the limit is {}; using {}",
                options.max_connections, options.max_connections * 2 + reserved_descriptors,
                descriptors, fit);
    options.max_connections = fit;
  }
  return options;
}

}  // namespace

gateway::gateway(gateway_options options, gateway_config config, std::filesystem::path routes_file)
    : options_(resolve(std::move(options))),
      routes_file_(std::move(routes_file)),
      stats_(options_.workers),
      limit_(options_.max_connections) {
  auto fresh = open_new_listeners(config);
  if (options_.admin_endpoint) {
    admin_ = std::make_unique<net::admin_server>(
        *options_.admin_endpoint, [this](const auto& request) { return admin(request); });
  }
  stats_.config_version.inc();
  snapshot_ = std::make_shared<const gateway_snapshot>(config, stats_, 1);
  for (std::size_t i = 0; i < options_.workers; ++i) {
    workers_.push_back(std::make_unique<gateway_worker>(i, options_, stats_, limit_));
  }
  apply_listeners(config, std::move(fresh));
}

gateway::~gateway() {
  if (admin_) admin_->stop();
  for (auto& w : workers_) w->stop();
}

std::shared_ptr<const gateway_snapshot> gateway::current() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

std::map<std::string, std::vector<net::listening_fd>> gateway::open_new_listeners(
    const gateway_config& config) const {
  std::map<std::string, std::vector<net::listening_fd>> fresh;
  for (const auto& l : config.listeners) {
    const auto open = listeners_.find(l.name);
    if (open != listeners_.end() && open->second.config == l) continue;  // unchanged: keep it
    fresh[l.name] =
        net::open_reuseport_listeners(l.endpoint, options_.workers, options_.listen_backlog);
  }
  return fresh;
}

void gateway::apply_listeners(const gateway_config& config,
                              std::map<std::string, std::vector<net::listening_fd>> fresh) {
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    const bool kept = std::any_of(config.listeners.begin(), config.listeners.end(),
                                  [&](const auto& l) { return l.name == it->first; });
    if (kept) {
      ++it;
      continue;
    }
    for (auto& w : workers_) w->remove_listener(it->first);
    log()->info("listener {}: closed ({})", it->first, net::to_string(it->second.local));
    it = listeners_.erase(it);
  }
  for (auto& [name, fds] : fresh) {
    const auto& l = *std::find_if(config.listeners.begin(), config.listeners.end(),
                                  [&](const auto& c) { return c.name == name; });
    const auto local = net::local_endpoint_of(fds.front().get());
    for (std::size_t i = 0; i < workers_.size(); ++i) workers_[i]->add_listener(name, std::move(fds[i]));
    listeners_[name] = {l, local};
    log()->info("listener {}: listening on {}", name, net::to_string(local));
  }
  std::lock_guard lock(mutex_);
  bound_.clear();
  for (const auto& [name, l] : listeners_) bound_.emplace_back(name, l.local);
}

void gateway::reload() {
  if (routes_file_.empty()) {
    log()->info("SIGHUP: nothing to re-read, the configuration comes from the server");
    return;
  }
  log()->info("SIGHUP: reloading {}", routes_file_.string());
  try {
    apply(load_gateway_config(routes_file_), routes_file_.string());
  } catch (const std::exception& e) {  // the file could not be read or is not a valid config
    stats_.reloads_failed.inc();
    log()->error("reload failed, still serving config version {}: {}", stats_.config_version.value(), e.what());
  }
}

void gateway::apply(gateway_config config, const std::string& source) {
  std::lock_guard apply_lock(apply_mutex_);
  if (const auto now = current(); now && boost::json::serialize(to_json(now->config())) ==
                                             boost::json::serialize(to_json(config))) {
    return;  // nothing new (a server answer that changed nothing this gateway uses)
  }
  try {
    auto fresh = open_new_listeners(config);  // may throw: then nothing has changed yet
    const auto version = stats_.config_version.value() + 1;
    auto snapshot = std::make_shared<const gateway_snapshot>(std::move(config), stats_, version);
    for (auto& w : workers_) w->publish(snapshot);
    apply_listeners(snapshot->config(), std::move(fresh));
    {
      std::lock_guard lock(mutex_);
      snapshot_ = snapshot;
    }
    stats_.config_version.inc();
    stats_.reloads_ok.inc();
    log()->info("configuration from {}: {} routes, {} clusters, {} listeners (config version {})", source,
                snapshot->config().routes.size(), snapshot->config().clusters.size(),
                snapshot->config().listeners.size(), version);
  } catch (const std::exception& e) {
    stats_.reloads_failed.inc();
    log()->error("cannot apply the configuration from {}, still serving config version {}: {}", source,
                 stats_.config_version.value(), e.what());
  }
}

int gateway::run() {
  for (auto& w : workers_) w->start(snapshot_);
  if (admin_) {
    admin_->start();
    const auto address = net::to_string(admin_->local_endpoint());
    log()->info("admin: listening on {}", address);
    if (!options_.admin_address_file.empty()) {
      write_file_atomically(options_.admin_address_file, address + "\n");
    }
  }
  ready_ = true;
  log()->info("gateway ready: {} workers, {} routes, max {} connections, hello cap {} bytes / {} ms",
              workers_.size(), snapshot_->config().routes.size(), limit_.max(),
              options_.max_hello_bytes, options_.hello_timeout.count());

  net::lifecycle_hooks hooks;
  hooks.reload = [this] { reload(); };
  hooks.stop_accepting = [this] {
    for (auto& w : workers_) w->stop_accepting();
  };
  hooks.open_connections = [this] { return limit_.open(); };
  hooks.abort_connections = [this] {
    for (auto& w : workers_) w->abort_connections();
  };
  hooks.on_draining = [this] {
    draining_ = true;
    ready_ = false;
  };
  net::serve_until_drained("gateway", options_.drain_timeout, hooks);
  if (admin_) admin_->stop();
  for (auto& w : workers_) w->stop();
  log()->info("gateway stopped");
  return 0;
}

net::admin_response gateway::admin(const net::admin_request& request) {
  if (request.method != "GET" && request.method != "HEAD") {
    return {405, "text/plain", "only GET is supported\n"};
  }
  if (request.path == "/ready") {
    if (ready_) return {200, "text/plain", "ready\n"};
    return {503, "text/plain", draining_ ? "draining\n" : "starting\n"};
  }
  if (request.path == "/stats") {
    const auto snapshot = current();
    return {200, "application/json", json::serialize(stats_.to_json(snapshot->route_clusters())) + "\n"};
  }
  if (request.path == "/stats/prometheus" || request.path == "/metrics") {
    return {200, "text/plain; version=0.0.4", stats_.prometheus()};
  }
  if (request.path == "/config") {
    const auto snapshot = current();
    json::object out;
    out["version"] = snapshot->version();
    out["routes_file"] = routes_file_.string();
    out["config"] = to_json(snapshot->config());
    return {200, "application/json", json::serialize(out) + "\n"};
  }
  if (request.path == "/listeners") {
    json::array out;
    std::lock_guard lock(mutex_);
    for (const auto& [name, endpoint] : bound_) {
      out.push_back({{"name", name}, {"address", net::to_string(endpoint)}});
    }
    return {200, "application/json", json::serialize(out) + "\n"};
  }
  if (request.path == "/") {
    return {200, "text/plain",
            "meshgate gateway admin\n"
            "  /ready              200 when serving, 503 while starting or draining\n"
            "  /stats              counters as JSON\n"
            "  /stats/prometheus   counters in Prometheus text format (also /metrics)\n"
            "  /config             the routes snapshot in force\n"
            "  /listeners          the addresses listened on\n"};
  }
  return {404, "text/plain", "not found; GET / lists the endpoints\n"};
}

}  // namespace meshgate::gateway
