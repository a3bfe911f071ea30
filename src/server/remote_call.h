#pragma once
// An HTTP call from one server to another (a secondary to the primary), as a coroutine.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>

namespace meshgate::server {

struct remote_response {
  unsigned status = 0;
  std::string body;
  std::string index;  // X-Consul-Index, if any
};

/// Throws boost::system::system_error if `address` (host:port) cannot be reached or does not
/// answer within `timeout`. `token` (if any) goes as X-Consul-Token: a forwarded request
/// carries its caller's.
boost::asio::awaitable<remote_response> remote_call(std::string address, std::string method, std::string target,
                                                    std::string body, std::chrono::seconds timeout,
                                                    std::string token = {});

}  // namespace meshgate::server
