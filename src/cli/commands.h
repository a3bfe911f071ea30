#pragma once
// Each subcommand registers itself on the root app; when chosen, it sets `run`.

#include <CLI/CLI.hpp>
#include <functional>

namespace meshgate::cli {

using command_runner = std::function<int()>;

void add_gateway_command(CLI::App& app, command_runner& run);
void add_proxy_command(CLI::App& app, command_runner& run);
void add_server_command(CLI::App& app, command_runner& run);
void add_services_command(CLI::App& app, command_runner& run);
void add_config_command(CLI::App& app, command_runner& run);
void add_catalog_command(CLI::App& app, command_runner& run);
void add_ca_command(CLI::App& app, command_runner& run);
void add_explain_command(CLI::App& app, command_runner& run);
void add_dev_command(CLI::App& app, command_runner& run);
void add_version_command(CLI::App& app, command_runner& run);

/// Exit codes, as Consul uses them: 0 ok, 1 runtime failure, 2 bad usage.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;
inline constexpr int exit_usage = 2;

}  // namespace meshgate::cli
