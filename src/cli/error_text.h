#pragma once
// What a command prints when it stops on an exception.

#include <exception>
#include <string>

namespace meshgate::cli {

/// The exception's message for a person. For a boost::system::system_error that is
/// "what: reason" without the source location Boost appends ("[system:98 at
/// .../reactive_socket_service.hpp:161:5 in function ...]"), which says nothing to a user.
std::string error_text(const std::exception& e);

}  // namespace meshgate::cli
