#pragma once
// What one server accepts from another about federation, checked before anything is kept:
// pure functions of the JSON (no store), so that a fuzzer can drive them.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace meshgate::server {

/// Checks a federation state received from another server (federation_state.h has the
/// shape): the datacenter's name, its server's IP:PORT, at most 1024 gateways with an ID
/// and LAN and WAN IP:PORTs. Throws catalog::invalid_input naming the field.
boost::json::object parse_federation_state(const boost::json::value& v);

/// The record kept for another datacenter's sidecars of one service, from its server's
/// /v1/health/connect answer: {"Instances": [{"LAN": ip:port, "WAN": ip:port, "Entry":
/// {"Node": {...}, "Service": {...}}}]}, at most 4096, malformed entries skipped. Entry
/// keeps what a subset filter may select on, bounded. Throws catalog::invalid_input if it is not an array.
boost::json::object remote_sidecars_record(const boost::json::value& health_answer);

}  // namespace meshgate::server
