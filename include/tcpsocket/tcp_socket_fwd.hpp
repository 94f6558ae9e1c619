// Forward declarations of the public classes.
#pragma once

namespace tcpsocket {
class EventLoop;
class TCPSocket;
class TCPServerSocket;
}  // namespace tcpsocket
