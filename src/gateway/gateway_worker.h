#pragma once
// One worker thread of the gateway: an event loop, its own SO_REUSEPORT listeners, and the
// connections they accepted.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "gateway/connection_limit.h"
#include "gateway/gateway_options.h"
#include "gateway/gateway_snapshot.h"
#include "gateway/gateway_stats.h"
#include "net/relay_scratch.h"
#include "net/reuseport_listener.h"
#include "net/tcp_relay.h"

namespace meshgate::gateway {

/// The public calls are made from the gateway's control thread; each is posted to the
/// worker's loop, so that everything a worker owns is touched by its own thread only.
class gateway_worker {
 public:
  gateway_worker(std::size_t index, const gateway_options& options, gateway_stats& stats,
                 connection_limit& limit);
  gateway_worker(const gateway_worker&) = delete;
  gateway_worker& operator=(const gateway_worker&) = delete;
  ~gateway_worker();

  /// Starts the thread with a first snapshot.
  void start(std::shared_ptr<const gateway_snapshot> snapshot);
  /// New connections use `snapshot`; open ones keep theirs.
  void publish(std::shared_ptr<const gateway_snapshot> snapshot);
  /// Accepts on `fd` (a listening socket made for this worker) under `name`.
  void add_listener(const std::string& name, net::listening_fd fd);
  void remove_listener(const std::string& name);
  /// Closes every listener; open connections go on (the first step of a drain).
  void stop_accepting();
  /// Ends every relay still open, counting them as drained.
  void abort_relays();
  /// Stops the loop and joins the thread; whatever is still open is closed.
  void stop();

  // For the sessions of this worker, on its thread.
  std::size_t index() const noexcept { return index_; }
  const gateway_options& options() const noexcept { return options_; }
  worker_counters& counters() noexcept { return stats_.worker(index_); }
  net::relay_scratch& scratch() noexcept { return scratch_; }
  boost::asio::io_context& io() noexcept { return io_; }
  void track(net::tcp_relay& relay) noexcept { relays_.push_back(relay); }

 private:
  struct listener {
    std::string name;
    boost::asio::ip::tcp::acceptor acceptor;
  };
  boost::asio::awaitable<void> accept_loop(std::shared_ptr<listener> l);
  void on_accept(boost::asio::ip::tcp::socket socket);

  std::size_t index_;
  const gateway_options& options_;
  gateway_stats& stats_;
  connection_limit& limit_;
  // Declared before io_ so that they outlive the connections io_ destroys at the end.
  net::relay_scratch scratch_;
  net::relay_list relays_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::shared_ptr<const gateway_snapshot> snapshot_;
  std::map<std::string, std::shared_ptr<listener>> listeners_;
  std::thread thread_;
};

}  // namespace meshgate::gateway
