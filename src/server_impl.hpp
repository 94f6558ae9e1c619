// A TCPServerSocket (docs/reference.md §5): the registry of the connections its Acceptor hands
// it (limits, draining, abort, stats), the hand-out of each to the user (`connect`), and the
// server's own life cycle (close() stops listening only; accepted sockets live on).
#pragma once

#include <asio/ip/address.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "acceptor.hpp"
#include "address.hpp"
#include "connection_set.hpp"
#include "listener_list.hpp"
#include "loop_core.hpp"
#include "proxy_intake.hpp"
#include "socket_impl.hpp"
#include "tcpsocket/events.hpp"
#include "tcpsocket/options.hpp"
#include "tcpsocket/tcp_server_socket.hpp"

namespace tcpsocket::detail {

class ServerImpl final : public std::enable_shared_from_this<ServerImpl>,
                         public LoopMember,
                         public Acceptor::Handler,
                         public ConnectionOwner,
                         public ProxyIntake::Owner {
  struct Private {};

 public:
  ServerImpl(Private, LoopCore& loop, const ServerSocketOptions& options);
  ~ServerImpl() override;

  /// Binds and listens; throws the named errors of TCPServerSocket::listen.
  static std::shared_ptr<ServerImpl> listen(LoopCore& loop, std::uint16_t port,
                                            const ServerSocketOptions& options,
                                            std::uint16_t backlog);

  /// A server on a descriptor already listening (TCPServerSocket::adopt).
  static std::shared_ptr<ServerImpl> adopt(LoopCore& loop, int fd,
                                           const ServerSocketOptions& options);

  std::uint16_t localPort() const noexcept { return acceptor_.localPort(); }
  int nativeHandle() noexcept;
  void close();
  void drain(std::chrono::milliseconds deadline, std::function<void()> done,
             std::chrono::milliseconds quietPeriod);
  void abortConnections();
  ServerStats stats() const noexcept;
  /// The accepted connections handed out and still open (not those still in their TLS handshake).
  std::vector<std::shared_ptr<SocketImpl>> connections() const;
  void checkThread() const;
  ListenerList<TCPServerSocketEvent>& listeners() noexcept { return listeners_; }

  void abandon() noexcept override;
  void closeByLoop() override { close(); }
  std::shared_ptr<void> pin() noexcept override { return weak_from_this().lock(); }
  bool mayAccept() noexcept override;
  void connectionAccepted(int fd, const asio::ip::tcp::endpoint& peer) override;
  void acceptFailed(int err) override;
  void connectionEnded(SocketImpl& socket) noexcept override;
  void lingerStarted() noexcept override { ++lingering_; }
  void lingerEnded() noexcept override;
  bool connectionSecured(SocketImpl& socket) override;

 private:
  /// listen() and adopt() alike: the server, its settings for accepted sockets, and the
  /// listener made by `bind` (which throws the named errors).
  static std::shared_ptr<ServerImpl> start(LoopCore& loop, const ServerSocketOptions& options,
                                           const std::function<void(Acceptor&)>& bind);
  void proxyReceived(ProxyIntake& intake, int fd, asio::ip::tcp::endpoint peer,
                     std::unique_ptr<ProxyInfo> info) override;
  void proxyRefused(ProxyIntake& intake, const char* why) override;
  /// A connection whose client is known (after its PROXY header, if the server takes them).
  void admit(int fd, const asio::ip::tcp::endpoint& peer, std::unique_ptr<ProxyInfo> proxy);
  std::size_t heldConnections() const noexcept {
    return connections_.size() + lingering_ + intakes_.size();
  }
  bool refusedByAddressLimit(int fd, const asio::ip::address& address);
  void handOut(std::shared_ptr<SocketImpl> impl);
  void stopListening() noexcept;
  void abortHandshakes();
  void closeQuietConnections();
  void finishDrain();
  /// Finishes a drain once no connection, handshake or PROXY header is left.
  void drainedIfEmpty();
  void resumeBelowTheLimit() noexcept;
  void release();
  void emit(ServerEventType type, TCPSocket& socket, const ErrorInfo& error = {});

  Acceptor acceptor_;
  // One copy for every accepted socket: binary type, options, TLS, shared listeners, us.
  std::shared_ptr<const AcceptedSettings> accepted_;
  std::uint32_t maxConnections_;
  std::uint32_t maxPerAddress_;
  // Accepted sockets still open; they unregister themselves when they end (connectionEnded).
  ConnectionSet connections_;
  std::unordered_set<SocketImpl*> handshaking_;  // accepted TLS sockets not yet handed out
  std::unordered_map<asio::ip::address, std::uint32_t> perAddress_;  // only with maxPerAddress_
  std::uint32_t lingering_ = 0;  // ended connections whose descriptors are still open
  ProxyProtocolOptions::Mode proxyMode_ = ProxyProtocolOptions::Mode::Off;
  std::vector<AddressBlock> proxyTrusted_;
  std::chrono::milliseconds proxyDeadline_{0};
  // Connections whose PROXY header is being read; not counted as open, but held.
  std::unordered_map<const ProxyIntake*, std::unique_ptr<ProxyIntake>> intakes_;
  bool pausedAtLimit_ = false;
  bool draining_ = false;
  std::vector<std::function<void()>> drainDone_;
  std::unique_ptr<asio::steady_timer> drainTimer_;  // the deadline
  std::unique_ptr<asio::steady_timer> quietTimer_;  // looks for connections gone quiet
  std::chrono::milliseconds quietPeriod_{0};
  ServerStats stats_;
  bool listening_ = false;
  ListenerList<TCPServerSocketEvent> listeners_;
  std::shared_ptr<ServerImpl> self_;  // a listening server lives on without handles
};

}  // namespace tcpsocket::detail
