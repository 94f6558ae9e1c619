#pragma once

namespace tcpsocket {
/// The library's version, "MAJOR.MINOR.PATCH".
inline constexpr const char* kVersion = "0.1.0";
}  // namespace tcpsocket
