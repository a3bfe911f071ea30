#include "cli/flag_values.h"

#include "common/duration.h"

namespace meshgate::cli {

std::chrono::milliseconds duration_flag(const std::string& name, const std::string& text) {
  const auto value = parse_duration(text);
  if (!value || value->count() <= 0) {
    throw CLI::ValidationError("-" + name, "\"" + text + "\" is not a positive duration (examples: 500ms, 10s, 1m30s, 1h)");
  }
  return *value;
}

void add_busy_poll_flag(CLI::App* command, unsigned& microseconds) {
  command
      ->add_option("--busy-poll-us", microseconds,
                   "After handling events, how long (microseconds) a worker keeps polling for more, "
                   "yielding the CPU to anything else runnable, before it sleeps: lower latency on "
                   "virtual machines for at most this much CPU per burst of events (0: sleep at once)")
      ->check(CLI::Range(0U, 10'000U))
      ->capture_default_str();
}

std::optional<net::tcp_endpoint> optional_endpoint_flag(const std::string& name, const std::string& text) {
  if (text.empty()) return std::nullopt;
  const auto endpoint = net::parse_endpoint(text);
  if (!endpoint) {
    throw CLI::ValidationError("-" + name, "\"" + text + "\" is not an IP:PORT address (use \"\" to turn it off)");
  }
  return endpoint;
}

}  // namespace meshgate::cli
