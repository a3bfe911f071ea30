#pragma once
// The HTTP server of the API: Boost.Beast sessions as Asio coroutines, on a pool of threads.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <atomic>
#include <thread>
#include <vector>

#include "server/api.h"

namespace meshgate::server {

struct http_limits {
  std::size_t max_body_bytes = 1 << 20;       // larger bodies get 413
  std::size_t max_header_bytes = 16 * 1024;   // larger headers get 431
  std::chrono::seconds read_timeout{30};      // to read one request
  std::chrono::seconds idle_timeout{120};     // a kept-alive connection with no request
  std::size_t max_connections = 20000;        // more are closed at accept
};

class http_server {
 public:
  /// Binds now (throws boost::system::system_error naming the address).
  http_server(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint,
              const router& routes, http_limits limits = {});
  boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  void start();
  void stop();
  std::size_t open_connections() const noexcept { return open_; }

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> session(boost::asio::ip::tcp::socket socket);

  boost::asio::ip::tcp::acceptor acceptor_;
  const router& routes_;
  http_limits limits_;
  std::atomic<std::size_t> open_{0};
};

}  // namespace meshgate::server
