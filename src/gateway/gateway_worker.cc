#include "gateway/gateway_worker.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/logging.h"
#include "gateway/gateway_session.h"

namespace meshgate::gateway {

namespace asio = boost::asio;

namespace {
const auto& log() {
  static const auto logger = module_logger("gateway");
  return logger;
}
}  // namespace

gateway_worker::gateway_worker(std::size_t index, const gateway_options& options,
                               gateway_stats& stats, connection_limit& limit)
    : index_(index),
      options_(options),
      stats_(stats),
      limit_(limit),
      scratch_(options.relay_chunk_bytes),
      // One thread runs this loop, and only it touches its sockets: no locking in the
      // reactor's I/O path (posting from other threads stays safe).
      io_(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO),
      work_(io_.get_executor()) {}

gateway_worker::~gateway_worker() { stop(); }

void gateway_worker::start(std::shared_ptr<const gateway_snapshot> snapshot) {
  snapshot_ = std::move(snapshot);
  thread_ = std::thread([this] {
    for (;;) {
      try {
        io_.run();
        return;
      } catch (const std::exception& e) {
        // A handler threw: log it and keep serving the other connections.
        log()->error("worker {}: {}", index_, e.what());
      }
    }
  });
}

void gateway_worker::publish(std::shared_ptr<const gateway_snapshot> snapshot) {
  asio::post(io_, [this, snapshot = std::move(snapshot)]() mutable {
    snapshot_ = std::move(snapshot);
  });
}

void gateway_worker::add_listener(const std::string& name, net::listening_fd fd) {
  auto owned = std::make_shared<net::listening_fd>(std::move(fd));
  asio::post(io_, [this, name, owned] {
    const auto endpoint = net::local_endpoint_of(owned->get());
    auto l = std::make_shared<listener>(listener{name, asio::ip::tcp::acceptor(io_)});
    l->acceptor.assign(endpoint.protocol(), owned->release());
    if (auto old = listeners_.find(name); old != listeners_.end()) {
      boost::system::error_code ignored;
      old->second->acceptor.close(ignored);
    }
    listeners_[name] = l;
    asio::co_spawn(io_, accept_loop(l), asio::detached);
  });
}

void gateway_worker::remove_listener(const std::string& name) {
  asio::post(io_, [this, name] {
    if (auto it = listeners_.find(name); it != listeners_.end()) {
      boost::system::error_code ignored;
      it->second->acceptor.close(ignored);
      listeners_.erase(it);
    }
  });
}

void gateway_worker::stop_accepting() {
  asio::post(io_, [this] {
    for (auto& [name, l] : listeners_) {
      boost::system::error_code ignored;
      l->acceptor.close(ignored);
    }
    listeners_.clear();
  });
}

void gateway_worker::abort_relays() {
  asio::post(io_, [this] {
    // abort() unlinks nothing by itself, but may end the last reference: walk a copy.
    std::vector<std::shared_ptr<net::tcp_relay>> open;
    for (auto& relay : relays_) open.push_back(relay.shared_from_this());
    for (auto& relay : open) relay->abort(net::relay_end::aborted);
  });
}

void gateway_worker::stop() {
  if (!thread_.joinable()) return;
  work_.reset();
  io_.stop();
  thread_.join();
}

asio::awaitable<void> gateway_worker::accept_loop(std::shared_ptr<listener> l) {
  auto& counters = this->counters();
  for (;;) {
    auto [error, socket] = co_await l->acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (error == asio::error::operation_aborted || !l->acceptor.is_open()) co_return;
    if (error) {
      // Typically out of descriptors. Back off briefly instead of spinning on a listener
      // the kernel keeps reporting ready; established connections are unaffected.
      counters.accept_errors.inc();
      log()->warn("listener {}: accept failed: {}", l->name, error.message());
      asio::steady_timer pause(io_, std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    on_accept(std::move(socket));
  }
}

void gateway_worker::on_accept(asio::ip::tcp::socket socket) {
  auto& counters = this->counters();
  counters.accepted.inc();
  counters.active.inc();
  if (!limit_.try_acquire()) {
    counters.count_close(close_reason::connection_limit);
    return;  // `socket` closes here, at once
  }
  const int on = 1;
  ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  std::make_shared<gateway_session>(*this, snapshot_, std::move(socket), connection_slot(limit_))
      ->start();
}

}  // namespace meshgate::gateway
