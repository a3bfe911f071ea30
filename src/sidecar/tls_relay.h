#pragma once
// Moves bytes both ways between a plain socket and a TLS connection until both sides are
// done: plain bytes are encrypted onto the TLS socket, TLS records decrypted onto the plain
// one. The same relay serves the inbound listener (TLS from the mesh, plain to the local
// service) and the upstreams (plain from the application, TLS to the mesh).
//
// Half-close crosses the encryption: EOF on the plain side becomes close_notify and then a
// FIN on the TLS side; close_notify (or a bare FIN) from the TLS side becomes a FIN on the
// plain side. Back-pressure: a side that cannot take more stops the other from being read.

#include <cstddef>
#include <cstdint>
#include <memory>

#include "net/event_loop.h"
#include "net/relay.h"
#include "net/relay_scratch.h"
#include "sidecar/tls_stream.h"

namespace meshgate::sidecar {

enum class tls_relay_direction : std::uint8_t { plain_to_tls, tls_to_plain };

class tls_relay_observer {
 public:
  /// `bytes` of plaintext were handed on in `direction`.
  virtual void on_relayed(tls_relay_direction direction, std::size_t bytes) noexcept = 0;
  /// The relay is over; the owner closes both sockets (resetting them unless `finished`).
  virtual void on_relay_end(net::relay_end end) noexcept = 0;

 protected:
  ~tls_relay_observer() = default;
};

class tls_relay final : public net::ready_handler {
 public:
  tls_relay(net::event_loop& loop, net::relay_scratch& scratch, tls_relay_observer& observer) noexcept
      : loop_(loop), scratch_(scratch), observer_(observer) {}
  tls_relay(const tls_relay&) = delete;
  tls_relay& operator=(const tls_relay&) = delete;
  ~tls_relay();

  /// Starts moving bytes. `stream` has finished its handshake and outlives the relay.
  void start(int plain_fd, net::socket_readiness plain, int tls_fd, net::socket_readiness tls,
             tls_stream& stream) noexcept;
  void on_io(bool tls_side, std::uint32_t events) noexcept;
  /// Stops moving bytes (the owner closes the sockets). Idempotent.
  void stop() noexcept;
  bool running() const noexcept { return running_; }
  net::steady_clock::time_point last_activity() const noexcept { return last_activity_; }

 private:
  void on_ready() noexcept override;
  void pump_to_tls() noexcept;
  void pump_to_plain() noexcept;
  /// Sends the TLS output buffer; false if the relay must wait (or ended).
  bool flush_tls() noexcept;
  /// Sends plaintext to the plain side, parking what it cannot take; false if it must wait.
  bool write_plain(const std::byte* data, std::size_t length) noexcept;
  bool flush_plain() noexcept;
  std::size_t send_plain(const std::byte* data, std::size_t length, bool& failed) noexcept;
  /// Ends the relay once both directions have passed their EOF on.
  void finish_if_done() noexcept;
  void end(net::relay_end how) noexcept;

  net::event_loop& loop_;
  net::relay_scratch& scratch_;
  tls_relay_observer& observer_;
  tls_stream* stream_ = nullptr;
  int plain_fd_ = -1;
  int tls_fd_ = -1;
  net::socket_readiness plain_;
  net::socket_readiness tls_;
  // Plaintext the plain side could not take yet.
  std::unique_ptr<std::byte[]> pending_;
  std::size_t pending_offset_ = 0;
  std::size_t pending_length_ = 0;
  bool plain_eof_ = false;         // EOF read from the plain side; close_notify queued
  bool to_tls_done_ = false;       // ... and it and the FIN have been sent
  bool tls_eof_ = false;           // close_notify or FIN read from the TLS side
  bool to_plain_done_ = false;     // ... and passed on as a FIN
  bool to_tls_yielded_ = false;
  bool to_plain_yielded_ = false;
  bool to_plain_waits_for_output_ = false;  // a read's reply found the output buffer full
  bool running_ = false;
  net::steady_clock::time_point last_activity_{};
};

}  // namespace meshgate::sidecar
