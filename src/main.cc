// meshgate: one binary, subcommands in the style of Consul's (DESIGN.md §4).

#include <CLI/CLI.hpp>
#include <csignal>
#include <functional>
#include <vector>

#include "cli/commands.h"
#include "cli/flags.h"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a peer that went away is an error code, not a signal

  CLI::App app{
      "meshgate: a service mesh for services spread over several datacenters.\n"
      "Run 'meshgate <command> -help' for a command's flags."};
  app.name("meshgate");
  app.require_subcommand(1);
  app.set_help_flag("-h,--help", "Print this help and exit");
  meshgate::cli::command_runner run;
  meshgate::cli::add_server_command(app, run);
  meshgate::cli::add_gateway_command(app, run);
  meshgate::cli::add_proxy_command(app, run);
  meshgate::cli::add_services_command(app, run);
  meshgate::cli::add_config_command(app, run);
  meshgate::cli::add_catalog_command(app, run);
  meshgate::cli::add_ca_command(app, run);
  meshgate::cli::add_explain_command(app, run);
  meshgate::cli::add_dev_command(app, run);
  meshgate::cli::add_version_command(app, run);
  // -help on every command and subcommand, as in Consul.
  std::function<void(CLI::App*)> help = [&](CLI::App* a) {
    for (auto* sub : a->get_subcommands({})) {
      sub->set_help_flag("-h,--help", "Print help and exit");
      help(sub);
    }
  };
  help(&app);

  const auto args = meshgate::cli::normalize_flags(argc, argv);
  std::vector<const char*> pointers;
  for (const auto& a : args) pointers.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(pointers.size()), pointers.data());
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : meshgate::cli::exit_usage;
  }
  return run ? run() : meshgate::cli::exit_usage;
}
