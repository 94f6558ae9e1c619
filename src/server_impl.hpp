// The listening side (reference §5): bind/listen with named failures, the accept loop, and the
// server's own life cycle (close() stops listening only; accepted sockets live on).
#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>

#include "listener_list.hpp"
#include "loop_core.hpp"
#include "tcpsocket/events.hpp"
#include "tcpsocket/options.hpp"

namespace tcpsocket::detail {

class ServerImpl final : public std::enable_shared_from_this<ServerImpl>, public LoopMember {
  struct Private {};

 public:
  ServerImpl(Private, LoopCore& loop, BinaryType binaryType);
  ~ServerImpl() override;

  /// Binds and listens; throws the named errors of TCPServerSocket::listen.
  static std::shared_ptr<ServerImpl> listen(LoopCore& loop, std::uint16_t port,
                                            const ServerSocketOptions& options,
                                            std::uint16_t backlog);

  std::uint16_t localPort() const noexcept { return localPort_; }
  int nativeHandle() noexcept;
  void close();
  void checkThread() const;
  ListenerList<TCPServerSocketEvent>& listeners() noexcept { return listeners_; }

  void abandon() noexcept override;

 private:
  // Accepts until EAGAIN (then waits) or the per-wakeup budget (then posts), as readiness is
  // edge-triggered.
  void scheduleAccept();
  void waitAcceptable();
  void acceptReady();
  void backOff();
  void died(int err);
  void release();
  void emit(ServerEventType type, TCPSocket& socket, std::string_view name = {},
            std::string_view message = {});

  std::optional<asio::ip::tcp::acceptor> acceptor_;
  std::unique_ptr<asio::steady_timer> backoffTimer_;  // only after running out of descriptors
  std::chrono::milliseconds backoff_{0};
  BinaryType binaryType_;
  std::uint16_t localPort_ = 0;
  bool listening_ = false;
  ListenerList<TCPServerSocketEvent> listeners_;
  std::shared_ptr<ServerImpl> self_;  // a listening server lives on without handles
};

}  // namespace tcpsocket::detail
