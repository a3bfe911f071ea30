// libFuzzer target for service-resolver subset filters (a config entry's Subsets.*.Filter,
// written by anyone with a config-write token, evaluated by every gateway and sidecar
// snapshot build). Any input is parsed or refused with invalid_input; a filter that parsed
// evaluates against instances of every shape without throwing, and evaluates the same
// twice.

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "catalog/filter_expression.h"
#include "catalog/json_reader.h"

namespace json = boost::json;
using namespace meshgate;

namespace {

const json::object& full_instance() {
  static const json::object entry = json::parse(R"({
    "Node": {"Node": "n", "Address": "10.0.0.5", "Datacenter": "dc2", "Meta": {"zone": "eu-1"}},
    "Service": {"ID": "api-v2", "Service": "api", "Kind": "connect-proxy", "Address": "10.0.0.5", "Port": 21000,
                "Tags": ["canary", "v1"], "Meta": {"version": "v2", "k": ""},
                "Proxy": {"DestinationServiceName": "api", "DestinationServiceID": "api-1"}}})").as_object();
  return entry;
}

const json::object& odd_instance() {  // every field of the wrong type
  static const json::object entry = json::parse(R"({
    "Node": [], "Service": {"ID": 7, "Tags": "canary", "Meta": ["version"], "Port": "x", "Proxy": null}})").as_object();
  return entry;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto f = catalog::filter_expression::parse(text);
    static const json::object nothing;
    for (const auto* entry : {&full_instance(), &odd_instance(), &nothing}) {
      if (f.matches(*entry) != f.matches(*entry)) std::abort();
    }
  } catch (const catalog::invalid_input&) {
  }
  return 0;
}
