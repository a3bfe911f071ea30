#pragma once
// One worker thread of the gateway: an event loop, its own SO_REUSEPORT listeners, and the
// connections they accepted.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "net/connection_limit.h"
#include "gateway/gateway_connection.h"
#include "gateway/gateway_options.h"
#include "gateway/gateway_snapshot.h"
#include "gateway/gateway_stats.h"
#include "net/event_loop.h"
#include "net/acceptor.h"
#include "net/relay_scratch.h"
#include "net/reuseport_listener.h"

namespace meshgate::gateway {

class gateway_connection;

/// The public calls without a "worker thread" note are made from the gateway's control
/// thread; each is posted to the worker's loop, so that everything a worker owns is only
/// ever touched by its own thread.
class gateway_worker final : public net::accept_sink {
 public:
  gateway_worker(std::size_t index, const gateway_options& options, gateway_stats& stats,
                 net::connection_limit& limit);
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
  /// Closes every connection still open, counting them as drained.
  void abort_connections();
  /// Stops the loop and joins the thread; whatever is still open is closed.
  void stop();

  // Worker thread: for the listeners and connections of this worker.
  void retire(net::retirable* object) { loop_.retire(object); }
  std::size_t index() const noexcept { return index_; }
  const gateway_options& options() const noexcept { return options_; }
  worker_counters& counters() noexcept { return stats_.worker(index_); }
  net::event_loop& loop() noexcept { return loop_; }
  net::relay_scratch& scratch() noexcept { return scratch_; }
  net::timer_queue& hello_timers() noexcept { return hello_timers_; }
  net::timer_queue& idle_timers() noexcept { return idle_timers_; }
  net::timer_queue& retry_timers() noexcept { return retry_timers_; }
  /// The queue for connect attempts of this timeout (one per distinct cluster setting).
  net::timer_queue& connect_timers(std::chrono::milliseconds timeout);

  // Worker thread: warnings about single connections, at most one per second per worker
  // (the counters have every case).
  void log_refusal(close_reason reason, std::string_view server_name);
  void log_connect_failure(const route& r, const net::tcp_endpoint& endpoint, int error,
                           std::size_t attempt, std::size_t attempts);
  void log_upstream_unavailable(const route& r);

 private:
  void on_accepted(net::acceptor& from, int fd) noexcept override;
  void on_accept_error(net::acceptor& from, int error) noexcept override;
  bool may_log() noexcept;

  std::size_t index_;
  const gateway_options& options_;
  gateway_stats& stats_;
  net::connection_limit& limit_;
  // Declared before loop_ so that they outlive it: objects the loop still has to delete
  // when it is destroyed give spares back and leave timer queues.
  net::relay_scratch scratch_;
  net::timer_queue hello_timers_;
  net::timer_queue idle_timers_;
  net::timer_queue retry_timers_;  // listeners pausing after accept() failed
  std::map<std::chrono::milliseconds, std::unique_ptr<net::timer_queue>> connect_timers_;
  net::event_loop loop_;
  std::shared_ptr<const gateway_snapshot> snapshot_;
  boost::intrusive::list<gateway_connection, boost::intrusive::constant_time_size<false>>
      connections_;
  net::acceptor_map listeners_;
  net::steady_clock::time_point last_log_{};
  std::size_t suppressed_logs_ = 0;
  std::thread thread_;
};

}  // namespace meshgate::gateway
