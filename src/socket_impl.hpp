// One TCPSocket (docs/reference.md §2-§4): the state every part of it shares, and the parts, one
// mechanism per file:
//
//   socket_impl.cpp     birth (connected or accepted), readiness dispatch, events, release
//   socket_connector    connecting: name lookup, the addresses in turn, the connect deadline
//   socket_read.cpp     the read side: the read loop, suspend/resume, the peer's FIN
//   socket_write.cpp    the write side: send(), the one writer, drain
//   socket_secure.cpp   STARTTLS and the TLS handshake (swapping in a TlsTransport)
//   socket_close.cpp    the ways a socket ends (below)
//   socket_linger.cpp   after our FIN: keeping the descriptor until the peer has everything
//   socket_idle.cpp     the idle timeout and the quiet check of a draining server
//
// Bytes move through a Transport (transport.hpp): plain TCP, or TLS once secured.
//
// How a socket ends, and what each way fires:
//   close()             flush the queue, FIN, linger           -> drain (if owed), close
//   closeImmediately()  drop the queue, FIN, linger            -> close
//   abort()             drop the queue, RST                    -> close
//   halfClose()         flush, FIN, keep reading               -> (close once the peer ends too)
//   peer's FIN          flush what is queued, then as close()  -> end (allowHalfOpen), close
//   fail(error)         a network or TLS failure, idle timeout -> error, close
//   close() while connecting                                   -> close (no error: deviation)
//   release()           after `close`: the server hears, listeners and self-reference go
//   abandon()           the loop is destroyed: RST if open, nothing fires
#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "error_table.hpp"
#include "listener_list.hpp"
#include "loop_core.hpp"
#include "plain_transport.hpp"
#include "tcpsocket/events.hpp"
#include "tcpsocket/options.hpp"
#include "transport.hpp"
#include "write_queue.hpp"

namespace tcpsocket::detail {

class SocketImpl;
class Connector;
class TlsContext;

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

/// What every socket a server accepts shares: one copy per server, not per connection.
struct AcceptedSettings {
  BinaryType binaryType = BinaryType::String;
  std::shared_ptr<const ConnectionOptions> options;  // never null
  std::weak_ptr<ConnectionOwner> owner;
  std::shared_ptr<const TlsContext> tls;           // null: no TLS, not even STARTTLS
  bool secure = false;                             // TLS from the start
  std::shared_ptr<const SocketHandlers> handlers;  // may be null
};

class SocketImpl final : public std::enable_shared_from_this<SocketImpl>,
                         public LoopMember,
                         private ReadinessSet::Client {
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
  /// With `settings->secure`, it is "connecting" until its TLS handshake is done, then tells its
  /// owner (connectionSecured).
  static std::shared_ptr<SocketImpl> adopt(LoopCore& loop, int fd,
                                           const asio::ip::tcp::endpoint& peer,
                                           std::shared_ptr<const AcceptedSettings> settings);

  /// An accepted connection's PROXY header (ServerSocketOptions::proxyProtocol), or null.
  void setProxyInfo(std::unique_ptr<const ProxyInfo> info);
  const ProxyInfo* proxyInfo() const noexcept;

  /// The host given to connect(), or the peer's address as text (made when first asked for).
  const std::string& host() const;
  std::uint16_t port() const noexcept { return port_; }
  /// The peer's address (unspecified until connected).
  const asio::ip::address& peerAddress() const noexcept { return peer_; }
  /// getsockname() of the descriptor; nothing before connecting or once it is closed.
  std::optional<asio::ip::tcp::endpoint> localEndpoint() const;
  std::uint64_t bytesRead() const noexcept { return bytesRead_; }
  std::uint64_t bytesWritten() const noexcept { return bytesWritten_; }
  std::uint64_t bufferedAmount() const noexcept { return write_.queue.bytes(); }
  ReadyState readyState() const noexcept { return state_; }
  BinaryType binaryType() const noexcept { return binaryType_; }
  int nativeHandle() noexcept;
  bool ssl() const noexcept;
  std::string alpnProtocol() const;

  /// Sends `size` bytes, counting `counted` of them for the full-buffer rule. With `owner`, a
  /// rest the kernel refuses is referenced (kept alive by *owner) instead of copied.
  bool send(const std::uint8_t* data, std::size_t size, std::uint64_t counted,
            const std::shared_ptr<const void>* owner = nullptr);
  void suspend();
  void resume();
  void suspendUntilDrain();
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
  /// STARTTLS (docs/reference.md §4.3, and on accepted sockets with the server's credentials).
  void upgradeToSecure();
  void checkThread() const;

  ListenerList<TCPSocketEvent>& listeners() noexcept { return listeners_; }

  /// The socket's index in its owner's ConnectionSet (connection_set.hpp), kept here so that
  /// the owner needs no node per connection.
  static constexpr std::uint32_t kNoOwnerSlot = UINT32_MAX;
  std::uint32_t& ownerSlot() noexcept { return ownerSlot_; }

  void abandon() noexcept override;
  void closeByLoop() override { close(); }
  std::shared_ptr<void> pin() noexcept override { return weak_from_this().lock(); }

 private:
  friend class Connector;

  // Birth (socket_impl.cpp).
  void connected(asio::ip::tcp::socket socket, const asio::ip::address& peer);
  void beginOpen();
  /// The server's options (accepted), those given to open(), or the defaults.
  const ConnectionOptions& settings() const noexcept;
  /// "open" is due, now or once the handshake is done.
  void becomeOpen();
  // Readiness of the descriptor goes to every part waiting for it. The descriptor is registered
  // once with the loop's ReadinessSet (edge-triggered: a wait follows a refusal, see
  // readiness.hpp); a wait is a flag.
  std::error_code registerDescriptor(int fd);
  void descriptorReady(bool readable, bool writable, bool hangup) noexcept override;

  void waitReadable();
  void waitWritable();
  /// What Asio's cancel() did: waits end (their parts are told by a posted call), edges stay.
  void cancelWaits() noexcept;
  void onReadable();
  void onWritable();
  /// Who waits for the descriptor's readiness.
  enum class ReadWaiter : std::uint8_t { None, Reader, Linger };
  /// Who waits now; the loop's ReadinessSet counts waiting sockets as work.
  void setWaiters(ReadWaiter reader, bool writer);

  // The read side (socket_read.cpp). Reads until a wait, then waits for readiness; anything else
  // that stops it (the per-wakeup budget, suspend) must restart with a read, because readiness
  // is edge-triggered.
  void scheduleRead();
  void readReady();
  void peerEnded();

  // The write side (socket_write.cpp).
  IoResult writeDirect(const std::uint8_t* data, std::size_t size);
  void writeReady();
  void waitToWrite(IoStep why);
  void scheduleWrite();
  void scheduleFlushCheck();
  void queueEmptied();

  // STARTTLS and the handshake (socket_secure.cpp).
  struct Securing;
  /// Bytes the writer may send now: all, the plaintext queued before STARTTLS, or none while
  /// the handshake runs.
  std::uint64_t writableNow() const noexcept;
  /// The writer sent `written` bytes; true if that was the last plaintext before a handshake,
  /// which has now been started (the writer stops).
  bool plaintextSent(std::size_t written);
  void startHandshake();
  void continueHandshake();
  void handshakeDone();

  // Endings (socket_close.cpp, socket_linger.cpp).
  void finishClose();
  void fail(ErrorInfo info, bool reset = false);
  void failLater(ErrorInfo info, bool reset = false);
  void release();
  struct Lingering;
  void lingerThenClose();
  void lingerRead();
  void lingerTick();
  void lingerDone();
  void closeDescriptor(bool reset = false) noexcept;

  // Idle timeout and quiet watch (socket_idle.cpp).
  void startIdleTimer(std::chrono::milliseconds wait);
  void idleTimerFired();
  void noteActivity() noexcept;
  /// Bytes moved: counted, and noted as activity.
  void countRead(std::size_t bytes) noexcept;
  void countWritten(std::size_t bytes) noexcept;

  void emit(SocketEventType type, EventData data = {}, ErrorInfo info = {});

  /// Our direction: open, FIN owed once the queue is empty (halfClose), or FIN sent.
  enum class OurFin : std::uint8_t { None, AfterQueue, Sent };

  struct ReadSide {
    std::uint32_t suspendCount = 0;
    bool armed = false;           // a read wait or a posted read is pending
    bool blockedOnWrite = false;  // the transport must write before it can read on (TLS)
    bool peerEnded = false;       // the peer's FIN was read
  };
  struct WriteSide {
    WriteQueue queue;
    bool armed = false;             // a write wait or a posted write is pending
    bool blockedOnRead = false;     // the transport must read before it can write on (TLS)
    bool flushCheckPosted = false;  // a posted queueEmptied() check is pending
    bool owesDrain = false;         // a send() returned false since the last drain
    bool resumeAtDrain = false;     // suspendUntilDrain() holds one suspend until that drain
    bool failed = false;            // a write failed inside send(); fail() is posted
    OurFin fin = OurFin::None;
  };

  struct Readiness {
    ReadinessSet::Token token;
    ReadWaiter reader = ReadWaiter::None;
    bool writer = false;
    bool hangup = false;  // the peer's FIN (or an error) is in: a short read does not wait
  };
  void waitForLingerRead();

  int fd_ = -1;
  Readiness ready_;
  struct Extras;
  /// The out-of-line state, made on first use.
  Extras& extras();
  /// Drops the out-of-line state once nothing in it is in use.
  void trimExtras() noexcept;
  Connector* connector() const noexcept;
  Securing* securing() const noexcept;
  Lingering* lingering() const noexcept;
  asio::steady_timer* idleTimer() const noexcept;
  /// The TLS settings: given to open(), the server's, or the defaults an upgrade made; or null.
  std::shared_ptr<const TlsContext> tlsContext() const noexcept;

  /// The transport in use: the TLS session once one is made (Extras::secure), else the one
  /// stateless plain transport.
  Transport& transport() const noexcept;

  std::shared_ptr<const AcceptedSettings> accepted_;  // null for sockets we connected
  // The host given to connect(); for an accepted socket, the peer's address as text, made when
  // first asked for (most servers never ask).
  mutable std::unique_ptr<std::string> host_;
  asio::ip::address peer_;
  std::uint16_t port_ = 0;
  ReadyState state_;
  BinaryType binaryType_;
  bool resetOnClose_ = false;   // abort(): the close sends RST
  bool watchingQuiet_ = false;  // watchQuiet() was called: stamp Extras::lastActivity
  // Accepted: its server's `connect` has handed it out (at once, or after the TLS handshake).
  // The server's shared handlers run only from then on: for a client dropped before, none does.
  bool handedOut_ = false;
  ReadSide read_;
  std::uint32_t ownerSlot_ = kNoOwnerSlot;
  std::uint64_t bytesRead_ = 0;
  std::uint64_t bytesWritten_ = 0;
  WriteSide write_;
  std::unique_ptr<Extras> extras_;  // null while nothing in it is in use
  ListenerList<TCPSocketEvent> listeners_;
  std::shared_ptr<SocketImpl> self_;  // an open socket lives on without handles (the reference)
};

/// A socket on its way to TLS: from upgradeToSecure() (or the start) until the handshake is done.
struct SocketImpl::Securing {
  explicit Securing(asio::io_context& io, std::uint64_t plaintext)
      : plaintextLeft(plaintext), handshakeDeadline(io) {}
  std::uint64_t plaintextLeft;  // queued before STARTTLS: still goes out in plaintext
  bool handshaking = false;     // the TlsTransport is in place and its handshake runs
  asio::steady_timer handshakeDeadline;
};

/// What a closed socket waits for before letting its descriptor go (see socket_linger.cpp).
struct SocketImpl::Lingering {
  explicit Lingering(asio::io_context& io) : tick(io) {}
  std::chrono::steady_clock::time_point since;       // when our FIN went out
  std::chrono::steady_clock::time_point progressAt;  // when the peer last took bytes from us
  int unsent = 0;                        // our bytes the kernel still holds, at the last look
  bool peerFinished = false;             // the peer's FIN was read
  bool discardedInput = false;           // the peer sent bytes after our FIN that nobody will read
  std::weak_ptr<ConnectionOwner> owner;  // counts us until the descriptor is closed
  asio::steady_timer tick;               // polls the kernel's send queue
};

/// The InvalidStateError message of a call that needs readyState "open".
std::string needsOpen(std::string_view call, ReadyState state);

/// What most sockets never need, kept out of line so that an idle plain connection stays small:
/// allocated when first used, dropped again when a connect finishes with none of it in use.
struct SocketImpl::Extras {
  std::unique_ptr<Connector> connector;           // only while connecting
  std::shared_ptr<const TlsContext> tlsContext;   // given to open(), or made by an upgrade
  std::unique_ptr<Securing> securing;             // from upgradeToSecure() to the handshake's end
  std::unique_ptr<Transport> secure;              // the TlsTransport, from the handshake on
  std::unique_ptr<Lingering> linger;              // after a graceful close
  std::unique_ptr<asio::steady_timer> idleTimer;  // only with ConnectionOptions::idleTimeout
  // Options given to open() that differ from the defaults (an accepted socket reads its
  // server's, AcceptedSettings::options).
  std::shared_ptr<const ConnectionOptions> options;
  // Kept only with an idle timeout, or while a draining server watches for quiet.
  std::chrono::steady_clock::time_point lastActivity{};
  std::unique_ptr<const ProxyInfo> proxy;  // what a balancer's PROXY header said
};

/// Bytes the kernel holds on a socket: received and not read yet (FIONREAD), or written and not
/// yet acknowledged by the peer (SIOCOUTQ); 0 if the descriptor cannot say.
int unreadBytes(int fd) noexcept;
int unsentBytes(int fd) noexcept;

}  // namespace tcpsocket::detail
