#pragma once
// Consul-style flags: long names work with one dash (-http-addr) as well as two.

#include <string>
#include <vector>

namespace meshgate::cli {

/// Rewrites "-long-name" and "-long-name=value" to "--long-name..." so that CLI11 reads
/// them; "-h", "--x", "-", "--" and negative numbers are left alone. Everything after a
/// bare "--" is left alone too.
std::vector<std::string> normalize_flags(int argc, const char* const* argv);

}  // namespace meshgate::cli
