#pragma once
// `IP:PORT` text <-> Asio endpoints, for config files and flags.

#include <boost/asio/ip/tcp.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace meshgate::net {

using tcp_endpoint = boost::asio::ip::tcp::endpoint;

/// Parses "1.2.3.4:80" or "[::1]:80". Host names are not accepted: the data plane never
/// resolves names on a connection's path. Port 0 is allowed (the caller decides if it may be).
std::optional<tcp_endpoint> parse_endpoint(std::string_view text);

/// The inverse of parse_endpoint: "1.2.3.4:80" or "[::1]:80".
std::string to_string(const tcp_endpoint& endpoint);

}  // namespace meshgate::net
