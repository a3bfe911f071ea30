#pragma once
// The flags every command that talks to a server takes, as Consul's CLI has them.

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <memory>
#include <string>

#include "api/api_client.h"

namespace meshgate::cli {

struct http_flags {
  std::string http_addr;
  std::string token;

  /// -http-addr (default $CONSUL_HTTP_ADDR, else 127.0.0.1:8500) and -token ($CONSUL_HTTP_TOKEN).
  void add_to(CLI::App* command) {
    command->add_option("--http-addr", http_addr,
                        "The server's HTTP API (default $CONSUL_HTTP_ADDR or 127.0.0.1:8500)");
    command->add_option("--token", token, "ACL token (default $CONSUL_HTTP_TOKEN)");
  }
  api::api_client client() const {
    std::string address = http_addr;
    if (address.empty()) {
      const char* env = std::getenv("CONSUL_HTTP_ADDR");
      address = env ? env : "127.0.0.1:8500";
    }
    std::string t = token;
    if (t.empty()) {
      if (const char* env = std::getenv("CONSUL_HTTP_TOKEN")) t = env;
    }
    return api::api_client(address, t);
  }
};

}  // namespace meshgate::cli
