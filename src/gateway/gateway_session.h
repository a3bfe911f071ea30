#pragma once
// One downstream connection from accept until its relay starts: read the ClientHello under
// its size and time caps, route by its server name, connect to an endpoint of the route's
// cluster (the next one on failure), and replay the bytes read.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <vector>

#include "gateway/connection_limit.h"
#include "gateway/gateway_snapshot.h"
#include "gateway/gateway_stats.h"

namespace meshgate::gateway {

class gateway_worker;

class gateway_session : public std::enable_shared_from_this<gateway_session> {
 public:
  using tcp = boost::asio::ip::tcp;

  gateway_session(gateway_worker& worker, std::shared_ptr<const gateway_snapshot> snapshot,
                  tcp::socket downstream, connection_slot slot);
  gateway_session(const gateway_session&) = delete;
  gateway_session& operator=(const gateway_session&) = delete;
  ~gateway_session();

  void start();

 private:
  boost::asio::awaitable<void> run();
  /// Reads until the ClientHello is whole; on refusal returns the reason to count.
  boost::asio::awaitable<std::optional<close_reason>> read_client_hello();
  /// Connects to the route's cluster, trying the next endpoint on failure.
  boost::asio::awaitable<bool> connect_upstream(const route& r, route_counters& counters);
  /// Cancels the pending operation on `target` if it is still pending after `timeout`.
  void arm_deadline(std::chrono::milliseconds timeout, tcp::socket& target);
  void disarm_deadline();
  void refuse(close_reason reason);

  gateway_worker& worker_;
  std::shared_ptr<const gateway_snapshot> snapshot_;  // the one this connection started with
  tcp::socket downstream_;
  tcp::socket upstream_;
  boost::asio::steady_timer deadline_;
  connection_slot slot_;
  std::vector<std::uint8_t> wire_;  // bytes read from the client so far, replayed upstream
  std::string server_name_;
  std::uint32_t deadline_generation_ = 0;
  bool deadline_expired_ = false;
  bool counted_ = false;  // the close reason of this connection has been counted
};

}  // namespace meshgate::gateway
