#include "server_impl.hpp"

#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <new>
#include <string>

#include "error_names.hpp"
#include "socket_impl.hpp"
#include "sys_ops.hpp"
#include "tcp_tuning.hpp"
#include "tcpsocket/errors.hpp"
#include "tcpsocket/tcp_server_socket.hpp"
#include "tcpsocket/tcp_socket.hpp"
#include "tls_context.hpp"

namespace tcpsocket::detail {
namespace {

constexpr int kMaxAcceptsPerWakeup = 64;
constexpr std::chrono::milliseconds kMinBackoff{10};
constexpr std::chrono::milliseconds kMaxBackoff{1000};

std::string describe(const asio::ip::tcp::endpoint& ep) {
  const std::string host = ep.address().to_string();
  const std::string port = std::to_string(ep.port());
  return ep.address().is_v6() ? "[" + host + "]:" + port : host + ":" + port;
}

[[noreturn]] void throwListenError(const std::error_code& ec, const asio::ip::tcp::endpoint& ep) {
  const std::string where = describe(ep);
  switch (ec.value()) {
    case EADDRINUSE:
      throw AddressInUseError(where + " is already in use");
    case EADDRNOTAVAIL:
      throw AddressNotAvailableError(where + " is not an address of this host");
    case EACCES:
    case EPERM:
      throw PermissionDeniedError("the system refused to bind " + where +
                                  " (ports below 1024 need CAP_NET_BIND_SERVICE)");
    default:
      throw NetworkError("cannot listen on " + where + ": " + ec.message());
  }
}

// Errors of accept() that concern one pending connection, not the listener (see accept(2)).
bool skippable(int err) noexcept {
  switch (err) {
    case EINTR:
    case ECONNABORTED:
    case EPERM:
    case EPROTO:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
    case ETIMEDOUT:
      return true;
    default:
      return false;
  }
}

bool outOfResources(int err) noexcept {
  return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

}  // namespace

ServerImpl::ServerImpl(Private, LoopCore& loop, const ServerSocketOptions& options)
    : LoopMember(loop),
      binaryType_(options.binaryType),
      connectionOptions_(std::make_shared<const ConnectionOptions>(options.connection)),
      maxConnections_(options.maxConnections),
      maxPerAddress_(options.maxConnectionsPerAddress),
      handlers_(options.handlers),
      secure_(options.useSecureTransport) {
  if (options.useSecureTransport || !options.tls.certificateChain.empty()) {
    tls_ = std::make_shared<const TlsContext>(TlsRole::Server, options.tls);
  }
}

ServerImpl::~ServerImpl() = default;

void ServerImpl::checkThread() const {
  if (LoopCore* core = loop()) core->checkThread();
}

int ServerImpl::nativeHandle() noexcept {
  return acceptor_ && acceptor_->is_open() ? acceptor_->native_handle() : -1;
}

std::shared_ptr<ServerImpl> ServerImpl::listen(LoopCore& loop, std::uint16_t port,
                                               const ServerSocketOptions& options,
                                               std::uint16_t backlog) {
  std::error_code ec;
  // make_address reads the string only up to a NUL; "127.0.0.1\0junk" is not an address.
  const auto address = asio::ip::make_address(options.localAddress, ec);
  if (ec || options.localAddress.find('\0') != std::string::npos) {
    throw InvalidAddressError("\"" + options.localAddress + "\" is not an IPv4 or IPv6 address");
  }
  const asio::ip::tcp::endpoint endpoint(address, port);
  auto s = std::make_shared<ServerImpl>(Private{}, loop, options);
  auto& acceptor = s->acceptor_.emplace(loop.io());
  acceptor.open(endpoint.protocol(), ec);
  if (ec) throwListenError(ec, endpoint);
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (options.reusePort) {
    const int one = 1;
    if (sys::ops().setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one,
                              sizeof one) != 0) {
      throwListenError(std::error_code(errno, std::system_category()), endpoint);
    }
  }
  if (address.is_v6() && address.is_unspecified()) {
    acceptor.set_option(asio::ip::v6_only(false), ec);  // "::" is dual-stack whatever the sysctl
  }
  acceptor.bind(endpoint, ec);
  if (ec) throwListenError(ec, endpoint);
  const int depth = backlog == 0 ? asio::socket_base::max_listen_connections : backlog;
  acceptor.listen(depth, ec);
  if (ec) throwListenError(ec, endpoint);
  acceptor.non_blocking(true, ec);  // accept4 in a loop until EAGAIN: must never block
  if (ec) throwListenError(ec, endpoint);
  s->localPort_ = acceptor.local_endpoint(ec).port();
  s->listening_ = true;
  s->self_ = s;
  s->scheduleAccept();
  return s;
}

void ServerImpl::scheduleAccept() {
  asio::post(loop()->io(), [self = shared_from_this()] { self->acceptReady(); });
}

void ServerImpl::waitAcceptable() {
  backoff_ = std::chrono::milliseconds(0);  // the queue is empty: whatever exhausted us is over
  acceptor_->async_wait(asio::socket_base::wait_read,
                        [self = shared_from_this()](const std::error_code& ec) {
                          if (ec != asio::error::operation_aborted) self->acceptReady();
                        });
}

void ServerImpl::acceptReady() {
  for (int i = 0; i < kMaxAcceptsPerWakeup; ++i) {
    if (!listening_) return;  // a connect listener may have closed the server
    if (atLimit()) {
      // Stop polling: new clients wait in the kernel's backlog. connectionEnded() resumes.
      pausedAtLimit_ = true;
      ++stats_.pausesAtLimit;
      return;
    }
    sockaddr_storage peer{};
    socklen_t peerLength = sizeof peer;
    const int fd =
        sys::ops().accept4(acceptor_->native_handle(), reinterpret_cast<sockaddr*>(&peer),
                           &peerLength, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      backoff_ = std::chrono::milliseconds(0);
      asio::ip::tcp::endpoint endpoint;
      std::memcpy(endpoint.data(), &peer, std::min<std::size_t>(peerLength, endpoint.capacity()));
      endpoint.resize(peerLength);
      const std::string address = addressString(endpoint.address());
      if (refusedByAddressLimit(fd, address)) continue;
      if (auto impl = SocketImpl::adopt(*loop(), fd, endpoint, binaryType_, connectionOptions_,
                                        weak_from_this(), tls_, secure_, handlers_)) {
        track(*impl);
        if (secure_) {
          handshaking_.insert(impl.get());  // handed out by connectionSecured()
        } else {
          handOut(std::move(impl));
        }
      }
      continue;
    }
    const int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) {
      waitAcceptable();
      return;
    }
    if (skippable(err)) continue;
    if (outOfResources(err)) {
      backOff();
      return;
    }
    died(err);
    return;
  }
  scheduleAccept();
}

// Out of descriptors or memory: retrying at once would spin (the pending connection stays
// pending), giving up would stop the server for good. Pause, doubling the pause up to 1 s.
void ServerImpl::backOff() {
  ++stats_.descriptorBackoffs;
  backoff_ = std::clamp(backoff_ * 2, kMinBackoff, kMaxBackoff);
  if (!backoffTimer_) backoffTimer_ = std::make_unique<asio::steady_timer>(loop()->io());
  backoffTimer_->expires_after(backoff_);
  backoffTimer_->async_wait([self = shared_from_this()](const std::error_code& ec) {
    if (!ec) self->acceptReady();
  });
}

void ServerImpl::died(int err) {
  listening_ = false;
  std::error_code ignored;
  acceptor_->close(ignored);
  const ErrorInfo info = classifyErrno(err);
  TCPSocket none;
  emit(ServerEventType::Error, none, info.name, info.message);
  release();
}

void ServerImpl::close() {
  checkThread();
  if (!listening_) return;
  stopListening();
  // Sockets still in their TLS handshake were never handed out: nobody else could close them.
  for (SocketImpl* s : std::vector<SocketImpl*>(handshaking_.begin(), handshaking_.end())) {
    s->abort();
  }
  if (!draining_) release();
}

void ServerImpl::stopListening() noexcept {
  listening_ = false;
  std::error_code ignored;
  if (acceptor_) acceptor_->close(ignored);
  if (backoffTimer_) backoffTimer_->cancel();
}

void ServerImpl::release() {
  listeners_.clear();
  handlers_.reset();  // accepted sockets keep their own reference
  self_.reset();
}

// ---------------------------------------------------------------------------------------------
// Accepted connections: limits, draining, abort

bool ServerImpl::atLimit() const noexcept {
  // Lingering descriptors count: they hold descriptors and kernel buffers as open ones do.
  return maxConnections_ > 0 && connections_.size() + lingering_ >= maxConnections_;
}

bool ServerImpl::refusedByAddressLimit(int fd, const std::string& address) {
  if (maxPerAddress_ == 0) return false;
  const auto it = perAddress_.find(address);
  if (it == perAddress_.end() || it->second < maxPerAddress_) return false;
  resetOnClose(fd);
  ::close(fd);
  ++stats_.refusedPerAddress;
  return true;
}

void ServerImpl::track(SocketImpl& socket) {
  connections_.insert(&socket);
  if (maxPerAddress_ > 0) ++perAddress_[socket.host()];
}

void ServerImpl::handOut(std::shared_ptr<SocketImpl> impl) {
  ++stats_.accepted;
  TCPSocket socket(std::move(impl));
  emit(ServerEventType::Connect, socket);
}

bool ServerImpl::connectionSecured(SocketImpl& socket) {
  if (handshaking_.erase(&socket) == 0) return false;
  handOut(socket.shared_from_this());
  return true;
}

void ServerImpl::connectionEnded(SocketImpl& socket) noexcept {
  if (handshaking_.erase(&socket) > 0) ++stats_.handshakeFailures;
  if (connections_.erase(&socket) == 0) return;
  if (maxPerAddress_ > 0) {
    const auto it = perAddress_.find(socket.host());
    if (it != perAddress_.end() && --it->second == 0) perAddress_.erase(it);
  }
  resumeBelowTheLimit();
  if (draining_ && connections_.empty()) {
    asio::post(loop()->io(), [self = shared_from_this()] { self->finishDrain(); });
  }
}

// A connection is closed only once it has gone quiet: closing at once would throw away what its
// peer has sent and the kernel has already acknowledged, and then end with a clean FIN, so the
// peer could not tell that it lost data. What is still busy at the deadline is reset instead.
void ServerImpl::lingerEnded() noexcept {
  --lingering_;
  resumeBelowTheLimit();
}

// Below a low-water mark (90%), not at the first free slot: no thrashing at the limit.
void ServerImpl::resumeBelowTheLimit() noexcept {
  if (pausedAtLimit_ &&
      connections_.size() + lingering_ <= maxConnections_ - (maxConnections_ + 9) / 10) {
    pausedAtLimit_ = false;
    try {
      if (listening_) scheduleAccept();
    } catch (const std::bad_alloc&) {  // out of memory: the next connection to end retries
      pausedAtLimit_ = true;
    }
  }
}

void ServerImpl::drain(std::chrono::milliseconds deadline, std::function<void()> done,
                       std::chrono::milliseconds quietPeriod) {
  checkThread();
  if (done) drainDone_.push_back(std::move(done));
  if (draining_) return;  // the drain under way calls this `done` too
  draining_ = true;
  if (!self_) self_ = shared_from_this();  // alive until the drain is over, even if closed
  stopListening();
  // Sockets still in their TLS handshake were never handed out and have nothing to lose.
  for (SocketImpl* s : std::vector<SocketImpl*>(handshaking_.begin(), handshaking_.end())) {
    s->abort();
  }
  if (connections_.empty()) {
    asio::post(loop()->io(), [self = shared_from_this()] { self->finishDrain(); });
    return;
  }
  for (SocketImpl* s : connections_) s->watchQuiet();
  quietPeriod_ = std::max(quietPeriod, std::chrono::milliseconds(1));
  closeQuietConnections();
  drainTimer_ = std::make_unique<asio::steady_timer>(loop()->io(), deadline);
  drainTimer_->async_wait([self = shared_from_this()](const std::error_code& ec) {
    if (!ec) self->abortConnections();
  });
}

// Polled a few times per quiet period: one timer for the server, nothing per read or write.
void ServerImpl::closeQuietConnections() {
  for (SocketImpl* s : std::vector<SocketImpl*>(connections_.begin(), connections_.end())) {
    if (s->quietFor(quietPeriod_)) s->close();
  }
  if (connections_.empty() || !draining_) return;
  if (!quietTimer_) quietTimer_ = std::make_unique<asio::steady_timer>(loop()->io());
  quietTimer_->expires_after(
      std::clamp(quietPeriod_ / 4, std::chrono::milliseconds(1), std::chrono::milliseconds(50)));
  quietTimer_->async_wait([self = shared_from_this()](const std::error_code& ec) {
    if (!ec && self->draining_) self->closeQuietConnections();
  });
}

void ServerImpl::finishDrain() {
  if (!draining_) return;
  draining_ = false;
  if (drainTimer_) drainTimer_->cancel();
  if (quietTimer_) quietTimer_->cancel();
  auto callbacks = std::move(drainDone_);
  drainDone_.clear();
  for (auto& done : callbacks) {
    try {
      done();
    } catch (...) {
      if (LoopCore* core = loop()) core->reportException(std::current_exception());
    }
  }
  release();
}

void ServerImpl::abortConnections() {
  checkThread();
  for (SocketImpl* s : std::vector<SocketImpl*>(connections_.begin(), connections_.end())) {
    s->abort();
  }
}

ServerStats ServerImpl::stats() const noexcept {
  ServerStats s = stats_;
  s.open = static_cast<std::uint32_t>(connections_.size());
  s.paused = pausedAtLimit_ || (listening_ && backoff_.count() > 0);
  return s;
}

void ServerImpl::abandon() noexcept {
  detach();
  connections_.clear();  // abandoned with the loop too; never dereferenced again
  handshaking_.clear();
  drainTimer_.reset();
  quietTimer_.reset();
  drainDone_.clear();
  listening_ = false;
  backoffTimer_.reset();
  acceptor_.reset();
  listeners_.clear();
  auto last = std::move(self_);  // may destroy *this: nothing after this line
}

void ServerImpl::emit(ServerEventType type, TCPSocket& socket, std::string_view name,
                      std::string_view message) {
  TCPServerSocket target(shared_from_this());
  const TCPServerSocketEvent event{type, target, socket, name, message};
  LoopCore* core = loop();
  listeners_.dispatch(static_cast<int>(type), event, [core] {
    if (core != nullptr) core->reportException(std::current_exception());
  });
}

}  // namespace tcpsocket::detail
