#pragma once
// The data plane's event loop: one per worker thread, edge-triggered epoll.
//
// Why not Asio's reactor here (the control plane and admin endpoints use Asio): measured
// on this project's connection-rate benchmark, Asio spent 32 system calls per proxied
// connection where this loop spends 16 — it re-arms a descriptor with epoll_ctl(MOD) on
// every async_wait, sets O_NONBLOCK with an ioctl per operation, polls before reading a
// connect result, removes descriptors with EPOLL_CTL_DEL before closing them, and
// reprograms a timerfd whenever the earliest timer changes. Here a descriptor is
// registered once, for every event, and closing it is all it takes to remove it; timers
// of one duration form a FIFO, so they cost no system call at all (docs/benchmarks.md).
//
// Single-threaded by design: everything but post() and stop() must be called on the
// loop's own thread.
//
// Busy polling (off unless asked for): after a turn that handled events, the loop keeps
// asking epoll for more, without blocking and yielding the CPU between asks, for up to a
// short window before it goes to sleep. On a virtual machine a worker that sleeps idles
// its vCPU, and waking it again costs the waking side an inter-processor interrupt and
// the worker a trip through the hypervisor: measured on this project's 2-CPU VM, a 64-byte
// ping-pong through the gateway took 112 µs at the median with sleeping and 41 µs with a
// 50 µs window (docs/benchmarks.md). The window is bounded, so an idle worker still
// sleeps; sched_yield() between asks hands the CPU to any other thread that wants it
// (often the very peer the worker waits for), so the polling only uses time nobody else
// wants. Seastar polls the same way before sleeping (its --idle-poll-time-us), and
// HAProxy has it as `busy-polling`, without a window.

#include <sys/epoll.h>

#include <boost/intrusive/list.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "net/busy_poll_stats.h"

namespace meshgate::net {

using steady_clock = std::chrono::steady_clock;
using auto_unlink_hook =
    boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

/// Owner of a descriptor watched by an event_loop. Gets the epoll event bits.
class io_handler {
 public:
  virtual void on_io(std::uint32_t events) noexcept = 0;

 protected:
  ~io_handler() = default;
};

/// Something with more work to do that yielded to let others run.
class ready_handler : public auto_unlink_hook {
 public:
  virtual void on_ready() noexcept = 0;

 protected:
  ~ready_handler() = default;
};

class timer_handler {
 public:
  virtual void on_timer() noexcept = 0;

 protected:
  ~timer_handler() = default;
};

/// A one-shot deadline, armed in a timer_queue. Destroying it cancels it.
class timer : public auto_unlink_hook {
 public:
  explicit timer(timer_handler& handler) noexcept : handler_(&handler) {}
  bool armed() const noexcept { return is_linked(); }
  void cancel() noexcept { unlink(); }
  steady_clock::time_point deadline() const noexcept { return deadline_; }

 private:
  friend class timer_queue;
  steady_clock::time_point deadline_{};
  timer_handler* handler_;
};

/// Timers that all run for one duration. Arming appends (deadlines only grow), so the
/// earliest is always at the head: arm, cancel and expiry are O(1), no heap, no syscall.
class timer_queue {
 public:
  explicit timer_queue(std::chrono::milliseconds duration) noexcept : duration_(duration) {}
  timer_queue(const timer_queue&) = delete;
  timer_queue& operator=(const timer_queue&) = delete;

  std::chrono::milliseconds duration() const noexcept { return duration_; }
  /// Fires `t` at now + duration (re-arming an armed timer moves it).
  void arm(timer& t, steady_clock::time_point now) noexcept;
  /// Fires `t` at `deadline`, which must not be later than now + duration. Inserted in
  /// order from the tail, where a deadline pushed back by recent activity belongs.
  void arm_at(timer& t, steady_clock::time_point deadline) noexcept;
  std::optional<steady_clock::time_point> next() const noexcept;
  /// Fires every timer due at `now`.
  void expire(steady_clock::time_point now) noexcept;

 private:
  std::chrono::milliseconds duration_;
  boost::intrusive::list<timer, boost::intrusive::constant_time_size<false>> timers_;
};

/// An object whose deletion the loop defers to the end of the current iteration, so that
/// events already fetched for it find it closed rather than freed.
class retirable {
 public:
  virtual ~retirable() = default;
};

class event_loop {
 public:
  /// Throws boost::system::system_error if epoll or eventfd cannot be made. `busy_poll`:
  /// the polling window described above (zero: block at once); what polling did is counted
  /// in `counters` when given.
  explicit event_loop(std::chrono::microseconds busy_poll = {}, busy_poll_counters* counters = nullptr);
  event_loop(const event_loop&) = delete;
  event_loop& operator=(const event_loop&) = delete;
  ~event_loop();

  /// Watches `fd` for every event (in, out, peer half-close, error), edge-triggered, until
  /// it is closed. Returns 0 or an errno value.
  int watch(int fd, io_handler& handler) noexcept;
  /// Timer queues the loop expires; they must outlive the loop's run().
  void add_timer_queue(timer_queue& queue);
  /// Calls handler.on_ready() in this iteration or the next, after pending events.
  void schedule(ready_handler& handler) noexcept;
  /// Deletes `object` at the end of this iteration.
  void retire(retirable* object);

  /// Runs `task` on the loop's thread. Safe from any thread.
  void post(std::function<void()> task);
  /// Runs `task` on the loop's thread and waits until it has run, for at most `timeout`;
  /// false if it had not by then (it may still run later). Never from the loop's thread.
  bool post_and_wait(std::function<void()> task, std::chrono::milliseconds timeout);
  /// Makes run() return after the current iteration. Safe from any thread.
  void stop();
  void run();

  /// The time at the start of this iteration (cheap; good for timeouts of 1 ms or more).
  steady_clock::time_point now() const noexcept { return now_; }

 private:
  struct wake_handler final : io_handler {
    explicit wake_handler(event_loop& owner) : loop(owner) {}
    void on_io(std::uint32_t events) noexcept override;
    event_loop& loop;
  };
  int wait_timeout_ms() const noexcept;
  int wait(epoll_event* events, int capacity) noexcept;
  void run_posted() noexcept;

  std::chrono::microseconds busy_poll_;
  busy_poll_counters own_counters_;
  busy_poll_counters* counters_;  // the caller's, or own_counters_
  bool had_events_ = false;       // the last wait returned events: poll before sleeping

  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  wake_handler wake_{*this};
  steady_clock::time_point now_ = steady_clock::now();
  std::vector<timer_queue*> timer_queues_;
  boost::intrusive::list<ready_handler, boost::intrusive::constant_time_size<false>> ready_;
  std::vector<std::unique_ptr<retirable>> retired_;

  std::mutex posted_mutex_;
  std::vector<std::function<void()>> posted_;
  bool stopping_ = false;  // guarded by posted_mutex_
};

}  // namespace meshgate::net
