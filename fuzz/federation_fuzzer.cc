// libFuzzer target for what one server accepts from another about federation: a
// datacenter's federation state (PUT /v1/meshgate/federation/state, and every state the
// primary hands back) and another datacenter's /v1/health/connect answer (what mode none
// dials). Any input is parsed or refused with invalid_input; never a crash, never another
// exception. A state that parsed parses again to itself; every kept instance is IP:PORT.

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "catalog/json_reader.h"
#include "net/endpoint.h"
#include "server/federation_records.h"

namespace json = boost::json;
using namespace meshgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  json::value v;
  try {
    v = catalog::parse_body(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const catalog::invalid_input&) {
    return 0;
  }
  try {
    const auto state = server::parse_federation_state(v);
    if (server::parse_federation_state(state) != state) std::abort();
  } catch (const catalog::invalid_input&) {
  }
  try {
    const auto record = server::remote_sidecars_record(v);
    for (const auto& i : record.at("Instances").as_array()) {
      if (!net::parse_endpoint(std::string(i.at("LAN").as_string())) ||
          !net::parse_endpoint(std::string(i.at("WAN").as_string()))) {
        std::abort();
      }
    }
  } catch (const catalog::invalid_input&) {
  }
  return 0;
}
