// `meshgate dev`: a whole two-datacenter mesh on loopback (src/dev/dev_mesh.h).

#include <unistd.h>

#include <filesystem>

#include "cli/commands.h"
#include "dev/dev_mesh.h"
#include "net/endpoint.h"

namespace meshgate::cli {

void add_dev_command(CLI::App& app, command_runner& run) {
  auto options = std::make_shared<dev::dev_options>();
  auto* c = app.add_subcommand(
      "dev",
      "Start a whole two-datacenter mesh on loopback: two federated servers, a mesh gateway per "
      "datacenter, web's sidecar in dc1 calling api's in dc2 through both gateways");
  c->footer(
      "\nEverything runs as real processes of this binary (logs in one temporary directory,\n"
      "removed at the end); it prints what runs where and a curl line that crosses the\n"
      "gateways. Ctrl-C stops everything.");
  c->add_option("--upstream-addr", options->upstream_address,
                "Where web reaches api through the mesh (IP:PORT on loopback; port 0: any free one)")
      ->capture_default_str();
  c->add_option("--dir", options->work_dir, "Keep logs and data here instead of a temporary directory");
  c->add_flag("--once", options->once, "Start, show one request crossing both gateways, stop");
  c->callback([&run, options] {
    run = [options] {
      const auto endpoint = net::parse_endpoint(options->upstream_address);
      if (!endpoint) {
        std::cerr << "meshgate dev: -upstream-addr: \"" << options->upstream_address << "\" is not IP:PORT\n";
        return exit_usage;
      }
      options->binary = std::filesystem::read_symlink("/proc/self/exe");
      return dev::run_dev_mesh(*options);
    };
  });
}

}  // namespace meshgate::cli
