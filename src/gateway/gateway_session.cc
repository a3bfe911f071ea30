#include "gateway/gateway_session.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>

#include "common/logging.h"
#include "gateway/gateway_worker.h"
#include "net/endpoint.h"
#include "tls/client_hello_parser.h"

namespace meshgate::gateway {

namespace asio = boost::asio;
using asio::as_tuple;
using asio::use_awaitable;

namespace {

const auto& log() {
  static const auto logger = module_logger("gateway");
  return logger;
}

/// Counts a relayed connection's bytes and end on its route and worker.
class route_observer final : public net::relay_observer {
 public:
  route_observer(std::shared_ptr<route_stats> stats, route_counters& route,
                 worker_counters& worker, connection_slot slot)
      : stats_(std::move(stats)), route_(route), worker_(worker), slot_(std::move(slot)) {}

  void on_bytes(net::relay_direction direction, std::size_t bytes) noexcept override {
    if (direction == net::relay_direction::downstream_to_upstream) {
      route_.bytes_to_upstream.inc(bytes);
    } else {
      route_.bytes_to_downstream.inc(bytes);
    }
  }
  void on_end(net::relay_end end) noexcept override {
    const auto reason = close_reason_for(end);
    route_.closed[static_cast<std::size_t>(reason)].inc();
    route_.active.dec();
    worker_.count_close(reason);
    slot_.reset();
  }

 private:
  std::shared_ptr<route_stats> stats_;  // keeps route_ alive past a reload
  route_counters& route_;
  worker_counters& worker_;
  connection_slot slot_;
};

void set_no_delay(asio::ip::tcp::socket& socket) {
  // Relayed TLS records must not wait for Nagle: the gateway adds no batching of its own.
  const int on = 1;
  ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

}  // namespace

gateway_session::gateway_session(gateway_worker& worker,
                                 std::shared_ptr<const gateway_snapshot> snapshot,
                                 tcp::socket downstream, connection_slot slot)
    : worker_(worker),
      snapshot_(std::move(snapshot)),
      downstream_(std::move(downstream)),
      upstream_(worker.io()),
      deadline_(worker.io()),
      slot_(std::move(slot)) {}

gateway_session::~gateway_session() {
  // Only when the worker shuts down with this connection still being set up.
  if (!counted_) worker_.counters().count_close(close_reason::drained);
}

void gateway_session::start() {
  asio::co_spawn(worker_.io(), [self = shared_from_this()] { return self->run(); },
                 [](std::exception_ptr error) {
                   // Nothing on this path throws by design; if something does, the
                   // connection is closed (its session is gone) and the loop goes on.
                   if (!error) return;
                   try {
                     std::rethrow_exception(error);
                   } catch (const std::exception& e) {
                     log()->error("session failed: {}", e.what());
                   }
                 });
}

void gateway_session::refuse(close_reason reason) {
  counted_ = true;
  worker_.counters().count_close(reason);
  boost::system::error_code ignored;
  downstream_.close(ignored);
  if (log()->should_log(spdlog::level::debug)) {
    log()->debug("closed connection: {}{}{}", to_string(reason),
                 server_name_.empty() ? "" : ", sni ", server_name_);
  }
}

void gateway_session::arm_deadline(std::chrono::milliseconds timeout, tcp::socket& target) {
  deadline_expired_ = false;
  deadline_.expires_after(timeout);
  // The generation tells a stale expiry (queued just before the deadline was disarmed or
  // moved) from the current one.
  deadline_.async_wait([self = shared_from_this(), generation = ++deadline_generation_,
                        &target](auto error) {
    if (error || generation != self->deadline_generation_) return;
    self->deadline_expired_ = true;
    boost::system::error_code ignored;
    target.cancel(ignored);  // the pending wait or connect completes with operation_aborted
  });
}

void gateway_session::disarm_deadline() {
  ++deadline_generation_;
  deadline_.cancel();
}

asio::awaitable<void> gateway_session::run() {
  boost::system::error_code ignored;
  downstream_.non_blocking(true, ignored);

  if (const auto refused = co_await read_client_hello()) {
    refuse(*refused);
    co_return;
  }
  disarm_deadline();

  const route* r = snapshot_->find_route(server_name_);
  if (r == nullptr) {
    refuse(close_reason::unknown_sni);
    co_return;
  }
  auto& counters = r->stats->slot(worker_.index());
  counters.connections.inc();
  counters.active.inc();

  if (!co_await connect_upstream(*r, counters)) {
    counters.closed[static_cast<std::size_t>(close_reason::upstream_unavailable)].inc();
    counters.active.dec();
    refuse(close_reason::upstream_unavailable);
    co_return;
  }
  set_no_delay(upstream_);

  // Replay what the client sent so far, byte for byte: the upstream completes the TLS
  // handshake with the client as if the gateway were not there.
  auto [error, written] =
      co_await asio::async_write(upstream_, asio::buffer(wire_), as_tuple(use_awaitable));
  std::vector<std::uint8_t>().swap(wire_);  // an open connection holds no buffer
  auto observer = std::make_unique<route_observer>(r->stats, counters, worker_.counters(),
                                                   std::move(slot_));
  if (!error) observer->on_bytes(net::relay_direction::downstream_to_upstream, written);
  counted_ = true;  // from here on the relay counts the end of this connection
  auto relay = std::make_shared<net::tcp_relay>(std::move(downstream_), std::move(upstream_),
                                                worker_.scratch(), std::move(observer),
                                                net::relay_options{worker_.options().idle_timeout});
  worker_.track(*relay);
  if (error) {
    relay->abort(net::relay_end::reset);
  } else {
    relay->start();
  }
}

asio::awaitable<std::optional<close_reason>> gateway_session::read_client_hello() {
  const auto& options = worker_.options();
  tls::client_hello_parser parser(options.max_hello_bytes);
  const std::size_t cap = tls::client_hello_parser::max_wire_bytes(options.max_hello_bytes);
  arm_deadline(options.hello_timeout, downstream_);

  // Read into the worker's shared chunk when the socket is readable, then keep exactly the
  // bytes received: a slow client parks no buffer bigger than what it sent. The bytes are
  // kept in user space for the replay; the kernel's receive buffer is never relied on.
  const auto chunk = worker_.scratch().chunk();
  for (;;) {
    const std::size_t room = std::min(chunk.size(), cap - wire_.size());
    const ssize_t n = ::recv(downstream_.native_handle(), chunk.data(), room, 0);
    if (n > 0) {
      const auto* bytes = reinterpret_cast<const std::uint8_t*>(chunk.data());
      wire_.insert(wire_.end(), bytes, bytes + n);
      switch (parser.parse(wire_)) {
        case tls::hello_status::complete:
          server_name_ = parser.server_name();
          co_return std::nullopt;
        case tls::hello_status::rejected:
          co_return close_reason_for(parser.error());
        case tls::hello_status::need_more:
          if (wire_.size() >= cap) co_return close_reason::hello_too_large;
          continue;
      }
    }
    if (n == 0) co_return close_reason::client_closed;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) co_return close_reason::client_closed;
    auto [error] = co_await downstream_.async_wait(tcp::socket::wait_read, as_tuple(use_awaitable));
    if (deadline_expired_) co_return close_reason::hello_timeout;
    if (error) co_return close_reason::client_closed;
  }
}

asio::awaitable<bool> gateway_session::connect_upstream(const route& r, route_counters& counters) {
  const auto& config = r.target->config();
  const std::size_t attempts = r.target->attempts();
  const std::size_t first = r.target->first_endpoint();
  for (std::size_t i = 0; i < attempts; ++i) {
    const auto& endpoint = config.endpoints[(first + i) % config.endpoints.size()];
    boost::system::error_code error;
    upstream_.open(endpoint.protocol(), error);
    if (!error) {
      arm_deadline(config.connect_timeout, upstream_);
      std::tie(error) = co_await upstream_.async_connect(endpoint, as_tuple(use_awaitable));
      if (deadline_expired_) error = asio::error::timed_out;
      disarm_deadline();
    }
    if (!error) co_return true;
    counters.upstream_connect_failures.inc();
    log()->warn("route {}: connect to {} failed: {} (attempt {} of {})", r.pattern,
                net::to_string(endpoint), error.message(), i + 1, attempts);
    boost::system::error_code ignored;
    upstream_.close(ignored);
  }
  if (attempts == 0) log()->warn("route {}: cluster {} has no endpoints", r.pattern, config.name);
  co_return false;
}

}  // namespace meshgate::gateway
