#include <iostream>

#include "cli/commands.h"
#include "common/version.h"

namespace meshgate::cli {

void add_version_command(CLI::App& app, command_runner& run) {
  auto* command = app.add_subcommand("version", "Print the meshgate version");
  command->callback([&run] {
    run = [] {
      std::cout << "meshgate " << version << "\n";
      return exit_ok;
    };
  });
}

}  // namespace meshgate::cli
