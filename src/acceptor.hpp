// The listening descriptor and its accept loop (docs/reference.md §5.1, §5.2): bind and listen
// with named failures, accept until the kernel's queue is empty, and survive running out of
// descriptors. Each new connection goes one way, as (descriptor, peer address), to a Handler (the
// server, which keeps the registry of connections); nothing here knows about sockets.
#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "loop_core.hpp"

namespace tcpsocket::detail {

class Acceptor {
 public:
  class Handler {
   public:
    /// Asked before each accept: false pauses accepting until resume() (connection limits).
    virtual bool mayAccept() noexcept = 0;
    /// A new connection, non-blocking and close-on-exec: the handler owns `fd` from now on.
    virtual void connectionAccepted(int fd, const asio::ip::tcp::endpoint& peer) = 0;
    /// accept() failed for a reason that concerns the listener, not one connection; the
    /// listening descriptor is closed.
    virtual void acceptFailed(int err) = 0;

   protected:
    ~Handler() = default;
  };

  explicit Acceptor(LoopCore& loop);

  /// Binds and listens; throws the named errors of TCPServerSocket::listen.
  void listen(const asio::ip::tcp::endpoint& endpoint, bool reusePort, bool ipv6Only, int backlog);
  /// Takes a descriptor that is already listening (systemd's socket activation, a handover from
  /// a previous process). Throws TypeError unless it is a listening TCP socket; the descriptor
  /// is then ours (made close-on-exec and non-blocking), and closed with the server.
  void adopt(int fd);
  /// Starts accepting, or resumes after mayAccept() said no. Pending waits hold `handler` alive.
  void start(std::shared_ptr<Handler> handler);
  /// Stops accepting and closes the listening descriptor.
  void close() noexcept;
  /// The loop is going away: also lets go of every Asio object now, while the loop still exists.
  void abandon() noexcept;

  std::uint16_t localPort() const noexcept { return localPort_; }
  int nativeHandle() const noexcept;
  /// Waiting out a shortage of descriptors or memory.
  bool backingOff() const noexcept { return backoff_.count() > 0; }
  std::uint64_t backoffs() const noexcept { return backoffs_; }

 private:
  void post();
  void waitAcceptable();
  void acceptReady();
  void backOff();

  LoopCore& loop_;
  std::optional<asio::ip::tcp::acceptor> acceptor_;  // reset only by abandon()
  std::shared_ptr<Handler> handler_;                 // null when not listening
  std::optional<asio::steady_timer> backoffTimer_;   // only after running out of descriptors
  std::chrono::milliseconds backoff_{0};
  std::uint64_t backoffs_ = 0;
  std::uint16_t localPort_ = 0;
};

}  // namespace tcpsocket::detail
