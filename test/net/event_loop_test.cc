// The data plane's loop: timers in order without a heap, work posted from other threads,
// yielded work resumed, deferred deletion, busy polling.

#include "net/event_loop.h"

#include <sys/timerfd.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "support/process.h"

namespace meshgate::net {
namespace {

using namespace std::chrono_literals;

struct recording_timer final : timer_handler {
  recording_timer(std::vector<int>& fired, int number) : log(fired), id(number) {}
  void on_timer() noexcept override { log.push_back(id); }
  std::vector<int>& log;
  int id;
  timer t{*this};
};

TEST(timer_queue, fires_timers_in_deadline_order_and_only_when_due) {
  timer_queue q(100ms);
  std::vector<int> fired;
  recording_timer a(fired, 1), b(fired, 2), c(fired, 3);
  const auto t0 = steady_clock::now();
  q.arm(a.t, t0);
  q.arm(b.t, t0 + 10ms);
  q.arm(c.t, t0 + 20ms);
  EXPECT_EQ(q.next(), t0 + 100ms);
  q.expire(t0 + 99ms);
  EXPECT_TRUE(fired.empty());
  q.expire(t0 + 110ms);
  EXPECT_EQ(fired, (std::vector<int>{1, 2}));
  EXPECT_TRUE(c.t.armed());
  q.expire(t0 + 1s);
  EXPECT_EQ(fired, (std::vector<int>{1, 2, 3}));
  EXPECT_FALSE(q.next());
}

TEST(timer_queue, cancels_and_moves_timers) {
  timer_queue q(100ms);
  std::vector<int> fired;
  recording_timer a(fired, 1), b(fired, 2), c(fired, 3);
  const auto t0 = steady_clock::now();
  q.arm(a.t, t0);
  q.arm(b.t, t0 + 10ms);
  q.arm(c.t, t0 + 20ms);
  b.t.cancel();
  q.arm(a.t, t0 + 30ms);                // re-arming moves a to the back
  q.arm_at(c.t, t0 + 50ms);             // an earlier deadline goes in order from the tail
  EXPECT_EQ(q.next(), t0 + 50ms);
  q.expire(t0 + 1s);
  EXPECT_EQ(fired, (std::vector<int>{3, 1}));
}

TEST(timer_queue, is_left_by_a_destroyed_timer) {
  timer_queue q(100ms);
  std::vector<int> fired;
  {
    recording_timer a(fired, 1);
    q.arm(a.t, steady_clock::now());
  }
  EXPECT_FALSE(q.next());
}

TEST(event_loop, runs_posted_work_and_stops_from_another_thread) {
  event_loop loop;
  std::atomic<int> ran{0};
  std::thread runner([&] { loop.run(); });
  for (int i = 0; i < 100; ++i) loop.post([&] { ++ran; });
  loop.post([&] { loop.stop(); });
  runner.join();
  EXPECT_EQ(ran, 100);
}

// post_and_wait returns once the task has run on the loop's thread; with no loop running
// it gives up at the timeout, and the task still runs safely when the loop starts.
TEST(event_loop, post_and_wait_returns_after_the_task_ran_or_at_the_timeout) {
  event_loop loop;
  std::atomic<int> ran{0};
  EXPECT_FALSE(loop.post_and_wait([&] { ++ran; }, 20ms));  // nobody runs the loop yet
  EXPECT_EQ(ran, 0);
  std::thread runner([&] { loop.run(); });
  std::thread::id on;
  EXPECT_TRUE(loop.post_and_wait([&] { ++ran; on = std::this_thread::get_id(); }, 10s));
  EXPECT_EQ(ran, 2);  // the first task too, before the second
  EXPECT_EQ(on, runner.get_id());
  loop.stop();
  runner.join();
}

TEST(event_loop, wakes_for_a_timer_without_events) {
  event_loop loop;
  timer_queue q(20ms);
  loop.add_timer_queue(q);
  struct stopper final : timer_handler {
    explicit stopper(event_loop& l) : loop(l) {}
    void on_timer() noexcept override {
      fired = true;
      loop.stop();
    }
    event_loop& loop;
    bool fired = false;
    timer t{*this};
  } s(loop);
  const auto start = steady_clock::now();
  loop.post([&] { q.arm(s.t, loop.now()); });
  loop.run();
  EXPECT_TRUE(s.fired);
  EXPECT_GE(steady_clock::now() - start, 20ms);
}

TEST(event_loop, resumes_yielded_work_and_deletes_retired_objects_after_the_iteration) {
  event_loop loop;
  static int alive = 0;
  struct worker final : ready_handler, retirable {
    explicit worker(event_loop& l) : loop(l) { ++alive; }
    ~worker() override { --alive; }
    void on_ready() noexcept override {
      if (++turns < 3) return loop.schedule(*this);
      loop.retire(this);
      EXPECT_EQ(alive, 1);  // still there until the iteration ends
      loop.post([this_loop = &loop] { this_loop->stop(); });
    }
    event_loop& loop;
    int turns = 0;
  };
  auto* w = new worker(loop);
  loop.post([&] { loop.schedule(*w); });
  loop.run();
  EXPECT_EQ(alive, 0);
}

// With a window, the loop polls after a turn with events instead of sleeping, and an event
// that comes during the window counts as found: a timerfd armed by the turn fires 300 ms
// later, inside a 10 s window, and its handler stops the loop.
TEST(event_loop, busy_polls_after_events_and_counts_the_event_it_found) {
  busy_poll_counters counters;
  event_loop loop(10s, &counters);
  struct timerfd_handler final : io_handler {
    explicit timerfd_handler(event_loop& l) : loop(l), fd(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK)) {}
    ~timerfd_handler() { ::close(fd); }
    void on_io(std::uint32_t) noexcept override {
      std::uint64_t expirations = 0;
      if (::read(fd, &expirations, sizeof expirations) == sizeof expirations) loop.stop();
    }
    event_loop& loop;
    int fd;
  } handler(loop);
  ASSERT_GE(handler.fd, 0);
  ASSERT_EQ(loop.watch(handler.fd, handler), 0);
  loop.post([&] {
    const itimerspec in_300ms{{0, 0}, {0, 300'000'000}};
    ::timerfd_settime(handler.fd, 0, &in_300ms, nullptr);
  });
  const auto start = steady_clock::now();
  loop.run();
  EXPECT_GE(steady_clock::now() - start, 300ms);
  EXPECT_EQ(counters.found_work.value(), 1U);
  EXPECT_EQ(counters.slept.value(), 0U);
}

// A window that runs out ends in sleep, counted; without a window nothing is counted.
TEST(event_loop, sleeps_when_the_busy_poll_window_runs_out) {
  for (const auto window : {1ms, 0ms}) {
    busy_poll_counters counters;
    event_loop loop(window, &counters);
    std::atomic<bool> ran{false};
    loop.post([&] { ran = true; });  // before run(): its first turn has this event
    std::thread runner([&] { loop.run(); });
    ASSERT_TRUE(test::eventually([&] { return ran.load(); }));
    if (window > 0ms) {
      EXPECT_TRUE(test::eventually([&] { return counters.slept.value() == 1; }));
    }
    loop.stop();
    runner.join();
    EXPECT_EQ(counters.slept.value(), window > 0ms ? 1U : 0U);
    EXPECT_EQ(counters.found_work.value(), 0U);
  }
}

}  // namespace
}  // namespace meshgate::net
