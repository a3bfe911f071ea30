#pragma once
// One named logger per module ("gateway", "admin", ...), all writing to stderr.

#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <string_view>

namespace meshgate {

/// Sets the level of every logger: trace, debug, info, warn, error. Throws
/// std::invalid_argument naming the accepted values for anything else.
void set_log_level(std::string_view level);

/// The logger of a module, made on first use.
std::shared_ptr<spdlog::logger> module_logger(const std::string& name);

}  // namespace meshgate
