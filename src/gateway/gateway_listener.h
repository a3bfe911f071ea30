#pragma once
// A worker's listening socket: accepts in batches and hands each connection to the worker.

#include <string>

#include "net/event_loop.h"
#include "net/reuseport_listener.h"

namespace meshgate::gateway {

class gateway_worker;

class gateway_listener final : public net::io_handler,
                               public net::ready_handler,
                               public net::retirable,
                               private net::timer_handler {
 public:
  gateway_listener(gateway_worker& worker, std::string name, net::listening_fd fd);
  gateway_listener(const gateway_listener&) = delete;
  gateway_listener& operator=(const gateway_listener&) = delete;
  ~gateway_listener() override;

  /// Watches the socket. Returns 0 or an errno value.
  int start();
  /// Stops accepting and closes the socket (the object is retired by the caller).
  void close() noexcept;
  const std::string& name() const noexcept { return name_; }

 private:
  void on_io(std::uint32_t events) noexcept override;
  void on_ready() noexcept override;
  void on_timer() noexcept override;
  void accept_some() noexcept;

  gateway_worker& worker_;
  std::string name_;
  net::listening_fd fd_;
  net::timer retry_{*this};
};

}  // namespace meshgate::gateway
