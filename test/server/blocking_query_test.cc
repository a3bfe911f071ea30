// Blocking queries on an Asio loop: they wait for their own topics only, end with their
// wait, and answer at once when there is nothing to wait for.

#include "server/blocking_query.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <thread>

#include "catalog/json_reader.h"
#include "support/process.h"

namespace meshgate::server {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

struct outcome {
  std::optional<std::uint64_t> index;
  std::chrono::steady_clock::duration took{};
};

/// Runs one blocking query on its own loop thread; `changes` happen from this thread.
class query_runner {
 public:
  query_runner(store::watch_registry& w, std::vector<std::string> topics, query_options o) {
    asio::co_spawn(io_, [&, topics, o]() -> asio::awaitable<void> {
      const auto start = std::chrono::steady_clock::now();
      const auto index = co_await block_until_changed(w, topics, o);
      std::lock_guard lock(mutex_);
      result_ = {index, std::chrono::steady_clock::now() - start};
    }, asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~query_runner() {
    if (thread_.joinable()) thread_.join();
  }
  std::optional<outcome> result() {
    std::lock_guard lock(mutex_);
    return result_.index ? std::optional(result_) : std::nullopt;
  }
  /// Waits for the query to end (the loop runs out of work when it does).
  outcome wait() {
    if (thread_.joinable()) thread_.join();
    return result_;
  }

 private:
  asio::io_context io_;
  std::mutex mutex_;
  outcome result_;
  std::thread thread_;
};

query_options at(std::uint64_t index, std::chrono::milliseconds wait) {
  query_options o;
  o.index = index;
  o.wait = wait;
  return o;
}

TEST(blocking_query, returns_when_its_topic_changes_and_not_for_others) {
  store::watch_registry w(5);
  query_runner q(w, {"service:web"}, at(5, 60s));
  ASSERT_TRUE(test::eventually([&] { return w.waiting() == 1; }, 5s));
  w.changed({"service:db"}, 6);
  EXPECT_EQ(w.waiting(), 1u);  // still waiting: db is not what it reads
  EXPECT_FALSE(q.result());
  w.changed({"service:web"}, 7);
  const auto r = q.wait();
  EXPECT_EQ(r.index, 7u);
  EXPECT_LT(r.took, 30s);
}

TEST(blocking_query, ends_when_the_wait_runs_out) {
  store::watch_registry w(5);
  query_runner q(w, {"service:web"}, at(5, 300ms));
  const auto r = q.wait();
  EXPECT_EQ(r.index, 5u);
  EXPECT_GE(r.took, 300ms);
}

TEST(blocking_query, answers_at_once_without_an_index_or_with_one_ahead_of_the_server) {
  store::watch_registry w(5);
  EXPECT_EQ(query_runner(w, {"a"}, {}).wait().index, 5u);
  EXPECT_EQ(query_runner(w, {"a"}, at(99, 60s)).wait().index, 5u);  // a restart reset us
  EXPECT_EQ(query_runner(w, {"a"}, at(4, 60s)).wait().index, 5u);   // already past
  store::watch_registry empty;
  EXPECT_EQ(query_runner(empty, {"a"}, {}).wait().index, 1u);  // never 0
}

TEST(blocking_query, refuses_malformed_index_and_wait) {
  api_request r;
  r.query = {{"index", "12x"}};
  EXPECT_THROW(parse_query_options(r), catalog::invalid_input);
  r.query = {{"wait", "forever"}};
  EXPECT_THROW(parse_query_options(r), catalog::invalid_input);
  r.query = {{"wait", "1h"}, {"index", "7"}};
  const auto o = parse_query_options(r);
  EXPECT_EQ(o.wait, max_wait);  // capped at 10 min
  EXPECT_EQ(o.index, 7u);
}

}  // namespace
}  // namespace meshgate::server
