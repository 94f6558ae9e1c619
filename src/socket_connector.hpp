// Connecting (docs/reference.md §2.2): the name lookup, then each address in turn until one
// accepts, all under one deadline. The socket owns its Connector only while it connects; the
// connected descriptor is handed to it (SocketImpl::connected), a failure ends it (fail()).
#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>

#include "loop_core.hpp"

namespace tcpsocket {
class AppPolicy;
}

namespace tcpsocket::detail {

class SocketImpl;

/// What a client binds before connecting (SocketOptions::localAddress/localPort): an address
/// (then only remote addresses of its family are tried), or a port alone (then the wildcard
/// address of each remote address's family).
struct LocalEnd {
  std::optional<asio::ip::address> address;
  std::uint16_t port = 0;
};

class Connector {
 public:
  /// `policy` is checked for every address tried; null: full trust. `local`: bound before each
  /// attempt.
  Connector(SocketImpl& socket, std::shared_ptr<const AppPolicy> policy,
            std::optional<LocalEnd> local);
  ~Connector();
  Connector(const Connector&) = delete;
  Connector& operator=(const Connector&) = delete;

  /// Starts from the loop, so that even an immediate failure is reported after open() returns.
  /// `timeout` 0: no deadline beyond the kernel's.
  void start(std::chrono::milliseconds timeout);

 private:
  // Each step runs from a completion that holds the socket alive, and ends by calling into the
  // socket as its last act: connected() and fail() destroy this Connector.
  static Connector* connecting(const std::shared_ptr<SocketImpl>& self, Connector* expected);
  void resolve();
  void tryAddress(std::shared_ptr<Endpoints> endpoints, std::size_t index, std::error_code last);

  SocketImpl& socket_;
  std::shared_ptr<const AppPolicy> policy_;
  std::optional<LocalEnd> local_;
  std::optional<asio::ip::tcp::socket> attempt_;
  std::optional<asio::steady_timer> deadline_;
  bool lastAttemptDenied_ = false;  // the policy refused the last address tried
};

}  // namespace tcpsocket::detail
