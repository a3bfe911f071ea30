#pragma once
// The gateway process: workers, configuration reloads, drain, and the admin endpoint.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "net/connection_limit.h"
#include "gateway/gateway_config.h"
#include "gateway/gateway_options.h"
#include "gateway/gateway_snapshot.h"
#include "gateway/gateway_stats.h"
#include "gateway/gateway_worker.h"
#include "net/admin_server.h"

namespace meshgate::gateway {

class gateway {
 public:
  /// Binds every listener of `initial` and the admin endpoint, so that every problem is
  /// reported before the gateway starts. `routes_file` (if any) is what SIGHUP re-reads;
  /// without one the configuration comes from the server (gateway/server_feed.h). Throws
  /// boost::system::system_error when an address cannot be bound.
  gateway(gateway_options options, gateway_config initial, std::filesystem::path routes_file = {});
  gateway(const gateway&) = delete;
  gateway& operator=(const gateway&) = delete;
  ~gateway();

  /// Serves until SIGTERM or SIGINT, then drains. SIGHUP reloads the routes file. Returns
  /// the process exit code.
  int run();

  /// Makes `config` the one in force: new listeners open, removed ones close, routes and
  /// clusters apply to new connections; open connections keep going. `source` says where it
  /// came from, for the log. On an error (an address that cannot be bound) nothing changes
  /// and the error is logged and counted. Safe from any thread.
  void apply(gateway_config config, const std::string& source);

 private:
  struct bound_listener {
    listener_config config;         // as configured (port may be 0)
    net::tcp_endpoint local;        // as bound
  };

  /// Re-reads the routes file; on any error keeps the current config and says why.
  void reload();
  /// Opens listening sockets for `config`'s listeners that are not open yet. Throws.
  std::map<std::string, std::vector<net::listening_fd>> open_new_listeners(
      const gateway_config& config) const;
  void apply_listeners(const gateway_config& config,
                       std::map<std::string, std::vector<net::listening_fd>> fresh);
  net::admin_response admin(const net::admin_request& request);
  std::shared_ptr<const gateway_snapshot> current() const;

  gateway_options options_;
  std::filesystem::path routes_file_;
  gateway_stats stats_;
  net::connection_limit limit_;
  std::vector<std::unique_ptr<gateway_worker>> workers_;
  std::mutex apply_mutex_;  // one apply at a time (SIGHUP and the server feed)
  std::map<std::string, bound_listener> listeners_;  // under apply_mutex_

  mutable std::mutex mutex_;  // guards snapshot_ and bound_ for the admin thread
  std::shared_ptr<const gateway_snapshot> snapshot_;
  std::vector<std::pair<std::string, net::tcp_endpoint>> bound_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> draining_{false};
  std::unique_ptr<net::admin_server> admin_;
};


}  // namespace meshgate::gateway
