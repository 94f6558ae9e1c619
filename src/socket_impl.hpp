// The state machine of one TCPSocket (reference §2-§4): connecting, reading, the write queue and
// backpressure, and the three ways a socket ends (graceful close, peer close, error).
#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "error_names.hpp"
#include "listener_list.hpp"
#include "loop_core.hpp"
#include "tcpsocket/events.hpp"
#include "tcpsocket/options.hpp"
#include "write_queue.hpp"

namespace tcpsocket::detail {

class SocketImpl;

/// Whoever must hear when an accepted socket ends (its server, for limits and draining).
class ConnectionOwner {
 public:
  virtual void connectionEnded(SocketImpl& socket) noexcept = 0;

 protected:
  ~ConnectionOwner() = default;
};

class SocketImpl final : public std::enable_shared_from_this<SocketImpl>, public LoopMember {
  struct Private {};  // make_shared needs a public constructor; this keeps it internal

 public:
  SocketImpl(Private, LoopCore& loop, BinaryType binaryType, ReadyState state);
  ~SocketImpl() override;

  /// A socket that starts connecting to host:port.
  static std::shared_ptr<SocketImpl> connect(LoopCore& loop, std::string_view host,
                                             std::uint16_t port, const SocketOptions& options);
  /// A socket around an accepted, non-blocking descriptor; it is "open" and starts reading after
  /// the current handler returns. Returns nullptr (and closes fd) if the loop cannot take it.
  static std::shared_ptr<SocketImpl> adopt(LoopCore& loop, int fd,
                                           const asio::ip::tcp::endpoint& peer,
                                           BinaryType binaryType,
                                           std::shared_ptr<const ConnectionOptions> options,
                                           std::weak_ptr<ConnectionOwner> owner);

  const std::string& host() const noexcept { return host_; }
  std::uint16_t port() const noexcept { return port_; }
  std::uint64_t bufferedAmount() const noexcept { return queue_.bytes(); }
  ReadyState readyState() const noexcept { return state_; }
  BinaryType binaryType() const noexcept { return binaryType_; }
  int nativeHandle() noexcept;

  /// Sends `size` bytes, counting `counted` of them for the full-buffer rule.
  bool send(const std::uint8_t* data, std::size_t size, std::uint64_t counted);
  void suspend();
  void resume();
  void close();
  void closeImmediately();
  void halfClose();
  /// Closes with RST now: queued data is discarded, the peer sees a reset; `close` follows.
  void abort();
  void checkThread() const;

  ListenerList<TCPSocketEvent>& listeners() noexcept { return listeners_; }

  void abandon() noexcept override;

 private:
  // Connecting.
  void startResolve(std::string host);
  void connectTo(std::shared_ptr<Endpoints> endpoints, std::size_t index, std::error_code last);
  void connected();
  void startConnectDeadline(std::chrono::milliseconds timeout);
  void beginOpen();
  /// options_, or the defaults when it is null.
  const ConnectionOptions& settings() const noexcept;
  void startIdleTimer(std::chrono::milliseconds wait);
  void idleTimerFired();
  void noteActivity() noexcept;

  // Reading: reads until EAGAIN, then waits for readiness; anything else that stops it (the
  // per-wakeup budget, suspend) must restart with a read, because readiness is edge-triggered.
  void scheduleRead();
  void waitReadable();
  void readReady();
  void peerEnded();

  // Writing.
  void waitWritable();
  void writeReady();
  void scheduleFlushCheck();
  void queueEmptied();

  // Endings.
  void finishClose();
  void fail(ErrorInfo info, bool reset = false);
  void failLater(ErrorInfo info, bool reset = false);
  void release();
  void lingerThenClose();
  void lingerRead();
  void closeDescriptor(bool reset = false) noexcept;

  void emit(SocketEventType type, EventData data = {}, ErrorInfo info = {});

  std::optional<asio::ip::tcp::socket> socket_;
  std::shared_ptr<const AppPolicy> policy_;  // checked for every address tried; null: full trust
  // Shared by a server's sockets; null means the defaults (read it through settings()).
  std::shared_ptr<const ConnectionOptions> options_;
  std::weak_ptr<ConnectionOwner> owner_;
  std::chrono::steady_clock::time_point lastActivity_{};  // kept only with an idle timeout
  // The connect deadline while connecting, the linger bound after close; null when neither runs.
  std::unique_ptr<asio::steady_timer> timer_;
  std::string host_;
  std::uint16_t port_ = 0;
  ReadyState state_;
  BinaryType binaryType_;
  std::uint32_t suspendCount_ = 0;
  bool readArmed_ = false;          // a read wait or a posted read is pending
  bool writeArmed_ = false;         // a write wait is pending
  bool flushCheckPosted_ = false;   // a posted queueEmptied() check is pending
  bool waitingForDrain_ = false;    // a send() returned false since the last drain
  bool peerEnded_ = false;          // the peer's FIN was read
  bool writeEnded_ = false;         // halfClose() was called: FIN goes out once the queue is empty
  bool finSent_ = false;            // that FIN has been sent
  bool writeFailed_ = false;        // a write failed inside send(); fail() is posted
  bool lastAttemptDenied_ = false;  // the policy refused the last address tried
  bool resetOnClose_ = false;       // abort(): the close sends RST
  WriteQueue queue_;
  ListenerList<TCPSocketEvent> listeners_;
  std::shared_ptr<SocketImpl>
      self_;  // an open socket lives on without handles (as in the reference)
};

/// "127.0.0.1", "::1"; IPv4-mapped IPv6 addresses are shown as IPv4.
std::string addressString(const asio::ip::address& address);

}  // namespace tcpsocket::detail
