// Forward declarations of the public classes.
#pragma once

namespace tcpsocket {
class EventLoop;
class TCPSocket;
class TCPServerSocket;

namespace detail {
/// The library's own way in to the public classes' internals (src/access.hpp): tests and the
/// implementation use it; it is not part of the API.
struct Access;
}  // namespace detail
}  // namespace tcpsocket
