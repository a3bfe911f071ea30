// libFuzzer target for what a proxy decodes from the server: the configuration snapshot of
// GET /v1/meshgate/proxy/:id (lenient, as a proxy reads it) and of a standalone file
// (strict). Any input either parses or is refused with invalid_input; never a crash, never
// another exception. What parses survives its own encoding unchanged.

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "catalog/json_reader.h"
#include "proxycfg/proxy_snapshot.h"

namespace json = boost::json;
using namespace meshgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const auto check : {proxycfg::field_check::lenient, proxycfg::field_check::strict}) {
    try {
      const auto snapshot = proxycfg::parse_proxy_snapshot(text, check);
      const json::value encoded = proxycfg::to_json(snapshot);
      const auto again = proxycfg::parse_proxy_snapshot(encoded, proxycfg::field_check::strict);
      if (json::serialize(proxycfg::to_json(again)) != json::serialize(encoded)) std::abort();
    } catch (const catalog::invalid_input&) {
    }
  }
  return 0;
}
