#pragma once
// `meshgate dev`: a whole two-datacenter mesh on loopback, for trying meshgate out.
//
//   dc1 (primary)                          dc2 (secondary)
//   server            127.0.0.1:A          server            127.0.0.1:B
//   mesh gateway      127.0.0.1:C          mesh gateway      127.0.0.1:D
//   web's sidecar     upstream api?dc=dc2  api's sidecar  -> api (a sample HTTP service)
//
// Every part is a real process of this binary (servers, gateways, sidecars), started with
// the flags a user would type, logging into one directory; the sample services run inside
// this process. proxy-defaults (written to dc1, replicated to dc2) sets mesh gateway mode
// `local`, so a request crosses dc1's gateway, then dc2's. Ctrl-C stops everything.

#include <filesystem>
#include <string>

namespace meshgate::dev {

struct dev_options {
  std::filesystem::path binary;    // this meshgate executable
  std::filesystem::path work_dir;  // "": a new temporary directory, removed at the end
  std::string upstream_address = "127.0.0.1:9191";  // where web reaches api (port 0: any free one)
  bool once = false;               // start, prove one request, stop (for tests and demos)
};

/// Runs the mesh until SIGINT/SIGTERM (or, with `once`, until one request has crossed).
/// Returns the exit code; prints what runs where to stdout and problems to stderr.
int run_dev_mesh(const dev_options& options);

}  // namespace meshgate::dev
