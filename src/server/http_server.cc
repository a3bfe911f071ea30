#include "server/http_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include "common/logging.h"

namespace meshgate::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::as_tuple;
using asio::use_awaitable;

namespace {

const auto& log() {
  static const auto logger = module_logger("http");
  return logger;
}

/// Translates a Beast request into an api_request; false if the target is not a URL path.
bool to_api_request(http::request<http::string_body>& in, api_request& out) {
  const auto target = boost::urls::parse_origin_form(std::string_view(in.target()));
  if (!target) return false;
  out.method = std::string(in.method_string());
  out.path = target->path();  // percent-decoded
  for (const auto& p : target->params()) out.query.emplace(p.key, p.has_value ? p.value : std::string());
  for (const auto& field : in) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(field.value());
  }
  out.body = std::move(in.body());
  return true;
}

http::response<http::string_body> to_beast(api_response r, unsigned version, bool keep_alive) {
  http::response<http::string_body> out{static_cast<http::status>(r.status), version};
  out.set(http::field::content_type, r.content_type);
  for (auto& [name, value] : r.headers) out.set(name, value);
  out.keep_alive(keep_alive);
  out.body() = std::move(r.body);
  out.prepare_payload();
  return out;
}

}  // namespace

http_server::http_server(asio::io_context& io, const asio::ip::tcp::endpoint& endpoint,
                         const router& routes, http_limits limits)
    : acceptor_(io), routes_(routes), limits_(limits) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  boost::system::error_code ec;
  acceptor_.bind(endpoint, ec);
  if (ec) {
    throw boost::system::system_error(ec, "http: bind " + endpoint.address().to_string() + ":" +
                                              std::to_string(endpoint.port()));
  }
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

void http_server::start() {
  asio::co_spawn(acceptor_.get_executor(), accept_loop(), asio::detached);
}

void http_server::stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

asio::awaitable<void> http_server::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(as_tuple(use_awaitable));
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {
      log()->warn("accept failed: {}", ec.message());
      asio::steady_timer pause(acceptor_.get_executor(), std::chrono::milliseconds(50));
      co_await pause.async_wait(as_tuple(use_awaitable));
      continue;
    }
    if (open_ >= limits_.max_connections) continue;  // closed at once
    // Each session on the pool's next thread: strands are not needed, a session is one coroutine.
    asio::co_spawn(socket.get_executor(), session(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> http_server::session(asio::ip::tcp::socket socket) {
  ++open_;
  struct closer {
    std::atomic<std::size_t>& open;
    ~closer() { --open; }
  } guard{open_};
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (bool first = true;; first = false) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
    parser.body_limit(limits_.max_body_bytes);
    stream.expires_after(first ? limits_.read_timeout : limits_.idle_timeout);
    auto [ec, read] = co_await http::async_read(stream, buffer, parser, as_tuple(use_awaitable));
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::eof ||
        ec == asio::error::connection_reset) {
      break;
    }
    if (ec) {
      // Refuse what cannot be read, saying why, then close: the stream is out of step.
      unsigned status = 400;
      std::string message = "malformed HTTP request: " + ec.message();
      if (ec == http::error::body_limit) {
        status = 413;
        message = "request body larger than " + std::to_string(limits_.max_body_bytes) + " bytes";
      } else if (ec == http::error::header_limit) {
        status = 431;
        message = "request headers larger than " + std::to_string(limits_.max_header_bytes) + " bytes";
      }
      auto response = to_beast(api_response::error(status, message), 11, false);
      stream.expires_after(limits_.read_timeout);
      co_await http::async_write(stream, response, as_tuple(use_awaitable));
      break;
    }
    auto request = parser.release();
    const unsigned version = request.version();
    const bool keep_alive = request.keep_alive();
    api_request in;
    api_response out;
    if (!to_api_request(request, in)) {
      out = api_response::error(400, "request target is not a path");
    } else {
      stream.expires_never();  // a blocking query may take minutes
      try {
        out = co_await routes_.dispatch(in);
      } catch (const std::exception& e) {
        log()->error("{} {}: {}", in.method, in.path, e.what());
        out = api_response::error(500, std::string("internal error: ") + e.what());
      }
    }
    auto response = to_beast(std::move(out), version, keep_alive);
    stream.expires_after(limits_.read_timeout);
    auto [write_error, written] = co_await http::async_write(stream, response, as_tuple(use_awaitable));
    if (write_error || !keep_alive) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

}  // namespace meshgate::server
