#include "net/admin_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <memory>

namespace meshgate::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr std::size_t max_connections = 64;
constexpr auto request_deadline = std::chrono::seconds(30);
constexpr std::size_t max_header_bytes = 8 * 1024;

asio::awaitable<void> serve(beast::tcp_stream stream, const admin_handler& handler,
                            std::shared_ptr<std::size_t> open) {
  struct slot {
    std::shared_ptr<std::size_t> count;
    ~slot() { --*count; }
  } guard{std::move(open)};
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::empty_body> parser;
    parser.header_limit(max_header_bytes);
    parser.body_limit(0);
    stream.expires_after(request_deadline);
    auto [error, ignored] =
        co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    if (error) co_return;  // closed, timed out, or not HTTP: nothing to answer
    const auto& request = parser.get();
    const std::string_view target = request.target();
    const auto question = target.find('?');
    admin_request in{request.method_string(), target.substr(0, question),
                     question == std::string_view::npos ? std::string_view{}
                                                        : target.substr(question + 1)};
    admin_response out;
    try {
      out = handler(in);
    } catch (const std::exception& e) {
      out = {500, "text/plain", std::string("internal error: ") + e.what() + "\n"};
    }
    http::response<http::string_body> response{static_cast<http::status>(out.status),
                                               request.version()};
    response.set(http::field::content_type, out.content_type);
    response.set(http::field::cache_control, "no-store");
    response.keep_alive(request.keep_alive());
    response.body() = std::move(out.body);
    response.prepare_payload();
    auto [write_error, written] =
        co_await http::async_write(stream, response, asio::as_tuple(asio::use_awaitable));
    if (write_error || !response.keep_alive()) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& acceptor, const admin_handler& handler) {
  auto open = std::make_shared<std::size_t>(0);
  for (;;) {
    auto [error, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (error == asio::error::operation_aborted) co_return;
    if (error) continue;  // e.g. out of descriptors: drop this one, keep listening
    if (*open >= max_connections) continue;  // the socket closes here
    ++*open;
    asio::co_spawn(acceptor.get_executor(), serve(beast::tcp_stream(std::move(socket)), handler, open),
                   asio::detached);
  }
}

}  // namespace

admin_server::admin_server(const tcp_endpoint& endpoint, admin_handler handler)
    : acceptor_(io_), handler_(std::move(handler)) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  boost::system::error_code error;
  acceptor_.bind(endpoint, error);
  if (error) throw boost::system::system_error(error, "admin: bind " + to_string(endpoint));
  acceptor_.listen();
  local_endpoint_ = acceptor_.local_endpoint();
}

admin_server::~admin_server() { stop(); }

void admin_server::start() {
  asio::co_spawn(io_, accept_loop(acceptor_, handler_), asio::detached);
  thread_ = std::thread([this] { io_.run(); });
}

void admin_server::stop() {
  if (!thread_.joinable()) return;
  io_.stop();
  thread_.join();
}

}  // namespace meshgate::net
