#pragma once
// One downstream connection, from accept to close: read the ClientHello under its size and
// time caps, route by its server name, connect to an endpoint of the route's cluster (the
// next one on failure, within the connect timeout), replay the bytes read, then relay.

#include <cstdint>
#include <memory>
#include <vector>

#include "net/connection_limit.h"
#include "gateway/gateway_snapshot.h"
#include "gateway/gateway_stats.h"
#include "net/event_loop.h"
#include "net/relay.h"
#include "tls/client_hello_parser.h"

namespace meshgate::gateway {

class gateway_worker;

class gateway_connection final : public net::retirable,
                                 public net::auto_unlink_hook,  // in its worker's list
                                 private net::timer_handler,
                                 private net::relay_observer {
 public:
  /// Takes ownership of `fd`, an accepted non-blocking socket.
  gateway_connection(gateway_worker& worker, int fd,
                     std::shared_ptr<const gateway_snapshot> snapshot, net::connection_slot slot);
  gateway_connection(const gateway_connection&) = delete;
  gateway_connection& operator=(const gateway_connection&) = delete;
  ~gateway_connection() override;

  /// Watches the socket and reads whatever the client has sent already.
  void start();
  /// Closes the connection now (a drain that ran out of time), resetting both sides.
  void abort();

 private:
  enum class state : std::uint8_t { reading_hello, connecting, relaying, closed };

  /// Routes a socket's events to its connection (one per socket, so both can be watched).
  struct socket_events final : net::io_handler {
    socket_events(gateway_connection& c, bool is_upstream) : connection(c), upstream(is_upstream) {}
    void on_io(std::uint32_t events) noexcept override { connection.on_io(upstream, events); }
    gateway_connection& connection;
    bool upstream;
  };

  void on_io(bool upstream, std::uint32_t events) noexcept;
  void on_timer() noexcept override;
  void on_relayed(net::relay_direction direction, std::size_t bytes) noexcept override;
  void on_relay_end(net::relay_end end) noexcept override;

  void read_hello() noexcept;
  void choose_route() noexcept;
  void connect_next() noexcept;
  void replay() noexcept;
  void attempt_failed(int error) noexcept;
  void start_relay() noexcept;
  /// Closes both sockets, counts `reason` and hands this object to the loop to delete.
  void close(close_reason reason, bool reset) noexcept;
  /// close() without the deletion (for the destructor).
  void shut(close_reason reason, bool reset) noexcept;

  gateway_worker& worker_;
  std::shared_ptr<const gateway_snapshot> snapshot_;  // the one this connection started with
  net::connection_slot slot_;
  const route* route_ = nullptr;
  route_counters* counters_ = nullptr;  // route_'s counters for this worker
  int down_fd_;
  int up_fd_ = -1;
  net::socket_readiness down_ready_;
  net::socket_readiness up_ready_;
  socket_events down_events_{*this, false};
  socket_events up_events_{*this, true};
  net::timer timer_{*this};  // ClientHello deadline, then connect timeout, then idle timeout
  net::relay relay_;
  // Only while setting up; freed before relaying starts.
  std::unique_ptr<tls::client_hello_parser> parser_;
  std::vector<std::uint8_t> wire_;  // bytes read from the client, replayed upstream
  std::size_t replayed_ = 0;
  std::uint32_t first_endpoint_ = 0;
  std::uint8_t attempt_ = 0;
  state state_ = state::reading_hello;
};

}  // namespace meshgate::gateway
