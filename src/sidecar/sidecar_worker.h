#pragma once
// One worker thread of the sidecar: an event loop, its own SO_REUSEPORT listeners (the
// inbound one and one per upstream), and the connections they accepted.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "net/acceptor.h"
#include "net/connection_limit.h"
#include "net/event_loop.h"
#include "net/relay_scratch.h"
#include "net/reuseport_listener.h"
#include "sidecar/authorizer.h"
#include "sidecar/sidecar_connection.h"
#include "sidecar/sidecar_options.h"
#include "sidecar/sidecar_snapshot.h"
#include "sidecar/sidecar_stats.h"
#include "sidecar/tls_context.h"

namespace meshgate::sidecar {

/// The public calls without a "worker thread" note come from the sidecar's control thread;
/// each is posted to the worker's loop, so that everything a worker owns is only ever
/// touched by its own thread.
class sidecar_worker final : public net::accept_sink {
 public:
  sidecar_worker(std::size_t index, const sidecar_options& options, sidecar_stats& stats,
                 net::connection_limit& limit, const connection_authorizer& authorizer);
  sidecar_worker(const sidecar_worker&) = delete;
  sidecar_worker& operator=(const sidecar_worker&) = delete;
  ~sidecar_worker();

  void start();
  /// New connections use `snapshot`; listeners in `opened` start accepting and those named
  /// in `closed` stop, all in one step (no connection can find its listener unconfigured).
  void apply(std::shared_ptr<const sidecar_snapshot> snapshot, std::map<std::string, net::listening_fd> opened,
             std::vector<std::string> closed);
  /// New connections present this certificate and trust these roots; open ones keep theirs.
  void set_tls(std::shared_ptr<const tls_context> tls);
  /// Closes every listener; open connections go on (the first step of a drain).
  void stop_accepting();
  /// Closes every connection still open, counting them as drained.
  void abort_connections();
  void stop();

  // Worker thread: for the listeners and connections of this worker.
  void on_accepted(net::acceptor& from, int fd) noexcept override;
  void on_accept_error(net::acceptor& from, int error) noexcept override;
  void retire(net::retirable* object) { loop_.retire(object); }
  std::size_t index() const noexcept { return index_; }
  const sidecar_options& options() const noexcept { return options_; }
  const connection_authorizer& authorizer() const noexcept { return authorizer_; }
  net::event_loop& loop() noexcept { return loop_; }
  net::relay_scratch& scratch() noexcept { return scratch_; }
  net::timer_queue& handshake_timers() noexcept { return handshake_timers_; }
  net::timer_queue& idle_timers() noexcept { return idle_timers_; }
  net::timer_queue& local_connect_timers() noexcept { return local_connect_timers_; }
  net::timer_queue& connect_timers(std::chrono::milliseconds timeout);
  /// Warnings about single connections, at most one per second per worker (the counters
  /// have every case).
  void log_refusal(std::string_view target, close_reason reason, std::string_view detail);
  void log_connect_failure(std::string_view target, const net::tcp_endpoint& endpoint, int error);

 private:
  bool may_log() noexcept;

  std::size_t index_;
  const sidecar_options& options_;
  sidecar_stats& stats_;
  net::connection_limit& limit_;
  const connection_authorizer& authorizer_;
  // Declared before loop_ so that they outlive it (objects the loop deletes at the end give
  // buffers back and leave timer queues).
  net::relay_scratch scratch_;
  net::timer_queue handshake_timers_;
  net::timer_queue idle_timers_;
  net::timer_queue local_connect_timers_;
  net::timer_queue retry_timers_;
  std::map<std::chrono::milliseconds, std::unique_ptr<net::timer_queue>> connect_timers_;
  net::event_loop loop_;
  std::shared_ptr<const sidecar_snapshot> snapshot_;
  std::shared_ptr<const tls_context> tls_;
  boost::intrusive::list<sidecar_connection, boost::intrusive::constant_time_size<false>> connections_;
  net::acceptor_map listeners_;
  net::steady_clock::time_point last_log_{};
  std::size_t suppressed_logs_ = 0;
  std::thread thread_;
};

}  // namespace meshgate::sidecar
