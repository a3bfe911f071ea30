#pragma once
// A blocking client for the meshgate server's HTTP API.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <map>
#include <stdexcept>
#include <string>

namespace meshgate::api {

/// The server could not be reached or did not answer HTTP. what() says where and why.
class unreachable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct response {
  unsigned status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  bool ok() const noexcept { return status >= 200 && status < 300; }
  /// The server's message for an error response ({"Error": ...}), or the body.
  std::string error_message() const;
};

class api_client {
 public:
  /// `address` is IP:PORT or HOST:PORT, as -http-addr takes it ("http://" optional).
  explicit api_client(std::string address, std::string token = {},
                      std::chrono::seconds timeout = std::chrono::seconds(30));
  /// Throws unreachable.
  response request(const std::string& method, const std::string& target, const std::string& body = {}) const;
  /// The same request on the calling coroutine's executor, with `timeout` for the whole
  /// exchange (a blocking query's wait plus a margin). Cancellable: a proxy that stops does
  /// not wait for a long poll to end. Throws unreachable.
  boost::asio::awaitable<response> async_request(std::string method, std::string target, std::string body,
                                                 std::chrono::milliseconds timeout) const;
  const std::string& address() const noexcept { return address_; }

 private:
  std::string address_;
  std::string host_;
  std::string port_;
  std::string token_;
  std::chrono::seconds timeout_;
};

}  // namespace meshgate::api
