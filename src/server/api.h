#pragma once
// Requests and responses of the HTTP API, independent of the HTTP library.

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace meshgate::server {

struct api_request {
  std::string method;  // "GET", "PUT", ...
  std::string path;    // decoded, without the query
  std::multimap<std::string, std::string> query;  // decoded
  std::map<std::string, std::string> headers;     // lower-case names
  std::string body;
  std::string param;   // the trailing path segment of a prefix route (":name")

  bool has(const std::string& name) const { return query.contains(name); }
  std::string get(const std::string& name, std::string fallback = {}) const;
  std::vector<std::string> all(const std::string& name) const;
  /// The ACL token: X-Consul-Token, or "Authorization: Bearer <token>".
  std::string token() const;
};

struct api_response {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;

  static api_response json(const boost::json::value& v, unsigned status = 200);
  /// An error: `{"Error": message}` with `status`.
  static api_response error(unsigned status, std::string message);
  static api_response empty() { return {200, "", "application/json", {}}; }
};

/// An error a handler wants answered with `status` and `message`. Invalid input is
/// thrown as catalog::invalid_input and answered 400.
class api_error : public std::runtime_error {
 public:
  api_error(unsigned status, const std::string& message) : std::runtime_error(message), status_(status) {}
  unsigned status() const noexcept { return status_; }

 private:
  unsigned status_;
};

using api_handler = std::function<boost::asio::awaitable<api_response>(const api_request&)>;

/// Method + path -> handler. A route ending in "/" takes one more path segment as its
/// parameter ("/v1/catalog/service/" matches "/v1/catalog/service/web", param "web"); one
/// ending in "/*" takes the rest of the path, slashes included.
class router {
 public:
  void add(std::string method, std::string path, api_handler handler);
  /// Asked first about every request: an answer from elsewhere (another datacenter's
  /// server), or nullopt to dispatch here.
  using forwarder = std::function<boost::asio::awaitable<std::optional<api_response>>(const api_request&)>;
  void set_forwarder(forwarder f) { forwarder_ = std::move(f); }
  /// The handler, or a 404 / 405 response.
  boost::asio::awaitable<api_response> dispatch(api_request& request) const;

 private:
  struct route {
    std::string method;
    std::string path;
    api_handler handler;
  };
  std::vector<route> routes_;
  forwarder forwarder_;
};

}  // namespace meshgate::server
