// A socket's birth (connected or accepted), the dispatch of its descriptor's readiness to the
// parts waiting for it, its events, and its release. The parts themselves: see socket_impl.hpp.
#include "socket_impl.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <asio/post.hpp>

#include "access.hpp"
#include "address.hpp"
#include "socket_connector.hpp"
#include "tcp_tuning.hpp"
#include "tcpsocket/errors.hpp"
#include "tcpsocket/tcp_socket.hpp"
#include "tls_context.hpp"

namespace tcpsocket::detail {

std::string needsOpen(std::string_view call, ReadyState state) {
  return std::string(call) + " needs readyState \"open\", but it is \"" +
         std::string(toString(state)) + "\"";
}

SocketImpl::SocketImpl(Private, LoopCore& loop, BinaryType binaryType, ReadyState state)
    : LoopMember(loop), state_(state), binaryType_(binaryType) {}

// A socket is normally closed (closeDescriptor) or abandoned before it goes; this catches the
// rest. Its slot in the loop's ReadinessSet is not given back: this may run on any thread.
SocketImpl::~SocketImpl() {
  if (fd_ < 0) return;
  if (LoopCore* core = loop()) {
    setWaiters(ReadWaiter::None, false);
    core->readiness().remove(ready_.token);
  }
  ::close(fd_);
}

void SocketImpl::checkThread() const {
  if (LoopCore* core = loop()) core->checkThread();
}

int SocketImpl::nativeHandle() noexcept { return fd_; }

std::optional<asio::ip::tcp::endpoint> SocketImpl::localEndpoint() const {
  if (fd_ < 0) return std::nullopt;
  asio::ip::tcp::endpoint local;
  socklen_t size = static_cast<socklen_t>(local.capacity());
  if (::getsockname(fd_, local.data(), &size) != 0) return std::nullopt;
  local.resize(size);
  return local;
}

const std::string& SocketImpl::host() const {
  if (!host_) {
    host_ = std::make_unique<std::string>(peer_.is_unspecified() ? std::string()
                                                                 : addressString(peer_));
  }
  return *host_;
}

bool SocketImpl::ssl() const noexcept { return securing() != nullptr || transport().secure(); }

Transport& SocketImpl::transport() const noexcept {
  if (extras_ && extras_->secure) return *extras_->secure;
  return plainTransport();
}

SocketImpl::Extras& SocketImpl::extras() {
  if (!extras_) extras_ = std::make_unique<Extras>();
  return *extras_;
}

void SocketImpl::trimExtras() noexcept {
  const Extras& e = *extras_;
  if (!e.connector && !e.tlsContext && !e.securing && !e.secure && !e.linger && !e.idleTimer &&
      !e.options && !e.proxy && !watchingQuiet_) {
    extras_.reset();
  }
}

void SocketImpl::setProxyInfo(std::unique_ptr<const ProxyInfo> info) {
  extras().proxy = std::move(info);
}
const ProxyInfo* SocketImpl::proxyInfo() const noexcept {
  return extras_ ? extras_->proxy.get() : nullptr;
}

Connector* SocketImpl::connector() const noexcept {
  return extras_ ? extras_->connector.get() : nullptr;
}
SocketImpl::Securing* SocketImpl::securing() const noexcept {
  return extras_ ? extras_->securing.get() : nullptr;
}
SocketImpl::Lingering* SocketImpl::lingering() const noexcept {
  return extras_ ? extras_->linger.get() : nullptr;
}
asio::steady_timer* SocketImpl::idleTimer() const noexcept {
  return extras_ ? extras_->idleTimer.get() : nullptr;
}
std::shared_ptr<const TlsContext> SocketImpl::tlsContext() const noexcept {
  if (extras_ && extras_->tlsContext) return extras_->tlsContext;
  return accepted_ ? accepted_->tls : nullptr;
}

const ConnectionOptions& SocketImpl::settings() const noexcept {
  static const ConnectionOptions kDefaults;
  if (accepted_) return *accepted_->options;
  return extras_ && extras_->options ? *extras_->options : kDefaults;
}

// ---------------------------------------------------------------------------------------------
// Birth

namespace {
// SocketOptions::localAddress/localPort as what to bind; nothing when neither is set.
std::optional<LocalEnd> localEnd(const SocketOptions& options) {
  if (options.localAddress.empty() && options.localPort == 0) return std::nullopt;
  LocalEnd local{std::nullopt, options.localPort};
  if (!options.localAddress.empty()) local.address = addressLiteral(options.localAddress);
  return local;
}
}  // namespace

std::shared_ptr<SocketImpl> SocketImpl::connect(LoopCore& loop, std::string_view host,
                                                std::uint16_t port, const SocketOptions& options,
                                                std::shared_ptr<const TlsContext> tls) {
  auto local = localEnd(options);  // throws before anything is made
  auto s =
      std::make_shared<SocketImpl>(Private{}, loop, options.binaryType, ReadyState::Connecting);
  s->host_ = std::make_unique<std::string>(host);
  s->port_ = port;
  if (tls) s->extras().tlsContext = std::move(tls);
  if (options.useSecureTransport) s->extras().securing = std::make_unique<Securing>(loop.io(), 0);
  if (options.connection != ConnectionOptions{}) {  // the defaults cost no allocation
    s->extras().options = std::make_shared<const ConnectionOptions>(options.connection);
  }
  auto& connector = s->extras().connector;
  connector = std::make_unique<Connector>(*s, options.policy, std::move(local));
  connector->start(options.connectTimeout);
  s->self_ = s;  // last: a throw above must not leave a socket keeping itself alive
  return s;
}

void SocketImpl::connected(asio::ip::tcp::socket socket, const asio::ip::address& peer) {
  extras_->connector.reset();
  trimExtras();
  std::error_code ec;
  const int fd = socket.release(ec);  // from Asio's reactor into the loop's ReadinessSet
  if (ec) {
    fail(classifyError(ec));
    return;
  }
  if (ec = registerDescriptor(fd); ec) {
    ::close(fd);
    fail(classifyError(ec));
    return;
  }
  peer_ = peer;
  beginOpen();
  becomeOpen();
}

std::shared_ptr<SocketImpl> SocketImpl::adopt(LoopCore& loop, int fd,
                                              const asio::ip::tcp::endpoint& peer,
                                              std::shared_ptr<const AcceptedSettings> settings) {
  const bool secure = settings->secure;
  auto s = std::make_shared<SocketImpl>(Private{}, loop, settings->binaryType,
                                        secure ? ReadyState::Connecting : ReadyState::Open);
  if (s->registerDescriptor(fd)) {
    ::close(fd);
    s->state_ = ReadyState::Closed;
    return nullptr;
  }
  s->accepted_ = std::move(settings);
  s->peer_ = peer.address();
  s->port_ = peer.port();
  s->self_ = s;
  s->beginOpen();
  if (secure) {
    s->extras().securing = std::make_unique<Securing>(loop.io(), 0);
    asio::post(loop.io(), [s] { s->startHandshake(); });
  } else {
    s->handedOut_ = true;  // by the `connect` that follows this call
    s->scheduleRead();     // after that `connect`
  }
  return s;
}

// What every socket does once its connection is up, connected or accepted.
void SocketImpl::beginOpen() {
  applyConnectionOptions(fd_, settings());
  if (settings().idleTimeout.count() > 0) {
    startIdleTimer(settings().idleTimeout);  // makes the Extras that noteActivity() stamps
    noteActivity();
  }
}

// useSecureTransport: "open" comes when the handshake is done (handshakeDone()).
void SocketImpl::becomeOpen() {
  if (securing()) {
    startHandshake();
    return;
  }
  state_ = ReadyState::Open;
  if (!accepted_) emit(SocketEventType::Open);
  // Data that arrived with the handshake raised no edge we will see; a listener that resumed
  // inside `open` has already armed a read.
  if (!read_.armed && state_ == ReadyState::Open) readReady();
}

// ---------------------------------------------------------------------------------------------
// Readiness: one wait per direction, whichever part is blocked on it. A TLS transport may need
// to write before it can read on, or the other way round, so each direction wakes both sides.

std::error_code SocketImpl::registerDescriptor(int fd) {
  if (std::error_code ec = loop()->readiness().add(fd, *this, ready_.token)) return ec;
  fd_ = fd;
  return {};
}

void SocketImpl::setWaiters(ReadWaiter reader, bool writer) {
  const bool was = ready_.reader != ReadWaiter::None || ready_.writer;
  const bool now = reader != ReadWaiter::None || writer;
  ready_.reader = reader;
  ready_.writer = writer;
  if (was == now) return;
  if (LoopCore* core = loop()) {
    if (now) {
      core->readiness().waiterAdded();
    } else {
      core->readiness().waiterRemoved();
    }
  }
}

void SocketImpl::descriptorReady(bool readable, bool writable, bool hangup) noexcept {
  if (hangup) ready_.hangup = true;
  try {
    auto self = shared_from_this();  // a part may close and drop the last reference
    if (writable) {
      if (ready_.writer) {
        setWaiters(ready_.reader, false);
        write_.armed = false;
        onWritable();
      }
    }
    if (readable && fd_ >= 0) {
      const ReadWaiter waiter = ready_.reader;
      setWaiters(ReadWaiter::None, ready_.writer);
      if (waiter == ReadWaiter::Reader) {
        read_.armed = false;
        onReadable();
      } else if (waiter == ReadWaiter::Linger) {
        lingerRead();
      }
    }
  } catch (...) {
    reportCurrentException();
  }
}

void SocketImpl::waitReadable() {
  if (read_.armed) return;
  read_.armed = true;
  setWaiters(ReadWaiter::Reader, ready_.writer);
}

void SocketImpl::waitWritable() {
  write_.armed = true;
  setWaiters(ready_.reader, true);
}

void SocketImpl::cancelWaits() noexcept {
  const bool reader = ready_.reader == ReadWaiter::Reader;
  const bool writer = ready_.writer;
  if (reader || writer || ready_.reader != ReadWaiter::None) {
    ready_.reader = ReadWaiter::None;
    ready_.writer = false;
    if (LoopCore* core = loop()) core->readiness().waiterRemoved();
  }
  try {
    if (reader) {
      asio::post(loop()->io(), [self = shared_from_this()] { self->read_.armed = false; });
    }
    if (writer) {
      asio::post(loop()->io(), [self = shared_from_this()] {
        self->write_.armed = false;
        // closeImmediately() cancelled us: the close it started continues here.
        if (self->state_ == ReadyState::Closing) self->scheduleFlushCheck();
      });
    }
  } catch (...) {  // out of memory: no later call to wait for
    if (reader) read_.armed = false;
    if (writer) write_.armed = false;
  }
}

void SocketImpl::onReadable() {
  if (const Securing* s = securing(); s && s->handshaking) {
    continueHandshake();
    return;
  }
  if (write_.blockedOnRead) {
    write_.blockedOnRead = false;
    if (!write_.armed) writeReady();
  }
  readReady();
}

void SocketImpl::onWritable() {
  if (const Securing* s = securing(); s && s->handshaking) {
    continueHandshake();
    return;
  }
  if (read_.blockedOnWrite) {
    read_.blockedOnWrite = false;
    scheduleRead();
  }
  writeReady();
}

// ---------------------------------------------------------------------------------------------
// Events and release

void SocketImpl::emit(SocketEventType type, EventData data, ErrorInfo info) {
  TCPSocket target = Access::handle(shared_from_this());
  const TCPSocketEvent event{type, target, data, info.name, info.message, info.cause};
  auto report = [this] { reportCurrentException(); };
  // Held by a local copy: a shared listener may close the socket, which releases them.
  if (const auto accepted = accepted_; accepted && accepted->handlers && handedOut_) {
    const SocketEventHandler* handler = accepted->handlers->forType(type);
    if (handler != nullptr && *handler) {
      try {
        (*handler)(event);
      } catch (...) {
        reportCurrentException();
      }
    }
  }
  listeners_.dispatch(static_cast<int>(type), event, report);
}

// After `close` nothing can fire again: tell the server (limits, draining), drop the listeners
// (they often capture this socket's own handle, which would otherwise keep it alive forever) and
// the self-reference.
void SocketImpl::release() {
  if (accepted_) {
    if (auto owner = accepted_->owner.lock()) owner->connectionEnded(*this);
  }
  accepted_.reset();  // and with it the server's shared listeners
  listeners_.clear();
  self_.reset();
}

// The loop is going away: a connection still open is cut, so it is reset, never given a FIN that
// would tell its peer it had everything; so is one still lingering with bytes the peer has not
// taken (the kernel would keep them as an orphan).
void SocketImpl::abandon() noexcept {
  detach();
  if (fd_ >= 0) {
    if (state_ != ReadyState::Closed || unsentBytes(fd_) > 0) resetOnClose(fd_);
    ::close(fd_);  // the ReadinessSet goes with the loop: no slot to give back
    fd_ = -1;
  }
  state_ = ReadyState::Closed;
  write_.queue.clear();
  extras_.reset();
  listeners_.clear();
  auto last = std::move(self_);  // may destroy *this: nothing after this line
}

}  // namespace tcpsocket::detail
