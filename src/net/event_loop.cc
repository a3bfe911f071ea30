#include "net/event_loop.h"

#include <sys/epoll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <boost/system/system_error.hpp>

#include "common/logging.h"
#include <cerrno>
#include <future>

namespace meshgate::net {

namespace {
constexpr int max_events = 256;
}

void timer_queue::arm(timer& t, steady_clock::time_point now) noexcept {
  t.unlink();
  t.deadline_ = now + duration_;
  timers_.push_back(t);
}

void timer_queue::arm_at(timer& t, steady_clock::time_point deadline) noexcept {
  t.unlink();
  t.deadline_ = deadline;
  auto it = timers_.end();
  while (it != timers_.begin()) {
    auto before = std::prev(it);
    if (before->deadline_ <= deadline) break;
    it = before;
  }
  timers_.insert(it, t);
}

std::optional<steady_clock::time_point> timer_queue::next() const noexcept {
  if (timers_.empty()) return std::nullopt;
  return timers_.front().deadline_;
}

void timer_queue::expire(steady_clock::time_point now) noexcept {
  while (!timers_.empty() && timers_.front().deadline_ <= now) {
    timer& t = timers_.front();
    t.unlink();
    t.handler_->on_timer();  // may re-arm t, or arm others (at later deadlines)
  }
}

event_loop::event_loop(std::chrono::microseconds busy_poll, busy_poll_counters* counters)
    : busy_poll_(busy_poll), counters_(counters != nullptr ? counters : &own_counters_) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) {
    throw boost::system::system_error(errno, boost::system::system_category(), "epoll_create1");
  }
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    const int error = errno;
    ::close(epoll_fd_);
    throw boost::system::system_error(error, boost::system::system_category(), "eventfd");
  }
  // Readable only: an eventfd is always writable, and watching that too would fetch an
  // event at once and another each time the wake-up is read (eventfd_read signals
  // EPOLLOUT) — an idle loop turn, and with busy polling a poll window, for nothing.
  epoll_event wake_event{};
  wake_event.events = EPOLLIN | EPOLLET;
  wake_event.data.ptr = &wake_;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &wake_event) != 0) {
    const int error = errno;
    ::close(wake_fd_);
    ::close(epoll_fd_);
    throw boost::system::system_error(error, boost::system::system_category(), "epoll_ctl");
  }
}

event_loop::~event_loop() {
  retired_.clear();
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

int event_loop::watch(int fd, io_handler& handler) noexcept {
  epoll_event event{};
  event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  event.data.ptr = &handler;
  return ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) == 0 ? 0 : errno;
}

void event_loop::add_timer_queue(timer_queue& queue) { timer_queues_.push_back(&queue); }

void event_loop::schedule(ready_handler& handler) noexcept {
  if (!handler.is_linked()) ready_.push_back(handler);
}

void event_loop::retire(retirable* object) { retired_.emplace_back(object); }

void event_loop::post(std::function<void()> task) {
  {
    std::lock_guard lock(posted_mutex_);
    posted_.push_back(std::move(task));
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] auto ignored = ::write(wake_fd_, &one, sizeof one);
}

bool event_loop::post_and_wait(std::function<void()> task, std::chrono::milliseconds timeout) {
  auto ran = std::make_shared<std::promise<void>>();
  auto finished = ran->get_future();
  post([task = std::move(task), ran] {
    struct signal_when_done {
      ~signal_when_done() { promise.set_value(); }  // also when the task throws
      std::promise<void>& promise;
    } done{*ran};
    task();
  });
  return finished.wait_for(timeout) == std::future_status::ready;
}

void event_loop::stop() {
  {
    std::lock_guard lock(posted_mutex_);
    stopping_ = true;
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] auto ignored = ::write(wake_fd_, &one, sizeof one);
}

void event_loop::wake_handler::on_io(std::uint32_t) noexcept {
  std::uint64_t count = 0;
  [[maybe_unused]] auto ignored = ::read(loop.wake_fd_, &count, sizeof count);
  loop.run_posted();
}

void event_loop::run_posted() noexcept {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lock(posted_mutex_);
    tasks.swap(posted_);
  }
  for (auto& task : tasks) {
    try {
      task();
    } catch (const std::exception& e) {
      // A task that fails must not take the worker's connections down with it.
      module_logger("net")->error("event loop: a posted task failed: {}", e.what());
    }
  }
}

int event_loop::wait_timeout_ms() const noexcept {
  if (!ready_.empty()) return 0;
  std::optional<steady_clock::time_point> earliest;
  for (const auto* q : timer_queues_) {
    if (auto next = q->next(); next && (!earliest || *next < *earliest)) earliest = next;
  }
  if (!earliest) return -1;
  const auto wait = *earliest - steady_clock::now();
  if (wait <= steady_clock::duration::zero()) return 0;
  // Round up: waking a little late is fine, waking early would spin.
  return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count());
}

int event_loop::wait(epoll_event* events, int capacity) noexcept {
  const int timeout = wait_timeout_ms();
  if (busy_poll_.count() <= 0 || !had_events_ || timeout == 0) {
    return ::epoll_wait(epoll_fd_, events, capacity, timeout);
  }
  const auto until = steady_clock::now() + busy_poll_;
  int n = ::epoll_wait(epoll_fd_, events, capacity, 0);
  if (n != 0) return n;  // more work at once: not a poll that saved anything
  do {
    ::sched_yield();
    n = ::epoll_wait(epoll_fd_, events, capacity, 0);
    if (n != 0) {
      if (n > 0) counters_->found_work.inc();
      return n;
    }
  } while (steady_clock::now() < until);
  counters_->slept.inc();
  return ::epoll_wait(epoll_fd_, events, capacity, wait_timeout_ms());
}

void event_loop::run() {
  epoll_event events[max_events];
  for (;;) {
    {
      std::lock_guard lock(posted_mutex_);
      if (stopping_) {
        stopping_ = false;
        return;
      }
    }
    const int n = wait(events, max_events);
    had_events_ = n > 0;
    now_ = steady_clock::now();
    for (int i = 0; i < n; ++i) {
      static_cast<io_handler*>(events[i].data.ptr)->on_io(events[i].events);
    }
    for (auto* q : timer_queues_) q->expire(now_);
    // Handlers that yielded run once per iteration; those that yield again wait for the
    // next one, after the events fetched then.
    auto ready = std::move(ready_);
    while (!ready.empty()) {
      ready_handler& handler = ready.front();
      ready.pop_front();
      handler.on_ready();
    }
    retired_.clear();
  }
}

}  // namespace meshgate::net
