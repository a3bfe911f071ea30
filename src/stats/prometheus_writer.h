#pragma once
// Builds a Prometheus text exposition (format 0.0.4), one metric family at a time.

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace meshgate::stats {

using label = std::pair<std::string_view, std::string_view>;

class prometheus_writer {
 public:
  /// Starts a family: `# HELP` and `# TYPE` lines. `type` is "counter" or "gauge".
  void family(std::string_view name, std::string_view type, std::string_view help);
  /// One sample of the family started last.
  void sample(std::string_view name, std::initializer_list<label> labels, double value);

  const std::string& text() const noexcept { return out_; }
  std::string take() noexcept { return std::move(out_); }

 private:
  void append_escaped(std::string_view value);
  std::string out_;
};

}  // namespace meshgate::stats
