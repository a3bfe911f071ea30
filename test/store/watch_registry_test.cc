// Blocking-query bookkeeping: who is woken, when, and that nothing is lost in between.

#include "store/watch_registry.h"

#include <gtest/gtest.h>

namespace meshgate::store {
namespace {

TEST(watch_registry, does_not_wait_when_a_topic_already_passed_the_index) {
  watch_registry w(5);
  EXPECT_EQ(w.index_of({"a"}), 5u);  // untouched topics report the base index
  bool woken = false;
  auto h = w.wait({"a"}, 4, [&] { woken = true; });
  EXPECT_EQ(w.waiting(), 0u);
  EXPECT_FALSE(woken);  // the caller answers at once instead
}

TEST(watch_registry, wakes_each_waiter_once_for_any_of_its_topics) {
  watch_registry w;
  int woken = 0;
  auto h = w.wait({"a", "b"}, 0, [&] { ++woken; });
  w.changed({"b", "a"}, 1);
  w.changed({"a"}, 2);
  EXPECT_EQ(woken, 1);
  EXPECT_EQ(w.waiting(), 0u);
  EXPECT_EQ(w.index_of({"a", "b"}), 2u);
}

TEST(watch_registry, leaves_other_topics_waiters_asleep) {
  watch_registry w;
  int a = 0, b = 0;
  auto ha = w.wait({"a"}, 0, [&] { ++a; });
  auto hb = w.wait({"b"}, 0, [&] { ++b; });
  w.changed({"a"}, 1);
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 0);
  EXPECT_EQ(w.waiting(), 1u);
}

TEST(watch_registry, forgets_a_waiter_whose_handle_is_gone) {
  watch_registry w;
  int woken = 0;
  { auto h = w.wait({"a"}, 0, [&] { ++woken; }); }
  EXPECT_EQ(w.waiting(), 0u);
  w.changed({"a"}, 1);
  EXPECT_EQ(woken, 0);
}

TEST(watch_registry, wakes_ten_thousand_waiters_on_one_topic) {
  watch_registry w;
  int woken = 0;
  std::vector<watch_registry::handle> handles;
  for (int i = 0; i < 10000; ++i) handles.push_back(w.wait({"service:web"}, 0, [&] { ++woken; }));
  w.changed({"service:web"}, 1);
  EXPECT_EQ(woken, 10000);
  handles.clear();
  EXPECT_EQ(w.waiting(), 0u);
}

}  // namespace
}  // namespace meshgate::store
