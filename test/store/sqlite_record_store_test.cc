// The record store: indexes, check-and-set, atomic transactions, durability across a
// reopen and across kill -9, group commit, and blocking-query wake-ups.

#include "store/sqlite_record_store.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <future>

#include "support/process.h"

namespace meshgate::store {
namespace {

namespace json = boost::json;

commit_result commit_now(record_store& s, transaction txn) {
  std::promise<commit_result> p;
  s.commit(std::move(txn), [&](commit_result r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

write_op put(std::string table, std::string key, json::value v) {
  return {std::move(table), std::move(key), std::move(v), std::nullopt};
}
write_op erase(std::string table, std::string key) { return {std::move(table), std::move(key), std::nullopt, std::nullopt}; }

std::optional<record> get(record_store& s, const std::string& table, const std::string& key) {
  std::optional<record> out;
  s.read([&](const state_view& v) {
    if (const auto* r = v.get(table, key)) out = *r;
  });
  return out;
}

TEST(sqlite_record_store, gives_every_write_a_new_index_and_keeps_the_create_index) {
  test::temp_dir dir;
  sqlite_record_store s(dir.path());
  EXPECT_EQ(s.index(), 0u);
  const auto a = commit_now(s, {{put("services", "web", {{"Port", 80}})}, {}});
  const auto b = commit_now(s, {{put("services", "web", {{"Port", 81}})}, {}});
  ASSERT_TRUE(a.applied && b.applied);
  EXPECT_EQ(a.index, 1u);
  EXPECT_EQ(b.index, 2u);
  const auto r = get(s, "services", "web");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->create_index, 1u);
  EXPECT_EQ(r->modify_index, 2u);
  EXPECT_EQ(r->value.at("Port").as_int64(), 81);
  EXPECT_TRUE(commit_now(s, {{erase("services", "web")}, {}}).applied);
  EXPECT_FALSE(get(s, "services", "web"));
  EXPECT_EQ(s.index(), 3u);  // a delete is a change too
}

TEST(sqlite_record_store, applies_a_check_and_set_only_at_the_expected_index) {
  test::temp_dir dir;
  sqlite_record_store s(dir.path());
  auto cas = [](std::uint64_t expected, int v) {
    write_op op = put("config", "service-defaults/web", {{"v", v}});
    op.cas = expected;
    return transaction{{op}, {}};
  };
  EXPECT_TRUE(commit_now(s, cas(0, 1)).applied);    // 0: must not exist yet
  EXPECT_FALSE(commit_now(s, cas(0, 2)).applied);   // it exists now
  EXPECT_FALSE(commit_now(s, cas(7, 2)).applied);   // wrong index
  EXPECT_TRUE(commit_now(s, cas(1, 3)).applied);
  EXPECT_EQ(get(s, "config", "service-defaults/web")->value.at("v").as_int64(), 3);
  EXPECT_EQ(s.index(), 2u);  // refused writes take no index
}

// Two CAS writes racing for the same record: whichever is committed first wins, even when
// both land in one group commit.
TEST(sqlite_record_store, lets_only_one_of_two_racing_cas_writes_win) {
  test::temp_dir dir;
  sqlite_record_store s(dir.path());
  std::vector<std::future<commit_result>> results;
  std::vector<std::promise<commit_result>> promises(20);
  for (int i = 0; i < 20; ++i) {
    write_op op = put("config", "k", {{"writer", i}});
    op.cas = 0;
    s.commit({{op}, {}}, [&promises, i](commit_result r) { promises[i].set_value(r); });
  }
  int applied = 0;
  for (auto& p : promises) applied += p.get_future().get().applied ? 1 : 0;
  EXPECT_EQ(applied, 1);
}

TEST(sqlite_record_store, applies_a_transaction_whole_or_not_at_all) {
  test::temp_dir dir;
  sqlite_record_store s(dir.path());
  write_op guard = put("services", "db", {{"x", 1}});
  guard.cas = 99;  // fails
  EXPECT_FALSE(commit_now(s, {{put("checks", "c1", {{"x", 1}}), guard}, {}}).applied);
  EXPECT_FALSE(get(s, "checks", "c1"));
  EXPECT_TRUE(commit_now(s, {{put("services", "db", {{"x", 1}}), put("checks", "c1", {{"x", 1}})}, {}}).applied);
  EXPECT_EQ(get(s, "checks", "c1")->modify_index, get(s, "services", "db")->modify_index);
}

TEST(sqlite_record_store, comes_back_with_every_record_and_the_index_after_a_reopen) {
  test::temp_dir dir;
  {
    sqlite_record_store s(dir.path());
    for (int i = 0; i < 50; ++i) commit_now(s, {{put("services", "svc" + std::to_string(i), {{"i", i}})}, {}});
    commit_now(s, {{erase("services", "svc7")}, {}});
  }
  sqlite_record_store again(dir.path());
  EXPECT_EQ(again.index(), 51u);
  std::size_t count = 0;
  again.read([&](const state_view& v) { count = v.table("services").size(); });
  EXPECT_EQ(count, 49u);
  EXPECT_EQ(get(again, "services", "svc42")->value.at("i").as_int64(), 42);
  EXPECT_EQ(get(again, "services", "svc42")->create_index, 43u);
}

// A child process commits as fast as it can and reports each acknowledged index through
// a pipe; it is killed with SIGKILL in the middle. Every index it reported is on disk.
TEST(sqlite_record_store, loses_no_acknowledged_write_when_killed) {
  test::temp_dir dir;
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    sqlite_record_store s(dir.path());
    for (int i = 0;; ++i) {
      const auto r = commit_now(s, {{put("services", "svc" + std::to_string(i), {{"i", i}})}, {}});
      if (!r.applied || ::write(pipe_fds[1], &i, sizeof i) != sizeof i) ::_exit(1);
    }
  }
  ::close(pipe_fds[1]);
  int last = -1, got = 0;
  while (last < 300 && ::read(pipe_fds[0], &got, sizeof got) == sizeof got) last = got;
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  while (::read(pipe_fds[0], &got, sizeof got) == sizeof got) last = got;  // acknowledged before death
  ::close(pipe_fds[0]);
  ASSERT_GE(last, 300);
  sqlite_record_store after(dir.path());
  for (int i = 0; i <= last; ++i) {
    ASSERT_TRUE(get(after, "services", "svc" + std::to_string(i))) << "acknowledged write " << i << " was lost";
  }
  EXPECT_GE(after.index(), static_cast<std::uint64_t>(last + 1));
}

// Writes queued while one commit is on disk share the next commit.
TEST(sqlite_record_store, shares_one_commit_between_concurrent_writes) {
  test::temp_dir dir;
  sqlite_record_store s(dir.path());
  constexpr int writes = 400;
  std::atomic<int> done{0};
  std::promise<void> all;
  for (int i = 0; i < writes; ++i) {
    s.commit({{put("services", "s" + std::to_string(i), {{"i", i}})}, {}}, [&](commit_result r) {
      EXPECT_TRUE(r.applied);
      if (++done == writes) all.set_value();
    });
  }
  all.get_future().get();
  EXPECT_EQ(s.index(), static_cast<std::uint64_t>(writes));
  EXPECT_LT(s.batches(), static_cast<std::uint64_t>(writes));
}

TEST(sqlite_record_store, wakes_watchers_of_the_topics_a_commit_touched_only) {
  test::temp_dir dir;
  sqlite_record_store s(dir.path());
  std::atomic<int> web{0}, db{0};
  auto h1 = s.watches().wait({"service:web"}, s.index(), [&] { ++web; });
  auto h2 = s.watches().wait({"service:db"}, s.index(), [&] { ++db; });
  const auto r = commit_now(s, {{put("services", "web", {{"Port", 80}})}, {"service:web", "services"}});
  EXPECT_EQ(web, 1);
  EXPECT_EQ(db, 0);
  EXPECT_EQ(s.watches().index_of({"service:web"}), r.index);
  EXPECT_EQ(s.watches().index_of({"service:db"}), 0u);
  EXPECT_EQ(s.watches().waiting(), 1u);
}

TEST(sqlite_record_store, refuses_to_open_a_data_dir_it_cannot_write) {
  EXPECT_THROW(sqlite_record_store(std::filesystem::path("/proc/meshgate-no")), store_error);
}

}  // namespace
}  // namespace meshgate::store

namespace meshgate::store {
namespace {

// A secondary index follows inserts, renames and deletes, and is rebuilt on reopen.
TEST(sqlite_record_store, keeps_secondary_indexes_current) {
  test::temp_dir dir;
  const std::vector<index_definition> by_colour = {
      {"things", "colour", [](const json::value& v) { return std::vector<std::string>{std::string(v.at("c").as_string())}; }}};
  auto colours = [](record_store& s, const std::string& c) {
    std::vector<std::string> keys;
    s.read([&](const state_view& v) {
      for (const auto* r : v.find("things", "colour", c)) keys.emplace_back(r->value.at("k").as_string());
    });
    return keys;
  };
  {
    sqlite_record_store s(dir.path(), by_colour);
    commit_now(s, {{put("things", "a", {{"c", "red"}, {"k", "a"}}), put("things", "b", {{"c", "red"}, {"k", "b"}})}, {}});
    commit_now(s, {{put("things", "b", {{"c", "blue"}, {"k", "b"}})}, {}});
    EXPECT_EQ(colours(s, "red"), (std::vector<std::string>{"a"}));
    EXPECT_EQ(colours(s, "blue"), (std::vector<std::string>{"b"}));
    commit_now(s, {{erase("things", "a")}, {}});
    EXPECT_TRUE(colours(s, "red").empty());
  }
  sqlite_record_store again(dir.path(), by_colour);
  EXPECT_EQ(colours(again, "blue"), (std::vector<std::string>{"b"}));
}

}  // namespace
}  // namespace meshgate::store
