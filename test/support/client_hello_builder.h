#pragma once
// Builds TLS ClientHellos byte by byte, for tests, fuzz seeds and benchmarks: the shapes
// real clients send (GREASE, many extensions, any order) and the broken ones they don't.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace meshgate::test {

using bytes = std::vector<std::uint8_t>;

struct hello_spec {
  /// Entries of the server_name extension: (name_type, name). Empty: no extension.
  std::vector<std::pair<std::uint8_t, std::string>> names;
  bool duplicate_server_name_extension = false;
  bool grease = true;                 // GREASE extensions before and after server_name
  bool no_extensions = false;         // stop after compression_methods (SSL 3.0 style)
  std::size_t padding = 0;            // a padding extension of this many bytes
  std::uint8_t session_id_length = 32;
  bool server_name_last = false;      // server_name after the other extensions
};

/// A host_name-only spec.
hello_spec hello_for(std::string server_name);

/// The ClientHello handshake message (4-byte header and body).
bytes build_client_hello(const hello_spec& spec);

/// Frames a handshake byte stream into TLS records of at most `max_payload` bytes each.
bytes frame_records(std::span<const std::uint8_t> handshake, std::size_t max_payload,
                    std::uint16_t record_version = 0x0301);

/// The handshake bytes carried by a sequence of TLS handshake records (a capture).
bytes handshake_of(std::span<const std::uint8_t> records);

/// A captured ClientHello from test/data/clienthellos/.
bytes read_capture(const std::string& name);
std::filesystem::path test_data_dir();

}  // namespace meshgate::test
