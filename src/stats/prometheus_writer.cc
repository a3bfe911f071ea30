#include "stats/prometheus_writer.h"

#include <cmath>
#include <cstdio>

namespace meshgate::stats {

void prometheus_writer::family(std::string_view name, std::string_view type,
                               std::string_view help) {
  out_.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void prometheus_writer::sample(std::string_view name, std::initializer_list<label> labels,
                               double value) {
  out_.append(name);
  if (labels.size() != 0) {
    out_.push_back('{');
    bool first = true;
    for (const auto& [key, text] : labels) {
      if (!first) out_.push_back(',');
      first = false;
      out_.append(key).append("=\"");
      append_escaped(text);
      out_.push_back('"');
    }
    out_.push_back('}');
  }
  char number[32];
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    std::snprintf(number, sizeof number, " %.0f\n", value);
  } else {
    std::snprintf(number, sizeof number, " %.17g\n", value);
  }
  out_.append(number);
}

void prometheus_writer::append_escaped(std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\': out_.append("\\\\"); break;
      case '"': out_.append("\\\""); break;
      case '\n': out_.append("\\n"); break;
      default: out_.push_back(c);
    }
  }
}

}  // namespace meshgate::stats
