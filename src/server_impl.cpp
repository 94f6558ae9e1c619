#include "server_impl.hpp"

#include <unistd.h>

#include <algorithm>
#include <asio/post.hpp>
#include <cerrno>
#include <new>
#include <string>

#include "access.hpp"
#include "address.hpp"
#include "error_table.hpp"
#include "socket_impl.hpp"
#include "tcp_tuning.hpp"
#include "tcpsocket/errors.hpp"
#include "tcpsocket/tcp_server_socket.hpp"
#include "tcpsocket/tcp_socket.hpp"
#include "tls_context.hpp"

namespace tcpsocket::detail {

ServerImpl::ServerImpl(Private, LoopCore& loop, const ServerSocketOptions& options)
    : LoopMember(loop),
      acceptor_(loop),
      maxConnections_(options.maxConnections),
      maxPerAddress_(options.maxConnectionsPerAddress),
      proxyMode_(options.proxyProtocol.mode),
      proxyDeadline_(options.tls.handshakeTimeout) {
  const auto& trusted = options.proxyProtocol.trustedSources;
  if (trusted.empty()) {
    proxyTrusted_ = {AddressBlock("127.0.0.0/8"), AddressBlock("::1")};
  } else {
    for (const auto& block : trusted) proxyTrusted_.emplace_back(block);
  }
}

ServerImpl::~ServerImpl() = default;

void ServerImpl::checkThread() const {
  if (LoopCore* core = loop()) core->checkThread();
}

int ServerImpl::nativeHandle() noexcept { return acceptor_.nativeHandle(); }

std::shared_ptr<ServerImpl> ServerImpl::listen(LoopCore& loop, std::uint16_t port,
                                               const ServerSocketOptions& options,
                                               std::uint16_t backlog) {
  const auto address = addressLiteral(options.localAddress);
  return start(loop, options, [&](Acceptor& acceptor) {
    acceptor.listen(asio::ip::tcp::endpoint(address, port), options.reusePort, options.ipv6Only,
                    backlog);
  });
}

std::shared_ptr<ServerImpl> ServerImpl::adopt(LoopCore& loop, int fd,
                                              const ServerSocketOptions& options) {
  return start(loop, options, [fd](Acceptor& acceptor) { acceptor.adopt(fd); });
}

std::shared_ptr<ServerImpl> ServerImpl::start(LoopCore& loop, const ServerSocketOptions& options,
                                              const std::function<void(Acceptor&)>& bind) {
  auto s = std::make_shared<ServerImpl>(Private{}, loop, options);
  auto accepted = std::make_shared<AcceptedSettings>();
  if (options.useSecureTransport || !options.tls.certificateChain.empty()) {
    accepted->tls = std::make_shared<const TlsContext>(TlsRole::Server, options.tls);
  }
  bind(s->acceptor_);
  accepted->binaryType = options.binaryType;
  accepted->options = std::make_shared<const ConnectionOptions>(options.connection);
  accepted->owner = s;
  accepted->secure = options.useSecureTransport;
  accepted->handlers = options.handlers;
  s->accepted_ = std::move(accepted);
  s->listening_ = true;
  s->self_ = s;
  s->acceptor_.start(s);
  return s;
}

// Checked before each accept: at the limit, new clients wait in the kernel's backlog, and
// connectionEnded() resumes accepting.
bool ServerImpl::mayAccept() noexcept {
  if (!listening_) return false;
  // Lingering descriptors count: they hold descriptors and kernel buffers as open ones do.
  if (maxConnections_ > 0 && heldConnections() >= maxConnections_) {
    pausedAtLimit_ = true;
    ++stats_.pausesAtLimit;
    return false;
  }
  return true;
}

void ServerImpl::connectionAccepted(int fd, const asio::ip::tcp::endpoint& peer) {
  if (proxyMode_ == ProxyProtocolOptions::Mode::Off) {
    admit(fd, peer, nullptr);
    return;
  }
  const asio::ip::address source = unmapped(peer.address());
  const bool trusted = std::any_of(proxyTrusted_.begin(), proxyTrusted_.end(),
                                   [&](const AddressBlock& b) { return b.contains(source); });
  if (!trusted && proxyMode_ == ProxyProtocolOptions::Mode::Required) {
    resetOnClose(fd);  // no header it could send would be believed
    ::close(fd);
    ++stats_.proxyHeadersRefused;
    return;
  }
  auto intake =
      std::make_unique<ProxyIntake>(*loop(), *this, fd, peer, proxyMode_, trusted, proxyDeadline_);
  ProxyIntake& started = *intake;
  intakes_.emplace(&started, std::move(intake));
  started.start();  // may end (and destroy) it at once
}

void ServerImpl::proxyReceived(ProxyIntake& intake, int fd, asio::ip::tcp::endpoint peer,
                               std::unique_ptr<ProxyInfo> info) {
  if (info) ++stats_.proxyHeadersAccepted;
  intakes_.erase(&intake);
  admit(fd, peer, std::move(info));
  drainedIfEmpty();  // admit() may have refused it
}

void ServerImpl::proxyRefused(ProxyIntake& intake, const char* why) {
  if (why != nullptr) ++stats_.proxyHeadersRefused;
  intakes_.erase(&intake);
  resumeBelowTheLimit();
  drainedIfEmpty();
}

void ServerImpl::admit(int fd, const asio::ip::tcp::endpoint& peer,
                       std::unique_ptr<ProxyInfo> proxy) {
  const asio::ip::address address = unmapped(peer.address());  // cheap: no text is made
  if (maxPerAddress_ > 0 && refusedByAddressLimit(fd, address)) return;
  auto impl = SocketImpl::adopt(*loop(), fd, peer, accepted_);
  if (!impl) return;
  if (proxy) impl->setProxyInfo(std::move(proxy));
  if (draining_) impl->watchQuiet();  // its PROXY header ended during a drain
  connections_.insert(*impl);
  if (maxPerAddress_ > 0) ++perAddress_[address];
  if (accepted_->secure) {
    handshaking_.insert(impl.get());  // handed out by connectionSecured()
  } else {
    handOut(std::move(impl));
  }
}

void ServerImpl::acceptFailed(int err) {
  listening_ = false;
  TCPSocket none;
  emit(ServerEventType::Error, none, classifyErrno(err));
  release();
}

void ServerImpl::close() {
  checkThread();
  if (!listening_) return;
  stopListening();
  abortHandshakes();
  if (!draining_) release();
}

// Sockets still in their TLS handshake were never handed out: nobody else could close them, and
// they have nothing to lose.
void ServerImpl::abortHandshakes() {
  intakes_.clear();  // each resets its connection
  for (SocketImpl* s : std::vector<SocketImpl*>(handshaking_.begin(), handshaking_.end())) {
    s->abort();
  }
}

void ServerImpl::stopListening() noexcept {
  listening_ = false;
  acceptor_.close();
}

void ServerImpl::release() {
  listeners_.clear();
  accepted_.reset();  // accepted sockets keep their own reference
  self_.reset();
}

// ---------------------------------------------------------------------------------------------
// Accepted connections: limits, draining, abort

bool ServerImpl::refusedByAddressLimit(int fd, const asio::ip::address& address) {
  const auto it = perAddress_.find(address);
  if (it == perAddress_.end() || it->second < maxPerAddress_) return false;
  resetOnClose(fd);
  ::close(fd);
  ++stats_.refusedPerAddress;
  return true;
}

void ServerImpl::handOut(std::shared_ptr<SocketImpl> impl) {
  ++stats_.accepted;
  TCPSocket socket = Access::handle(std::move(impl));
  emit(ServerEventType::Connect, socket);
}

bool ServerImpl::connectionSecured(SocketImpl& socket) {
  if (handshaking_.erase(&socket) == 0) return false;
  handOut(socket.shared_from_this());
  return true;
}

void ServerImpl::connectionEnded(SocketImpl& socket) noexcept {
  if (handshaking_.erase(&socket) > 0) ++stats_.handshakeFailures;
  if (!connections_.erase(socket)) return;
  if (maxPerAddress_ > 0) {
    const auto it = perAddress_.find(unmapped(socket.peerAddress()));
    if (it != perAddress_.end() && --it->second == 0) perAddress_.erase(it);
  }
  resumeBelowTheLimit();
  drainedIfEmpty();
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
  if (pausedAtLimit_ && heldConnections() <= maxConnections_ - (maxConnections_ + 9) / 10) {
    pausedAtLimit_ = false;
    try {
      if (listening_) acceptor_.start(shared_from_this());
    } catch (const std::bad_alloc&) {  // out of memory: the next connection to end retries
      pausedAtLimit_ = true;
    }
  }
}

void ServerImpl::drain(std::chrono::milliseconds deadline, std::function<void()> done,
                       std::chrono::milliseconds quietPeriod) {
  checkThread();
  // Its loop is gone, and with it every connection: nothing is left to drain or to call back on.
  if (loop() == nullptr) throw InvalidStateError("drain() on a server whose EventLoop is gone");
  if (done) drainDone_.push_back(std::move(done));
  if (draining_) return;  // the drain under way calls this `done` too
  draining_ = true;
  if (!self_) self_ = shared_from_this();  // alive until the drain is over, even if closed
  stopListening();
  if (connections_.empty() && intakes_.empty()) {
    drainedIfEmpty();
    return;
  }
  for (SocketImpl* s : connections_) s->watchQuiet();
  quietPeriod_ = std::max(quietPeriod, std::chrono::milliseconds(1));
  closeQuietConnections();
  // What has not ended by then is reset: connections, handshakes and PROXY headers alike.
  drainTimer_ = std::make_unique<asio::steady_timer>(loop()->io(), deadline);
  drainTimer_->async_wait([self = shared_from_this()](const std::error_code& ec) {
    if (ec) return;
    self->abortConnections();
    self->intakes_.clear();
    self->drainedIfEmpty();
  });
}

void ServerImpl::drainedIfEmpty() {
  if (draining_ && connections_.empty() && intakes_.empty()) {
    asio::post(loop()->io(), [self = shared_from_this()] { self->finishDrain(); });
  }
}

// Polled a few times per quiet period: one timer for the server, nothing per read or write. A
// client still in its TLS handshake is not quiet but starting: it is left to finish (a restart
// by handover must fail nobody) and is drained once handed out, or reset at the deadline.
void ServerImpl::closeQuietConnections() {
  for (SocketImpl* s : connections_.snapshot()) {
    if (!handshaking_.contains(s) && s->quietFor(quietPeriod_)) s->close();
  }
  if ((connections_.empty() && intakes_.empty()) || !draining_) return;
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
      reportCurrentException();
    }
  }
  release();
}

void ServerImpl::abortConnections() {
  checkThread();
  for (SocketImpl* s : connections_.snapshot()) {
    s->abort();
  }
}

ServerStats ServerImpl::stats() const noexcept {
  ServerStats s = stats_;
  s.open = static_cast<std::uint32_t>(connections_.size());
  s.lingering = lingering_;
  s.paused = pausedAtLimit_ || (listening_ && acceptor_.backingOff());
  s.descriptorBackoffs = acceptor_.backoffs();
  return s;
}

std::vector<std::shared_ptr<SocketImpl>> ServerImpl::connections() const {
  std::vector<std::shared_ptr<SocketImpl>> handedOut;
  handedOut.reserve(connections_.size());
  for (SocketImpl* s : connections_) {
    if (!handshaking_.contains(s)) handedOut.push_back(s->shared_from_this());
  }
  return handedOut;
}

void ServerImpl::abandon() noexcept {
  detach();
  connections_.clear();  // abandoned with the loop too; never dereferenced again
  handshaking_.clear();
  intakes_.clear();
  drainTimer_.reset();
  quietTimer_.reset();
  drainDone_.clear();
  listening_ = false;
  acceptor_.abandon();
  accepted_.reset();
  listeners_.clear();
  auto last = std::move(self_);  // may destroy *this: nothing after this line
}

void ServerImpl::emit(ServerEventType type, TCPSocket& socket, const ErrorInfo& error) {
  TCPServerSocket target = Access::handle(shared_from_this());
  const TCPServerSocketEvent event{type, target, socket, error.name, error.message, error.cause};
  listeners_.dispatch(static_cast<int>(type), event, [this] { reportCurrentException(); });
}

}  // namespace tcpsocket::detail
