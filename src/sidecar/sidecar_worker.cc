#include "sidecar/sidecar_worker.h"

#include <unistd.h>

#include <cstring>

#include "common/logging.h"

namespace meshgate::sidecar {

namespace {
const auto& log() {
  static const auto logger = module_logger("proxy");
  return logger;
}
constexpr auto accept_retry_delay = std::chrono::milliseconds(50);
}  // namespace

sidecar_worker::sidecar_worker(std::size_t index, const sidecar_options& options, sidecar_stats& stats,
                               net::connection_limit& limit, const connection_authorizer& authorizer)
    : index_(index),
      options_(options),
      stats_(stats),
      limit_(limit),
      authorizer_(authorizer),
      scratch_(options.relay_chunk_bytes),
      handshake_timers_(options.handshake_timeout),
      idle_timers_(options.idle_timeout),
      local_connect_timers_(options.local_connect_timeout),
      retry_timers_(accept_retry_delay),
      loop_(options.busy_poll, &stats.busy_poll(index)) {
  loop_.add_timer_queue(handshake_timers_);
  loop_.add_timer_queue(idle_timers_);
  loop_.add_timer_queue(local_connect_timers_);
  loop_.add_timer_queue(retry_timers_);
}

sidecar_worker::~sidecar_worker() {
  stop();
  while (!connections_.empty()) delete &connections_.front();  // unlinks itself
  for (auto& [name, l] : listeners_) delete l;
  listeners_.clear();
}

void sidecar_worker::start() {
  thread_ = std::thread([this] { loop_.run(); });
}

void sidecar_worker::apply(std::shared_ptr<const sidecar_snapshot> snapshot,
                           std::map<std::string, net::listening_fd> opened, std::vector<std::string> closed) {
  auto fds = std::make_shared<std::map<std::string, net::listening_fd>>(std::move(opened));
  loop_.post([this, snapshot = std::move(snapshot), fds, closed = std::move(closed)]() mutable {
    snapshot_ = std::move(snapshot);
    for (const auto& name : closed) {
      if (auto it = listeners_.find(name); it != listeners_.end()) {
        it->second->close();
        loop_.retire(it->second);
        listeners_.erase(it);
      }
    }
    for (auto& [name, fd] : *fds) {
      auto l = std::make_unique<net::acceptor>(loop_, retry_timers_, *this, name, std::move(fd));
      if (const int error = l->start(); error != 0) {
        log()->error("worker {}: cannot watch listener {}: {}", index_, name, std::strerror(error));
        continue;
      }
      if (auto old = listeners_.find(name); old != listeners_.end()) {
        old->second->close();
        loop_.retire(old->second);
      }
      listeners_[name] = l.release();
    }
  });
}

void sidecar_worker::set_tls(std::shared_ptr<const tls_context> tls) {
  loop_.post([this, tls = std::move(tls)]() mutable { tls_ = std::move(tls); });
}

void sidecar_worker::stop_accepting() {
  // Waits, so that whoever drains can say "not ready" knowing that nothing accepts any more.
  if (!net::close_all_on_loop(loop_, listeners_)) {
    log()->warn("worker {}: its listeners were not closed within {} s", index_, net::listener_close_timeout.count());
  }
}

void sidecar_worker::abort_connections() {
  loop_.post([this] {
    while (!connections_.empty()) connections_.front().abort();  // unlinks itself
  });
}

void sidecar_worker::stop() {
  if (!thread_.joinable()) return;
  loop_.stop();
  thread_.join();
}

net::timer_queue& sidecar_worker::connect_timers(std::chrono::milliseconds timeout) {
  auto& queue = connect_timers_[timeout];
  if (!queue) {
    queue = std::make_unique<net::timer_queue>(timeout);
    loop_.add_timer_queue(*queue);
  }
  return *queue;
}

void sidecar_worker::on_accept_error(net::acceptor& from, int error) noexcept {
  stats_.accept_errors(index_).inc();
  log()->warn("listener {}: accept failed: {}; retrying in {} ms", from.name(), std::strerror(error),
              retry_timers_.duration().count());
}

void sidecar_worker::on_accepted(net::acceptor& from, int fd) noexcept {
  // The snapshot and the listeners change in one step (apply()), so a listener always
  // finds its target in the current snapshot.
  const upstream_runtime* upstream = nullptr;
  target_stats* target = nullptr;
  if (from.name() == inbound_listener_name) {
    if (snapshot_ && snapshot_->inbound()) target = snapshot_->inbound()->stats.get();
  } else if (snapshot_) {
    upstream = snapshot_->find_upstream(from.name());
    if (upstream != nullptr) target = upstream->stats.get();
  }
  if (target == nullptr) {
    ::close(fd);
    return;
  }
  if (!limit_.try_acquire()) {
    auto& c = target->slot(index_);
    c.connections.inc();
    c.active.inc();
    c.count_close(close_reason::connection_limit);
    ::close(fd);
    return;
  }
  auto* connection = new sidecar_connection(*this, fd, snapshot_, upstream, tls_, net::connection_slot(limit_));
  connections_.push_back(*connection);
  connection->start();
}

bool sidecar_worker::may_log() noexcept {
  const auto now = loop_.now();
  if (now - last_log_ < std::chrono::seconds(1)) {
    ++suppressed_logs_;
    return false;
  }
  if (suppressed_logs_ > 0) {
    log()->warn("worker {}: {} more connection warnings in the last second (see /stats)", index_, suppressed_logs_);
  }
  last_log_ = now;
  suppressed_logs_ = 0;
  return true;
}

void sidecar_worker::log_refusal(std::string_view target, close_reason reason, std::string_view detail) {
  if (!may_log()) return;
  if (detail.empty()) {
    log()->warn("{}: connection refused: {}", target, to_string(reason));
  } else {
    log()->warn("{}: connection refused: {} ({})", target, to_string(reason), detail);
  }
}

void sidecar_worker::log_connect_failure(std::string_view target, const net::tcp_endpoint& endpoint, int error) {
  if (!may_log()) return;
  log()->warn("{}: connect to {} failed: {}", target, net::to_string(endpoint), std::strerror(error));
}

}  // namespace meshgate::sidecar
