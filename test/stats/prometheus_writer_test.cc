// The Prometheus text format, as scrapers parse it.

#include "stats/prometheus_writer.h"

#include <gtest/gtest.h>

namespace meshgate::stats {
namespace {

TEST(prometheus_writer, writes_help_type_and_labelled_samples) {
  prometheus_writer w;
  w.family("x_total", "counter", "Things.");
  w.sample("x_total", {{"reason", "a\"b\\c\nd"}, {"route", "r"}}, 3);
  w.sample("x_total", {}, 1e20);
  EXPECT_EQ(w.text(),
            "# HELP x_total Things.\n"
            "# TYPE x_total counter\n"
            "x_total{reason=\"a\\\"b\\\\c\\nd\",route=\"r\"} 3\n"
            "x_total 1e+20\n");
}

}  // namespace
}  // namespace meshgate::stats
