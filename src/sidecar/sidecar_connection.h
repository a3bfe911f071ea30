#pragma once
// One connection through the sidecar, from accept to close.
//
//   inbound  (accepted from the mesh):  TLS handshake as server, requiring a client
//            certificate → authorize the verified caller → connect to the local service →
//            relay (TLS in, plain out);
//   outbound (accepted from the application on an upstream's listener): connect to an
//            endpoint (the next one on failure, within the connect timeout) → TLS handshake
//            as client with the upstream's SNI, requiring its identity → relay.
//
// Bytes the application sends before the handshake finishes wait in its socket; nothing is
// read from the plain side until the relay starts.

#include <cstdint>
#include <memory>

#include "net/connection_limit.h"
#include "net/event_loop.h"
#include "sidecar/sidecar_snapshot.h"
#include "sidecar/tls_context.h"
#include "sidecar/tls_relay.h"
#include "sidecar/tls_stream.h"

namespace meshgate::sidecar {

class sidecar_worker;

class sidecar_connection final : public net::retirable,
                                 public net::auto_unlink_hook,  // in its worker's list
                                 private net::timer_handler,
                                 private tls_relay_observer {
 public:
  /// Takes ownership of `fd`, an accepted non-blocking socket. `upstream` is null for the
  /// inbound listener.
  sidecar_connection(sidecar_worker& worker, int fd, std::shared_ptr<const sidecar_snapshot> snapshot,
                     const upstream_runtime* upstream, std::shared_ptr<const tls_context> tls,
                     net::connection_slot slot);
  sidecar_connection(const sidecar_connection&) = delete;
  sidecar_connection& operator=(const sidecar_connection&) = delete;
  ~sidecar_connection() override;

  void start();
  /// Closes the connection now (a drain that ran out of time), resetting both sides.
  void abort();

 private:
  enum class state : std::uint8_t { connecting, handshaking, relaying, closed };

  struct socket_events final : net::io_handler {
    socket_events(sidecar_connection& c, bool is_tls) : connection(c), tls(is_tls) {}
    void on_io(std::uint32_t events) noexcept override { connection.on_io(tls, events); }
    sidecar_connection& connection;
    bool tls;
  };

  bool inbound() const noexcept { return upstream_ == nullptr; }
  void on_io(bool tls_side, std::uint32_t events) noexcept;
  void on_timer() noexcept override;
  void on_relayed(tls_relay_direction direction, std::size_t bytes) noexcept override;
  void on_relay_end(net::relay_end end) noexcept override;

  void start_handshake() noexcept;
  void continue_handshake() noexcept;
  void handshake_failed() noexcept;
  void connect_next() noexcept;  // outbound: the next endpoint; inbound: the local service
  void on_connect_ready() noexcept;
  void attempt_failed(int error) noexcept;
  void start_relay() noexcept;
  void close(close_reason reason, bool reset) noexcept;
  void shut(close_reason reason, bool reset) noexcept;

  sidecar_worker& worker_;
  std::shared_ptr<const sidecar_snapshot> snapshot_;  // the one this connection started with
  const upstream_runtime* upstream_;
  std::shared_ptr<const tls_context> tls_;  // the certificate it started with
  net::connection_slot slot_;
  target_counters* counters_;
  int plain_fd_ = -1;
  int tls_fd_ = -1;
  net::socket_readiness plain_ready_;
  net::socket_readiness tls_ready_;
  socket_events plain_events_{*this, false};
  socket_events tls_events_{*this, true};
  net::timer timer_{*this};  // connect timeout, handshake timeout, then idle timeout
  handshake_check check_;
  std::unique_ptr<tls_stream> stream_;
  tls_relay relay_;
  std::uint32_t first_endpoint_ = 0;
  std::uint8_t attempt_ = 0;
  state state_ = state::connecting;
};

}  // namespace meshgate::sidecar
