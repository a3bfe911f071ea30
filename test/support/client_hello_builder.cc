#include "support/client_hello_builder.h"

#include <fstream>
#include <iterator>
#include <stdexcept>

namespace meshgate::test {

namespace {

void put16(bytes& out, std::size_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

void put_extension(bytes& out, std::uint16_t type, const bytes& data) {
  put16(out, type);
  put16(out, data.size());
  out.insert(out.end(), data.begin(), data.end());
}

bytes server_name_extension(const hello_spec& spec) {
  bytes list;
  for (const auto& [type, name] : spec.names) {
    list.push_back(type);
    put16(list, name.size());
    list.insert(list.end(), name.begin(), name.end());
  }
  bytes data;
  put16(data, list.size());
  data.insert(data.end(), list.begin(), list.end());
  return data;
}

}  // namespace

hello_spec hello_for(std::string server_name) {
  hello_spec spec;
  spec.names.emplace_back(0, std::move(server_name));
  return spec;
}

bytes build_client_hello(const hello_spec& spec) {
  bytes body;
  put16(body, 0x0303);                          // legacy_version: TLS 1.2
  for (int i = 0; i < 32; ++i) body.push_back(static_cast<std::uint8_t>(i * 7));  // random
  body.push_back(spec.session_id_length);
  for (int i = 0; i < spec.session_id_length; ++i) body.push_back(0xab);
  const bytes suites = {0x13, 0x01, 0x13, 0x02, 0x13, 0x03, 0xc0, 0x2b, 0xc0, 0x2f};
  put16(body, suites.size());
  body.insert(body.end(), suites.begin(), suites.end());
  body.push_back(1);  // compression_methods: null
  body.push_back(0);

  if (!spec.no_extensions) {
    bytes extensions;
    if (spec.grease) put_extension(extensions, 0x0a0a, {});
    const bytes versions = {0x04, 0x03, 0x04, 0x03, 0x03};  // supported_versions: 1.3, 1.2
    const bytes groups = {0x00, 0x04, 0x00, 0x1d, 0x00, 0x17};
    if (!spec.names.empty() && !spec.server_name_last) {
      put_extension(extensions, 0, server_name_extension(spec));
      if (spec.duplicate_server_name_extension) put_extension(extensions, 0, server_name_extension(spec));
    }
    put_extension(extensions, 43, versions);
    put_extension(extensions, 10, groups);
    put_extension(extensions, 0x1234, bytes(5, 0x42));  // an extension nobody knows
    if (spec.grease) put_extension(extensions, 0xdada, bytes{0});
    if (!spec.names.empty() && spec.server_name_last) {
      put_extension(extensions, 0, server_name_extension(spec));
      if (spec.duplicate_server_name_extension) put_extension(extensions, 0, server_name_extension(spec));
    }
    if (spec.padding > 0) put_extension(extensions, 21, bytes(spec.padding, 0));
    put16(body, extensions.size());
    body.insert(body.end(), extensions.begin(), extensions.end());
  }

  bytes message = {1, static_cast<std::uint8_t>(body.size() >> 16),
                   static_cast<std::uint8_t>(body.size() >> 8),
                   static_cast<std::uint8_t>(body.size())};
  message.insert(message.end(), body.begin(), body.end());
  return message;
}

bytes frame_records(std::span<const std::uint8_t> handshake, std::size_t max_payload,
                    std::uint16_t record_version) {
  bytes out;
  for (std::size_t at = 0; at < handshake.size(); at += max_payload) {
    const std::size_t n = std::min(max_payload, handshake.size() - at);
    out.push_back(22);
    put16(out, record_version);
    put16(out, n);
    out.insert(out.end(), handshake.begin() + static_cast<long>(at),
               handshake.begin() + static_cast<long>(at + n));
  }
  return out;
}

bytes handshake_of(std::span<const std::uint8_t> records) {
  bytes out;
  std::size_t at = 0;
  while (at + 5 <= records.size()) {
    const std::size_t n = static_cast<std::size_t>(records[at + 3] << 8 | records[at + 4]);
    if (records[at] != 22 || at + 5 + n > records.size()) throw std::runtime_error("not records");
    out.insert(out.end(), records.begin() + static_cast<long>(at + 5),
               records.begin() + static_cast<long>(at + 5 + n));
    at += 5 + n;
  }
  return out;
}

std::filesystem::path test_data_dir() { return MESHGATE_TEST_DATA_DIR; }

bytes read_capture(const std::string& name) {
  const auto path = test_data_dir() / "clienthellos" / name;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return bytes(std::istreambuf_iterator<char>(in), {});
}

}  // namespace meshgate::test
