// libFuzzer target for what the server decodes from request bodies: service registrations
// (with their checks) and config entries. Any input either decodes or is refused with
// invalid_input; never a crash, never another exception. What decodes must survive its
// stored form unchanged (encode -> decode -> encode is stable).

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "catalog/config_entry.h"
#include "catalog/json_reader.h"
#include "catalog/service.h"

namespace json = boost::json;
using namespace meshgate::catalog;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  json::value parsed;
  try {
    parsed = parse_body(body);
  } catch (const invalid_input&) {
    return 0;
  }
  try {
    const auto reg = decode_registration(parsed);
    const json::value stored = to_json(reg.svc, "dc1");
    const auto again = service_from_json(stored);
    if (json::serialize(to_json(again, "dc1")) != json::serialize(stored)) std::abort();
    for (const auto& def : reg.checks) {
      health_check h;
      h.definition = def;
      const json::value c = to_json(h);
      if (json::serialize(to_json(health_check_from_json(c))) != json::serialize(c)) std::abort();
    }
  } catch (const invalid_input&) {
  }
  try {
    const auto entry = decode_config_entry(parsed);
    const json::value stored = entry.body;
    if (json::serialize(decode_config_entry(stored).body) != json::serialize(stored)) std::abort();
  } catch (const invalid_input&) {
  }
  return 0;
}
