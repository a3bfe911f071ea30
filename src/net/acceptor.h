#pragma once
// A worker's listening socket: accepts in batches and hands each connection to its owner.
// The gateway and the sidecar both accept this way.

#include <chrono>
#include <map>
#include <string>

#include "net/event_loop.h"
#include "net/reuseport_listener.h"

namespace meshgate::net {

class acceptor;

/// What an acceptor hands its connections to (a worker).
class accept_sink {
 public:
  /// `fd` is a new non-blocking socket, now owned by the sink.
  virtual void on_accepted(acceptor& from, int fd) noexcept = 0;
  /// accept() failed with `error` (out of descriptors or memory); the acceptor retries
  /// after its retry queue's duration.
  virtual void on_accept_error(acceptor& from, int error) noexcept = 0;

 protected:
  ~accept_sink() = default;
};

class acceptor final : public io_handler, public ready_handler, public retirable, private timer_handler {
 public:
  acceptor(event_loop& loop, timer_queue& retry_timers, accept_sink& sink, std::string name, listening_fd fd);
  acceptor(const acceptor&) = delete;
  acceptor& operator=(const acceptor&) = delete;
  ~acceptor() override;

  /// Watches the socket. Returns 0 or an errno value.
  int start();
  /// Stops accepting and closes the socket (the object is retired by the caller).
  void close() noexcept;
  const std::string& name() const noexcept { return name_; }
  /// Free for the owner: what this listener accepts for (an upstream, "inbound", ...).
  void* context = nullptr;

 private:
  void on_io(std::uint32_t events) noexcept override;
  void on_ready() noexcept override;
  void on_timer() noexcept override;
  void accept_some() noexcept;

  event_loop& loop_;
  timer_queue& retry_timers_;
  accept_sink& sink_;
  std::string name_;
  listening_fd fd_;
  timer retry_{*this};
};

/// A worker's listeners by name, each an acceptor the worker owns.
using acceptor_map = std::map<std::string, acceptor*>;

/// How long a drain waits for a worker's loop to close its listeners. A loop answers in
/// microseconds unless it is stuck; then the drain goes on rather than hang.
inline constexpr std::chrono::seconds listener_close_timeout{5};

/// For a drain: closes and retires every listener in `listeners` on `loop`'s thread and
/// waits until that has happened, so that nothing accepts afterwards. False if it had not
/// within `timeout`. Call from another thread than the loop's.
bool close_all_on_loop(event_loop& loop, acceptor_map& listeners,
                       std::chrono::milliseconds timeout = listener_close_timeout);

}  // namespace meshgate::net
