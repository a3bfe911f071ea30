#pragma once
// The sidecar process: workers, listeners reconciled with each configuration, the current
// certificate, drain, and the admin endpoint. What feeds it (the server, or a file) lives
// elsewhere and calls apply_config() and apply_certificate().

#include <atomic>
#include <boost/json/value.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "net/admin_server.h"
#include "net/connection_limit.h"
#include "proxycfg/proxy_snapshot.h"
#include "sidecar/authorizer.h"
#include "sidecar/sidecar_options.h"
#include "sidecar/sidecar_snapshot.h"
#include "sidecar/sidecar_stats.h"
#include "sidecar/sidecar_worker.h"
#include "sidecar/tls_context.h"

namespace meshgate::sidecar {

class sidecar {
 public:
  /// Starts the workers and binds the admin endpoint (throws boost::system::system_error
  /// naming the address). Nothing is accepted until a configuration arrives.
  explicit sidecar(sidecar_options options);
  sidecar(const sidecar&) = delete;
  sidecar& operator=(const sidecar&) = delete;
  ~sidecar();

  /// Applies a configuration: listeners open and close to match it, new connections use it,
  /// open ones keep theirs. Throws catalog::invalid_input (a configuration that cannot be
  /// used) or boost::system::system_error (an address that cannot be bound); then nothing
  /// has changed. Called from one control thread at a time.
  void apply_config(proxycfg::proxy_snapshot config);
  /// New connections present this certificate and trust its roots.
  void apply_certificate(std::shared_ptr<const tls_context> tls);
  /// What the feeder wants operators to see at /certificates and /ready (renewal time,
  /// the server's reachability).
  void set_control_status(boost::json::object status);

  /// Serves until SIGTERM or SIGINT, then drains. SIGHUP calls `reload` (if given).
  int run(std::function<void()> reload);

  sidecar_stats& stats() noexcept { return stats_; }
  std::shared_ptr<const sidecar_snapshot> current_config() const;
  std::shared_ptr<const tls_context> current_tls() const;
  /// Where each listener is bound, by name (for logs, tests and /listeners).
  std::map<std::string, net::tcp_endpoint> bound_listeners() const;

 private:
  struct bound_listener {
    net::tcp_endpoint requested;
    net::tcp_endpoint local;
  };
  net::admin_response admin(const net::admin_request& request);
  std::string not_ready_reason() const;

  sidecar_options options_;
  sidecar_stats stats_;
  net::connection_limit limit_;
  allow_all_connections authorizer_;
  std::vector<std::unique_ptr<sidecar_worker>> workers_;
  std::map<std::string, bound_listener> listeners_;  // control thread only
  mutable std::mutex mutex_;  // guards what the admin thread reads below
  std::shared_ptr<const sidecar_snapshot> snapshot_;
  std::shared_ptr<const tls_context> tls_;
  std::map<std::string, net::tcp_endpoint> bound_;
  boost::json::object control_status_;
  std::atomic<bool> draining_{false};
  std::unique_ptr<net::admin_server> admin_;
};

}  // namespace meshgate::sidecar
