#pragma once

namespace meshgate {
inline constexpr const char* version = "0.1.0";
}
