#include "server/remote_call.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace meshgate::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

asio::awaitable<remote_response> remote_call(std::string address, std::string method, std::string target,
                                             std::string body, std::chrono::seconds timeout, std::string token) {
  auto executor = co_await asio::this_coro::executor;
  const auto colon = address.rfind(':');
  const auto host = address.substr(0, colon);
  const auto port = colon == std::string::npos ? std::string("8500") : address.substr(colon + 1);
  asio::ip::tcp::resolver resolver(executor);
  const auto endpoints = co_await resolver.async_resolve(host, port, asio::use_awaitable);
  beast::tcp_stream stream(executor);
  stream.expires_after(timeout);
  co_await stream.async_connect(endpoints, asio::use_awaitable);
  http::request<http::string_body> request{http::string_to_verb(method), target, 11};
  request.set(http::field::host, host);
  request.set(http::field::user_agent, "meshgate-server");
  if (!token.empty()) request.set("X-Consul-Token", token);
  request.body() = std::move(body);
  request.prepare_payload();
  co_await http::async_write(stream, request, asio::use_awaitable);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(16 << 20);
  co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
  remote_response out;
  out.status = parser.get().result_int();
  out.body = std::move(parser.get().body());
  if (auto it = parser.get().find("X-Consul-Index"); it != parser.get().end()) out.index = std::string(it->value());
  beast::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  co_return out;
}

}  // namespace meshgate::server
