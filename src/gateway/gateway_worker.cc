#include "gateway/gateway_worker.h"

#include <unistd.h>

#include <cstring>

#include "common/logging.h"
#include "gateway/gateway_connection.h"

namespace meshgate::gateway {

namespace {
const auto& log() {
  static const auto logger = module_logger("gateway");
  return logger;
}
constexpr auto accept_retry_delay = std::chrono::milliseconds(50);
}  // namespace

gateway_worker::gateway_worker(std::size_t index, const gateway_options& options,
                               gateway_stats& stats, net::connection_limit& limit)
    : index_(index),
      options_(options),
      stats_(stats),
      limit_(limit),
      scratch_(options.relay_chunk_bytes),
      hello_timers_(options.hello_timeout),
      idle_timers_(options.idle_timeout),
      retry_timers_(accept_retry_delay),
      loop_(options.busy_poll, &stats.worker(index).busy_poll) {
  loop_.add_timer_queue(hello_timers_);
  loop_.add_timer_queue(idle_timers_);
  loop_.add_timer_queue(retry_timers_);
}

gateway_worker::~gateway_worker() {
  stop();
  // The thread is gone: close what is left, here, while the loop and queues still exist.
  while (!connections_.empty()) delete &connections_.front();  // unlinks itself
  for (auto& [name, l] : listeners_) delete l;
  listeners_.clear();
}

void gateway_worker::start(std::shared_ptr<const gateway_snapshot> snapshot) {
  snapshot_ = std::move(snapshot);
  thread_ = std::thread([this] { loop_.run(); });
}

void gateway_worker::publish(std::shared_ptr<const gateway_snapshot> snapshot) {
  loop_.post([this, snapshot = std::move(snapshot)]() mutable { snapshot_ = std::move(snapshot); });
}

void gateway_worker::add_listener(const std::string& name, net::listening_fd fd) {
  auto owned = std::make_shared<net::listening_fd>(std::move(fd));
  loop_.post([this, name, owned] {
    auto l = std::make_unique<net::acceptor>(loop_, retry_timers_, *this, name, std::move(*owned));
    if (const int error = l->start(); error != 0) {
      log()->error("worker {}: cannot watch listener {}: {}", index_, name, std::strerror(error));
      return;
    }
    if (auto old = listeners_.find(name); old != listeners_.end()) {
      old->second->close();
      loop_.retire(old->second);
    }
    listeners_[name] = l.release();
  });
}

void gateway_worker::remove_listener(const std::string& name) {
  loop_.post([this, name] {
    if (auto it = listeners_.find(name); it != listeners_.end()) {
      it->second->close();
      loop_.retire(it->second);
      listeners_.erase(it);
    }
  });
}

void gateway_worker::stop_accepting() {
  // Waits, so that whoever drains can say "not ready" knowing that nothing accepts any more.
  if (!net::close_all_on_loop(loop_, listeners_)) {
    log()->warn("worker {}: its listeners were not closed within {} s", index_, net::listener_close_timeout.count());
  }
}

void gateway_worker::abort_connections() {
  loop_.post([this] {
    while (!connections_.empty()) connections_.front().abort();  // unlinks itself
  });
}

void gateway_worker::stop() {
  if (!thread_.joinable()) return;
  loop_.stop();
  thread_.join();
}

net::timer_queue& gateway_worker::connect_timers(std::chrono::milliseconds timeout) {
  auto& queue = connect_timers_[timeout];
  if (!queue) {
    queue = std::make_unique<net::timer_queue>(timeout);
    loop_.add_timer_queue(*queue);
  }
  return *queue;
}

void gateway_worker::on_accept_error(net::acceptor& from, int error) noexcept {
  counters().accept_errors.inc();
  log()->warn("listener {}: accept failed: {}; retrying in {} ms", from.name(), std::strerror(error),
              retry_timers_.duration().count());
}

void gateway_worker::on_accepted(net::acceptor&, int fd) noexcept {
  auto& c = counters();
  c.accepted.inc();
  c.active.inc();
  if (!limit_.try_acquire()) {
    c.count_close(close_reason::connection_limit);
    ::close(fd);
    return;
  }
  auto* connection = new gateway_connection(*this, fd, snapshot_, net::connection_slot(limit_));
  connections_.push_back(*connection);
  connection->start();
}

bool gateway_worker::may_log() noexcept {
  const auto now = loop_.now();
  if (now - last_log_ < std::chrono::seconds(1)) {
    ++suppressed_logs_;
    return false;
  }
  if (suppressed_logs_ > 0) {
    log()->warn("worker {}: {} more connection warnings in the last second (see /stats)",
                index_, suppressed_logs_);
  }
  last_log_ = now;
  suppressed_logs_ = 0;
  return true;
}

void gateway_worker::log_refusal(close_reason reason, std::string_view server_name) {
  if (log()->should_log(spdlog::level::debug)) {
    log()->debug("refused a connection: {} (server name \"{}\")", to_string(reason), server_name);
  }
}

void gateway_worker::log_connect_failure(const route& r, const net::tcp_endpoint& endpoint,
                                         int error, std::size_t attempt, std::size_t attempts) {
  if (!may_log()) return;
  log()->warn("route {}: connect to {} failed: {} (attempt {} of {})", r.pattern,
              net::to_string(endpoint), std::strerror(error), attempt, attempts);
}

void gateway_worker::log_upstream_unavailable(const route& r) {
  if (!may_log()) return;
  const auto& c = r.target->config();
  if (c.endpoints.empty()) {
    log()->warn("route {}: cluster {} has no endpoints; connection closed", r.pattern, c.name);
  } else {
    log()->warn("route {}: no endpoint of cluster {} answered; connection closed", r.pattern,
                c.name);
  }
}

}  // namespace meshgate::gateway
