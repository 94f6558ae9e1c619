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
#include "tls_session.hpp"
#include "write_queue.hpp"

namespace tcpsocket::detail {

class SocketImpl;

/// Whoever must hear when an accepted socket ends (its server, for limits and draining).
class ConnectionOwner {
 public:
  virtual void connectionEnded(SocketImpl& socket) noexcept = 0;
  /// A connection that ended still holds its descriptor while it lingers (socket_linger.cpp):
  /// it counts toward the owner's limits until lingerEnded().
  virtual void lingerStarted() noexcept = 0;
  virtual void lingerEnded() noexcept = 0;
  /// A TLS connection finished its handshake: hands it out; false if it cannot be (the server
  /// stopped listening), and the socket then resets itself.
  virtual bool connectionSecured(SocketImpl& socket) = 0;

 protected:
  ~ConnectionOwner() = default;
};

class SocketImpl final : public std::enable_shared_from_this<SocketImpl>, public LoopMember {
  struct Private {};  // make_shared needs a public constructor; this keeps it internal

 public:
  SocketImpl(Private, LoopCore& loop, BinaryType binaryType, ReadyState state);
  ~SocketImpl() override;

  /// A socket that starts connecting to host:port.
  /// `tls`: the context for useSecureTransport or a later upgradeToSecure() (null: defaults).
  static std::shared_ptr<SocketImpl> connect(LoopCore& loop, std::string_view host,
                                             std::uint16_t port, const SocketOptions& options,
                                             std::shared_ptr<const TlsContext> tls);
  /// A socket around an accepted, non-blocking descriptor; it is "open" and starts reading after
  /// the current handler returns. Returns nullptr (and closes fd) if the loop cannot take it.
  /// With `secure`, it is "connecting" until its TLS handshake (server side, with `tls`) is done,
  /// then tells its owner (connectionSecured). `tls` also serves upgradeToSecure().
  static std::shared_ptr<SocketImpl> adopt(LoopCore& loop, int fd,
                                           const asio::ip::tcp::endpoint& peer,
                                           BinaryType binaryType,
                                           std::shared_ptr<const ConnectionOptions> options,
                                           std::weak_ptr<ConnectionOwner> owner,
                                           std::shared_ptr<const TlsContext> tls, bool secure,
                                           std::shared_ptr<const SocketHandlers> handlers);

  const std::string& host() const noexcept { return host_; }
  std::uint16_t port() const noexcept { return port_; }
  std::uint64_t bufferedAmount() const noexcept { return queue_.bytes(); }
  ReadyState readyState() const noexcept { return state_; }
  BinaryType binaryType() const noexcept { return binaryType_; }
  int nativeHandle() noexcept;
  bool ssl() const noexcept { return tls_ != nullptr; }
  std::string alpnProtocol() const;

  /// Sends `size` bytes, counting `counted` of them for the full-buffer rule. With `owner`, a
  /// rest the kernel refuses is referenced (kept alive by *owner) instead of copied.
  bool send(const std::uint8_t* data, std::size_t size, std::uint64_t counted,
            const std::shared_ptr<const void>* owner = nullptr);
  void suspend();
  void resume();
  void close();
  void closeImmediately();
  void halfClose();
  /// Closes with RST now: queued data is discarded, the peer sees a reset; `close` follows.
  void abort();
  /// From now on, note when bytes move, for quietFor() (a draining server asks it).
  void watchQuiet() noexcept;
  /// Open, nothing queued, unread or unacknowledged (our queue, the kernel's receive and send
  /// queues), and no byte moved for `period`: closing now loses nothing the peer sent or is owed.
  bool quietFor(std::chrono::milliseconds period) noexcept;
  /// STARTTLS (reference §4.3, and on accepted sockets with the server's credentials).
  void upgradeToSecure();
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

  // Reading and writing through TLS when there is a session, else straight to the kernel.
  enum class Step { Progress, End, WaitRead, WaitWrite, Failed };
  struct IoResult {
    Step step;
    std::size_t bytes = 0;
    ErrorInfo error{};
  };
  static IoResult fromTls(const TlsResult& r, bool writing) noexcept;
  IoResult readSome(std::uint8_t* buffer, std::size_t capacity);
  IoResult writeSome();
  IoResult writeNow(const std::uint8_t* data, std::size_t size);
  void waitToWrite(Step why);

  // TLS (socket_tls.cpp).
  struct TlsState;
  /// upgradeToSecure() was called and the handshake has not completed: no application byte may
  /// be read or written now.
  bool tlsPending() const noexcept;
  void startHandshake();
  void continueHandshake();
  void handshakeDone();

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
  // Lingering (socket_linger.cpp): after our FIN, until the peer has taken everything.
  struct LingerState;
  void lingerThenClose();
  void lingerRead();
  void lingerTick();
  void lingerDone();
  void closeDescriptor(bool reset = false) noexcept;

  void emit(SocketEventType type, EventData data = {}, ErrorInfo info = {});

  std::optional<asio::ip::tcp::socket> socket_;
  std::shared_ptr<const AppPolicy> policy_;  // checked for every address tried; null: full trust
  // Shared by a server's sockets; null means the defaults (read it through settings()).
  std::shared_ptr<const ConnectionOptions> options_;
  std::weak_ptr<ConnectionOwner> owner_;
  // Kept only with an idle timeout, or while a draining server watches for quiet.
  std::chrono::steady_clock::time_point lastActivity_{};
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
  bool accepted_ = false;           // made by a server (TLS role: server)
  bool watchingQuiet_ = false;      // watchQuiet() was called: stamp lastActivity_
  WriteQueue queue_;
  std::shared_ptr<const TlsContext> tlsContext_;  // null: no TLS settings given (yet)
  std::unique_ptr<TlsState> tls_;                 // null: not TLS (ssl is false)
  std::unique_ptr<LingerState> linger_;           // null until closed gracefully
  ListenerList<TCPSocketEvent> listeners_;
  std::shared_ptr<const SocketHandlers> sharedHandlers_;  // the server's, run first; may be null
  std::shared_ptr<SocketImpl>
      self_;  // an open socket lives on without handles (as in the reference)
};

/// A socket's TLS life: from upgradeToSecure() (or the start) until it closes.
struct SocketImpl::TlsState {
  explicit TlsState(asio::io_context& io) : deadline(io) {}
  std::unique_ptr<TlsSession> session;  // null while plaintext queued before STARTTLS goes out
  asio::steady_timer deadline;          // bounds the handshake
  std::uint64_t plainBefore = 0;        // queued bytes that still go out in plaintext
  bool handshaking = false;
  bool readWaitsWrite = false;  // OpenSSL must write before it can read on
  bool writeWaitsRead = false;  // and the other way round
};

/// What a closed socket waits for before letting its descriptor go (see socket_linger.cpp).
struct SocketImpl::LingerState {
  std::chrono::steady_clock::time_point since;       // when our FIN went out
  std::chrono::steady_clock::time_point progressAt;  // when the peer last took bytes from us
  int unsent = 0;                        // our bytes the kernel still holds, at the last look
  bool peerFinished = false;             // the peer's FIN was read
  bool discardedInput = false;           // the peer sent bytes after our FIN that nobody will read
  std::weak_ptr<ConnectionOwner> owner;  // counts us until the descriptor is closed
};

/// Bytes the kernel holds on a socket: received and not read yet (FIONREAD), or written and not
/// yet acknowledged by the peer (SIOCOUTQ); 0 if the descriptor cannot say.
int unreadBytes(int fd) noexcept;
int unsentBytes(int fd) noexcept;

/// "127.0.0.1", "::1"; IPv4-mapped IPv6 addresses are shown as IPv4.
std::string addressString(const asio::ip::address& address);

}  // namespace tcpsocket::detail
