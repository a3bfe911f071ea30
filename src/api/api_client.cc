#include "api/api_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

namespace meshgate::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::string response::error_message() const {
  boost::system::error_code ec;
  const auto v = boost::json::parse(body, ec);
  if (!ec && v.is_object()) {
    if (const auto* e = v.as_object().if_contains("Error"); e && e->is_string()) return std::string(e->as_string());
  }
  auto text = body;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text.empty() ? "HTTP " + std::to_string(status) : text;
}

api_client::api_client(std::string address, std::string token, std::chrono::seconds timeout)
    : token_(std::move(token)), timeout_(timeout) {
  if (address.starts_with("http://")) address.erase(0, 7);
  while (address.ends_with('/')) address.pop_back();
  address_ = address;
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) {
    host_ = address;
    port_ = "8500";
  } else {
    host_ = address.substr(0, colon);
    port_ = address.substr(colon + 1);
  }
  if (host_.starts_with('[') && host_.ends_with(']')) host_ = host_.substr(1, host_.size() - 2);
}

namespace {

http::request<http::string_body> make_request(const std::string& method, const std::string& target,
                                              const std::string& host, const std::string& token, std::string body) {
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, host);
  req.set(http::field::user_agent, "meshgate");
  if (!token.empty()) req.set("X-Consul-Token", token);
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

response to_response(http::response<http::string_body>& r) {
  response out;
  out.status = r.result_int();
  out.body = std::move(r.body());
  for (const auto& f : r) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(f.value());
  }
  return out;
}

}  // namespace

asio::awaitable<response> api_client::async_request(std::string method, std::string target, std::string body,
                                                     std::chrono::milliseconds timeout) const {
  auto executor = co_await asio::this_coro::executor;
  beast::tcp_stream stream(executor);
  asio::ip::tcp::resolver resolver(executor);
  std::string stage = "resolve";
  try {
    const auto endpoints = co_await resolver.async_resolve(host_, port_, asio::use_awaitable);
    stream.expires_after(timeout);  // one deadline for the whole exchange
    stage = "connect";
    co_await stream.async_connect(endpoints, asio::use_awaitable);
    auto req = make_request(method, target, host_, token_, std::move(body));
    stage = "send";
    co_await http::async_write(stream, req, asio::use_awaitable);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    stage = "read the answer";
    co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
    co_return to_response(parser.get());
  } catch (const boost::system::system_error& e) {
    if (e.code() == asio::error::operation_aborted) throw;  // cancelled: the caller is stopping
    throw unreachable("cannot reach the meshgate server at " + address_ + ": " + stage + ": " + e.code().message());
  }
}

response api_client::request(const std::string& method, const std::string& target, const std::string& body) const {
  asio::io_context io;
  beast::tcp_stream stream(io);
  const auto fail = [&](const std::string& what, const boost::system::error_code& ec) -> unreachable {
    return unreachable("cannot reach the meshgate server at " + address_ + ": " + what + ": " + ec.message() +
                       " (is `meshgate server` running there? -http-addr picks another address)");
  };
  boost::system::error_code ec;
  asio::ip::tcp::resolver resolver(io);
  const auto endpoints = resolver.resolve(host_, port_, ec);
  if (ec) throw fail("resolve", ec);
  stream.expires_after(timeout_);
  stream.connect(endpoints, ec);
  if (ec) throw fail("connect", ec);
  auto req = make_request(method, target, host_, token_, body);
  http::write(stream, req, ec);
  if (ec) throw fail("send", ec);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  http::read(stream, buffer, parser, ec);
  if (ec) throw fail("read the answer", ec);
  return to_response(parser.get());
}

}  // namespace meshgate::api
