#include "cli/flags.h"

#include <cctype>

namespace meshgate::cli {

std::vector<std::string> normalize_flags(int argc, const char* const* argv) {
  std::vector<std::string> out;
  bool rest = false;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (i > 0 && !rest) {
      if (arg == "--") {
        rest = true;
      } else if (arg.size() > 2 && arg[0] == '-' && arg[1] != '-' &&
                 std::isalpha(static_cast<unsigned char>(arg[1])) &&
                 arg[2] != '=') {
        arg = "-" + arg;
      }
    }
    out.push_back(std::move(arg));
  }
  return out;
}

}  // namespace meshgate::cli
