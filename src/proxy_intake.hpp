// The first step of a connection accepted by a server with ServerSocketOptions::proxyProtocol:
// its PROXY header is read (peeked, then exactly its bytes taken, so that nothing of the
// application's is consumed) before the server makes a socket of it. One intake per connection,
// owned by its server; it ends by calling the server back exactly once, and the server then
// destroys it.
//
// Bounded: a header is at most 16 + 65535 bytes, read into the loop's read buffer; one that is
// malformed, from an untrusted source, or not complete within the deadline ends the connection
// with a reset ("ProxyProtocolError", counted in ServerStats::proxyHeadersRefused).
#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <memory>

#include "loop_core.hpp"
#include "readiness.hpp"
#include "tcpsocket/proxy_protocol.hpp"

namespace tcpsocket::detail {

class ProxyIntake final : private ReadinessSet::Client {
 public:
  class Owner {
   public:
    /// The header was read (or, with Mode::Optional, the connection has none): `peer` is the
    /// client (the balancer itself for a LOCAL header or none), `info` null without a header.
    /// The descriptor is the owner's from now on. By value: the owner destroys the intake.
    virtual void proxyReceived(ProxyIntake& intake, int fd, asio::ip::tcp::endpoint peer,
                               std::unique_ptr<ProxyInfo> info) = 0;
    /// The connection was refused (reset and closed) for `why`, or ended before it said anything
    /// (`why` null: nothing to count).
    virtual void proxyRefused(ProxyIntake& intake, const char* why) = 0;

   protected:
    ~Owner() = default;
  };

  /// `trusted`: the source may send a header. Nothing happens before start().
  ProxyIntake(LoopCore& loop, Owner& owner, int fd, const asio::ip::tcp::endpoint& peer,
              ProxyProtocolOptions::Mode mode, bool trusted, std::chrono::milliseconds deadline);
  /// Starts reading; the owner may be called back from inside (and destroy the intake).
  void start();
  /// Closes the descriptor with a reset if it was not handed on (the server closed or the loop
  /// went away).
  ~ProxyIntake();
  ProxyIntake(const ProxyIntake&) = delete;
  ProxyIntake& operator=(const ProxyIntake&) = delete;

 private:
  void descriptorReady(bool readable, bool writable, bool hangup) noexcept override;
  void examine() noexcept;
  void handOn(asio::ip::tcp::endpoint peer, std::unique_ptr<ProxyInfo> info) noexcept;
  void refuse(const char* why) noexcept;
  void stopWatching() noexcept;

  LoopCore& loop_;
  Owner& owner_;
  int fd_;
  asio::ip::tcp::endpoint peer_;
  ProxyProtocolOptions::Mode mode_;
  bool trusted_;
  ReadinessSet::Token token_;
  asio::steady_timer deadline_;
  std::chrono::milliseconds deadlineAfter_;
  std::size_t needed_ = 0;  // a v2 header's whole length, once known
  bool done_ = false;
};

}  // namespace tcpsocket::detail
