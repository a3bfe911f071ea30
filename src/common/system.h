#pragma once
// What a process asks of the system it runs on.

#include <cstddef>
#include <string>

namespace meshgate {

/// CPUs this process may run on (its affinity mask), at least 1.
std::size_t usable_cpus();

/// Raises the soft descriptor limit to the hard one; returns the new soft limit.
std::size_t raise_descriptor_limit();

/// Writes `text` to `path` through a temporary file and a rename, so that a reader (a
/// script waiting for an address) never sees half of it. Throws std::runtime_error.
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace meshgate
