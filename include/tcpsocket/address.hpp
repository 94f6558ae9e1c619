// Writing a host and port the way the library's messages do.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tcpsocket/export.hpp"

namespace tcpsocket {

/// "example.com:80", "127.0.0.1:80", and IPv6 addresses in brackets: "[::1]:80".
TCPSOCKET_API std::string hostPort(std::string_view host, std::uint16_t port);

}  // namespace tcpsocket
