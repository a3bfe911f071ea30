#include "cli/error_text.h"

#include <boost/system/system_error.hpp>
#include <string_view>

namespace meshgate::cli {

std::string error_text(const std::exception& e) {
  std::string text = e.what();
  const auto* system = dynamic_cast<const boost::system::system_error*>(&e);
  if (system == nullptr) return text;
  // Boost writes "<what>: <message> [<category>:<value> at <file>:<line> in function ...]".
  const std::string marker = std::string(" [") + system->code().category().name() + ":";
  if (const auto at = text.rfind(marker); at != std::string::npos && text.ends_with(']')) {
    text.erase(at);
  }
  return text;
}

}  // namespace meshgate::cli
