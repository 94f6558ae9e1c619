// The one door from inside the library (and its tests) to what the public classes keep private:
// the loop's shared state, and handles made around an implementation object.
#pragma once

#include <memory>

#include "tcpsocket/event_loop.hpp"
#include "tcpsocket/tcp_server_socket.hpp"
#include "tcpsocket/tcp_socket.hpp"

namespace tcpsocket::detail {

class LoopCore;
class SocketImpl;
class ServerImpl;

struct Access {
  static LoopCore& core(EventLoop& loop) noexcept { return *loop.core_; }
  static TCPSocket handle(std::shared_ptr<SocketImpl> impl) noexcept {
    return TCPSocket(std::move(impl));
  }
  static TCPServerSocket handle(std::shared_ptr<ServerImpl> impl) noexcept {
    return TCPServerSocket(std::move(impl));
  }
};

}  // namespace tcpsocket::detail
