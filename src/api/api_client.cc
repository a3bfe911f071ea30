#include "api/api_client.h"

#include <boost/asio/connect.hpp>
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
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, host_);
  req.set(http::field::user_agent, "meshgate-cli");
  if (!token_.empty()) req.set("X-Consul-Token", token_);
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req, ec);
  if (ec) throw fail("send", ec);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  http::read(stream, buffer, parser, ec);
  if (ec) throw fail("read the answer", ec);
  response out;
  out.status = parser.get().result_int();
  out.body = std::move(parser.get().body());
  for (const auto& f : parser.get()) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(f.value());
  }
  return out;
}

}  // namespace meshgate::api
