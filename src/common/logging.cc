#include "common/logging.h"

#include <spdlog/sinks/stdout_sinks.h>

#include <mutex>
#include <stdexcept>

namespace meshgate {

namespace {
std::mutex mutex;
spdlog::level::level_enum current_level = spdlog::level::info;

spdlog::sink_ptr shared_sink() {
  static auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  return sink;
}
}  // namespace

void set_log_level(std::string_view level) {
  const auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") {
    throw std::invalid_argument("unknown log level \"" + std::string(level) +
                                "\" (expected trace, debug, info, warn or error)");
  }
  std::lock_guard lock(mutex);
  current_level = parsed;
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) { l->set_level(parsed); });
}

std::shared_ptr<spdlog::logger> module_logger(const std::string& name) {
  std::lock_guard lock(mutex);
  if (auto existing = spdlog::get(name)) return existing;
  auto logger = std::make_shared<spdlog::logger>(name, shared_sink());
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z [%l] %n: %v");
  logger->set_level(current_level);
  logger->flush_on(spdlog::level::info);
  spdlog::register_logger(logger);
  return logger;
}

}  // namespace meshgate
