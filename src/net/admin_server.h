#pragma once
// The small HTTP server each proxy exposes for operators: readiness, stats, config dump.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

#include "net/endpoint.h"

namespace meshgate::net {

struct admin_request {
  std::string_view method;
  std::string_view path;   // without the query
  std::string_view query;  // after '?', may be empty
};

struct admin_response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
};

/// Answers one request. Runs on the admin thread, never on a worker.
using admin_handler = std::function<admin_response(const admin_request&)>;

/// An HTTP/1.1 server on its own thread, so that a slow operator's client can never
/// delay the data plane. Requests are small (8 KiB of headers, no body), each connection
/// has a 30 s deadline, and at most 64 connections are served at once.
class admin_server {
 public:
  /// Binds now, so that a taken address is reported before anything else starts. Throws
  /// boost::system::system_error naming the address.
  admin_server(const tcp_endpoint& endpoint, admin_handler handler);
  admin_server(const admin_server&) = delete;
  admin_server& operator=(const admin_server&) = delete;
  ~admin_server();

  tcp_endpoint local_endpoint() const { return local_endpoint_; }
  void start();
  void stop();

 private:
  boost::asio::io_context io_{1};
  boost::asio::ip::tcp::acceptor acceptor_;
  tcp_endpoint local_endpoint_;
  admin_handler handler_;
  std::thread thread_;
};

}  // namespace meshgate::net
