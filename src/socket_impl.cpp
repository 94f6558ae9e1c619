#include "socket_impl.hpp"

#include <unistd.h>

#include <algorithm>
#include <asio/post.hpp>
#include <cerrno>
#include <cstdint>
#include <string>

#include "sys_ops.hpp"
#include "tcp_tuning.hpp"
#include "tcpsocket/app_policy.hpp"
#include "tcpsocket/errors.hpp"
#include "tcpsocket/tcp_socket.hpp"

namespace tcpsocket::detail {
namespace {

constexpr int kMaxReadsPerWakeup = 16;  // then yield to other sockets (fairness)
constexpr int kMaxWritesPerWakeup = 16;
constexpr int kSendFlags = MSG_NOSIGNAL | MSG_DONTWAIT;  // never SIGPIPE, never block
constexpr int kRecvFlags = MSG_DONTWAIT;  // whatever the descriptor's own O_NONBLOCK says

bool wouldBlock(int err) noexcept { return err == EAGAIN || err == EWOULDBLOCK; }

}  // namespace

std::string addressString(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string();
  }
  return address.to_string();
}

SocketImpl::SocketImpl(Private, LoopCore& loop, BinaryType binaryType, ReadyState state)
    : LoopMember(loop), state_(state), binaryType_(binaryType) {}

SocketImpl::~SocketImpl() = default;

void SocketImpl::checkThread() const {
  if (LoopCore* core = loop()) core->checkThread();
}

int SocketImpl::nativeHandle() noexcept {
  return socket_ && socket_->is_open() ? socket_->native_handle() : -1;
}

// ---------------------------------------------------------------------------------------------
// Connecting

std::shared_ptr<SocketImpl> SocketImpl::connect(LoopCore& loop, std::string_view host,
                                                std::uint16_t port, const SocketOptions& options,
                                                std::shared_ptr<const TlsContext> tls) {
  auto s =
      std::make_shared<SocketImpl>(Private{}, loop, options.binaryType, ReadyState::Connecting);
  s->host_ = host;
  s->port_ = port;
  s->self_ = s;
  s->policy_ = options.policy;
  s->tlsContext_ = std::move(tls);
  if (options.useSecureTransport) s->tls_ = std::make_unique<TlsState>(loop.io());
  if (options.connection != ConnectionOptions{}) {  // the defaults cost no allocation
    s->options_ = std::make_shared<const ConnectionOptions>(options.connection);
  }
  if (options.connectTimeout.count() > 0) s->startConnectDeadline(options.connectTimeout);
  // Started from the loop so that even an immediate failure is reported after open() returns.
  asio::post(loop.io(), [s] {
    std::error_code ec;
    const auto address = asio::ip::make_address(s->host_, ec);
    if (ec) {
      s->startResolve(s->host_);
    } else {
      s->connectTo(std::make_shared<Endpoints>(1, asio::ip::tcp::endpoint(address, s->port_)), 0,
                   {});
    }
  });
  return s;
}

void SocketImpl::startResolve(std::string host) {
  if (state_ != ReadyState::Connecting) return;
  loop()->resolve(host, port_, [self = shared_from_this()](std::error_code ec, Endpoints found) {
    if (self->state_ != ReadyState::Connecting) return;  // closed while resolving
    if (ec || found.empty()) {
      self->fail(domainNotFound());
      return;
    }
    self->connectTo(std::make_shared<Endpoints>(std::move(found)), 0, {});
  });
}

// Tries each resolved address in turn; the last failure is the one reported.
void SocketImpl::connectTo(std::shared_ptr<Endpoints> endpoints, std::size_t index,
                           std::error_code last) {
  if (state_ != ReadyState::Connecting) return;
  if (index >= endpoints->size()) {
    fail(lastAttemptDenied_ ? policyDenied() : classifyError(last));
    return;
  }
  const asio::ip::tcp::endpoint target = (*endpoints)[index];
  // After resolution, per address: a permitted name must not lead to a forbidden address.
  lastAttemptDenied_ =
      policy_ && policy_->connectDenial(host_, addressString(target.address()), port_).has_value();
  if (lastAttemptDenied_) {
    connectTo(std::move(endpoints), index + 1, last);
    return;
  }
  std::error_code ec;
  socket_.emplace(loop()->io());
  socket_->open(target.protocol(), ec);
  if (ec) {
    connectTo(std::move(endpoints), index + 1, ec);
    return;
  }
  socket_->async_connect(
      target, [self = shared_from_this(), endpoints, index](const std::error_code& result) {
        if (self->state_ != ReadyState::Connecting) return;
        if (result) {
          self->connectTo(endpoints, index + 1, result);
        } else {
          self->connected();
        }
      });
}

// One deadline for the whole attempt: name resolution and every address tried.
void SocketImpl::startConnectDeadline(std::chrono::milliseconds timeout) {
  timer_ = std::make_unique<asio::steady_timer>(loop()->io(), timeout);
  timer_->async_wait([self = shared_from_this()](const std::error_code& ec) {
    if (!ec && self->state_ == ReadyState::Connecting) self->fail(classifyErrno(ETIMEDOUT));
  });
}

void SocketImpl::connected() {
  if (timer_) timer_->cancel();
  beginOpen();
  if (tls_) {  // useSecureTransport: "open" comes when the handshake is done
    startHandshake();
    return;
  }
  state_ = ReadyState::Open;
  emit(SocketEventType::Open);
  // Data that arrived with the handshake raised no edge we will see; a listener that resumed
  // inside `open` has already armed a read.
  if (!readArmed_) readReady();
}

const ConnectionOptions& SocketImpl::settings() const noexcept {
  static const ConnectionOptions kDefaults;
  return options_ ? *options_ : kDefaults;
}

// What every socket does on becoming "open", connected or accepted.
void SocketImpl::beginOpen() {
  applyConnectionOptions(socket_->native_handle(), settings());
  if (settings().idleTimeout.count() > 0) {
    noteActivity();
    startIdleTimer(settings().idleTimeout);
  }
}

std::shared_ptr<SocketImpl> SocketImpl::adopt(LoopCore& loop, int fd,
                                              const asio::ip::tcp::endpoint& peer,
                                              BinaryType binaryType,
                                              std::shared_ptr<const ConnectionOptions> options,
                                              std::weak_ptr<ConnectionOwner> owner,
                                              std::shared_ptr<const TlsContext> tls, bool secure,
                                              std::shared_ptr<const SocketHandlers> handlers) {
  auto s = std::make_shared<SocketImpl>(Private{}, loop, binaryType,
                                        secure ? ReadyState::Connecting : ReadyState::Open);
  std::error_code ec;
  s->socket_.emplace(loop.io());
  s->socket_->assign(peer.protocol(), fd, ec);
  if (ec) {
    ::close(fd);
    s->socket_.reset();
    s->state_ = ReadyState::Closed;
    return nullptr;
  }
  s->options_ = std::move(options);
  s->owner_ = std::move(owner);
  s->host_ = addressString(peer.address());
  s->port_ = peer.port();
  s->self_ = s;
  s->accepted_ = true;
  s->sharedHandlers_ = std::move(handlers);
  s->tlsContext_ = std::move(tls);
  s->beginOpen();
  if (secure) {
    s->tls_ = std::make_unique<TlsState>(loop.io());
    asio::post(loop.io(), [s] { s->startHandshake(); });
  } else {
    s->scheduleRead();  // after the `connect` event that hands the socket out
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Reading

// At most one read continuation (a wait or a posted read) is pending at any time: a listener that
// resumes inside `data` arms one while readReady() is still running, and readReady() must not
// add a second.
void SocketImpl::scheduleRead() {
  if (readArmed_) return;
  readArmed_ = true;
  asio::post(loop()->io(), [self = shared_from_this()] {
    self->readArmed_ = false;
    self->readReady();
  });
}

void SocketImpl::waitReadable() {
  if (readArmed_) return;
  readArmed_ = true;
  socket_->async_wait(asio::socket_base::wait_read,
                      [self = shared_from_this()](const std::error_code& ec) {
                        self->readArmed_ = false;
                        if (ec != asio::error::operation_aborted) self->readReady();
                      });
}

void SocketImpl::readReady() {
  if (tls_) {
    if (!tls_->session) return;  // STARTTLS pending: plaintext arriving now is never delivered
    if (tls_->handshaking) {
      continueHandshake();
      return;
    }
    if (tls_->writeWaitsRead) {
      tls_->writeWaitsRead = false;
      if (!writeArmed_) writeReady();
    }
  }
  for (int i = 0; i < kMaxReadsPerWakeup; ++i) {
    // Checked before every read: a listener may have suspended or closed the socket, or a send()
    // may have failed (its error, already posted, must not be overtaken by a clean close), or
    // asked for STARTTLS (what follows must go to the handshake).
    if (state_ != ReadyState::Open || suspendCount_ > 0 || peerEnded_ || writeFailed_ ||
        tlsPending()) {
      return;
    }
    std::uint8_t* buffer = loop()->readBuffer();
    const IoResult r = readSome(buffer, LoopCore::kReadBufferSize);
    switch (r.step) {
      case Step::Progress:
        break;
      case Step::End:
        peerEnded();
        return;
      case Step::WaitRead:
        waitReadable();
        return;
      case Step::WaitWrite:
        tls_->readWaitsWrite = true;
        if (!writeArmed_) waitWritable();
        return;
      case Step::Failed:
        fail(r.error);
        return;
    }
    noteActivity();
    if (binaryType_ == BinaryType::String) {
      emit(SocketEventType::Data, std::string_view(reinterpret_cast<const char*>(buffer), r.bytes));
    } else {
      emit(SocketEventType::Data, ArrayBuffer(buffer, r.bytes));
    }
    // A short read emptied the kernel's queue: the next arrival raises a fresh edge. (Not so for
    // TLS: a record is shorter than the buffer and more may wait inside OpenSSL.)
    if (!tls_ && r.bytes < LoopCore::kReadBufferSize) {
      if (state_ == ReadyState::Open && suspendCount_ == 0) waitReadable();
      return;
    }
  }
  scheduleRead();
}

// What a TLS read or write result means for the socket. A write finding the stream ended is a
// failure (EPIPE), as a plain write would be.
SocketImpl::IoResult SocketImpl::fromTls(const TlsResult& r, bool writing) noexcept {
  switch (r.status) {
    case TlsStatus::Done:
      return {Step::Progress, r.bytes};
    case TlsStatus::WantRead:
      return {Step::WaitRead};
    case TlsStatus::WantWrite:
      return {Step::WaitWrite};
    case TlsStatus::Closed:
      return writing ? IoResult{Step::Failed, 0, classifyErrno(EPIPE)} : IoResult{Step::End};
    case TlsStatus::Failed:
      break;
  }
  return {Step::Failed, 0, r.error};
}

SocketImpl::IoResult SocketImpl::readSome(std::uint8_t* buffer, std::size_t capacity) {
  if (tls_) return fromTls(tls_->session->read(buffer, capacity), false);
  for (;;) {
    const ssize_t n = sys::ops().recv(socket_->native_handle(), buffer, capacity, kRecvFlags);
    if (n > 0) return {Step::Progress, static_cast<std::size_t>(n)};
    if (n == 0) return {Step::End};
    if (errno == EINTR) continue;
    if (wouldBlock(errno)) return {Step::WaitRead};
    return {Step::Failed, 0, classifyErrno(errno)};
  }
}

// The reference keeps a socket whose peer half-closed "open" until its own output is flushed (and
// then never fires close: §2.5). We finish the flush, then close.
void SocketImpl::peerEnded() {
  peerEnded_ = true;
  if (settings().allowHalfOpen) {
    emit(SocketEventType::End);  // open for sending until this side closes or half-closes
    if (!finSent_) return;
  }
  if (queue_.empty() && !writeArmed_ && !flushCheckPosted_) finishClose();
}

// ---------------------------------------------------------------------------------------------
// Writing

bool SocketImpl::send(const std::uint8_t* data, std::size_t size, std::uint64_t counted,
                      const std::shared_ptr<const void>* owner) {
  checkThread();
  if (state_ != ReadyState::Open) {
    throw InvalidStateError("send() needs readyState \"open\", but it is \"" +
                            std::string(toString(state_)) + "\"");
  }
  if (writeEnded_) throw InvalidStateError("send() after halfClose(): the sending side is closed");
  const bool full = queue_.bytes() + counted > kSendBufferThreshold;
  if (full) waitingForDrain_ = true;
  if (writeFailed_) return false;  // failing: nothing more is sent, so ask for no more

  IoResult now{Step::WaitWrite};
  if (queue_.empty() && size > 0 && !tlsPending()) {  // straight out; queue what is refused
    now = writeNow(data, size);
    if (writeFailed_) return !full;
  }
  const std::size_t written = now.bytes;
  const std::uint64_t cap = settings().maxBufferedAmount;
  if (cap > 0 && queue_.bytes() + (size - written) > cap) {
    failLater(bufferOverflow(), true);  // a hard cap: nothing more is queued, the peer is reset
    return false;
  }
  if (written < size) {
    if (owner != nullptr) {
      queue_.pushShared(data + written, size - written, *owner);
    } else {
      queue_.push(data + written, size - written);
    }
    // Nothing to arm while STARTTLS is pending (handshakeDone() writes) or OpenSSL waits to read.
    if (!tlsPending() && !(tls_ && tls_->writeWaitsRead)) waitToWrite(now.step);
  } else if (full && queue_.empty()) {
    scheduleFlushCheck();  // all written at once, but the drain this false promised is still owed
  }
  return !full;
}

// Writes what the kernel takes now and says what a rest waits for; a failure is reported later
// (failLater), never inside send().
SocketImpl::IoResult SocketImpl::writeNow(const std::uint8_t* data, std::size_t size) {
  IoResult result{Step::Progress};
  if (tls_) {
    while (result.bytes < size) {
      const IoResult r =
          fromTls(tls_->session->write(data + result.bytes, size - result.bytes), true);
      result.bytes += r.bytes;
      if (r.step == Step::Progress) continue;
      result.step = r.step;
      if (r.step == Step::Failed) failLater(r.error);
      break;
    }
  } else {
    for (;;) {
      const ssize_t n = sys::ops().send(socket_->native_handle(), data, size, kSendFlags);
      if (n >= 0) {
        result.bytes = static_cast<std::size_t>(n);
        if (result.bytes < size) result.step = Step::WaitWrite;
        break;
      }
      if (errno == EINTR) continue;
      if (!wouldBlock(errno)) failLater(classifyErrno(errno));
      result.step = Step::WaitWrite;
      break;
    }
  }
  if (result.bytes > 0) noteActivity();
  return result;
}

// Arms what a blocked write waits for: room in the kernel, or (TLS) bytes OpenSSL must read first.
void SocketImpl::waitToWrite(Step why) {
  if (why == Step::WaitRead) {
    tls_->writeWaitsRead = true;
    waitReadable();
  } else if (!writeArmed_) {
    waitWritable();
  }
}

void SocketImpl::waitWritable() {
  writeArmed_ = true;
  socket_->async_wait(asio::socket_base::wait_write,
                      [self = shared_from_this()](const std::error_code& ec) {
                        self->writeArmed_ = false;
                        if (ec == asio::error::operation_aborted) {
                          // closeImmediately() cancelled us: the close it started continues here.
                          if (self->state_ == ReadyState::Closing) self->scheduleFlushCheck();
                          return;
                        }
                        self->writeReady();
                      });
}

void SocketImpl::writeReady() {
  if (state_ == ReadyState::Closed || writeFailed_) return;
  if (tls_) {
    if (tls_->handshaking) {
      continueHandshake();
      return;
    }
    if (tls_->readWaitsWrite) {
      tls_->readWaitsWrite = false;
      scheduleRead();
    }
    if (!tls_->session && tls_->plainBefore == 0) return;  // the handshake's start is posted
  }
  for (int round = 0; round < kMaxWritesPerWakeup && !queue_.empty(); ++round) {
    const IoResult r = writeSome();
    if (r.bytes > 0) noteActivity();
    if (tls_ && !tls_->session && tls_->plainBefore == 0) {  // STARTTLS: the plaintext is out
      if (state_ == ReadyState::Closing && queue_.empty()) {
        queueEmptied();  // closed with nothing sent after the upgrade: no handshake needed
      } else {
        startHandshake();
      }
      return;
    }
    switch (r.step) {
      case Step::Progress:
        continue;
      case Step::WaitWrite:
      case Step::WaitRead:
        waitToWrite(r.step);
        return;
      case Step::End:
      case Step::Failed:
        fail(r.error);
        return;
    }
  }
  if (!queue_.empty()) {  // budget spent while still writable: no edge will come, so post
    writeArmed_ = true;
    asio::post(loop()->io(), [self = shared_from_this()] {
      self->writeArmed_ = false;
      self->writeReady();
    });
    return;
  }
  queueEmptied();
}

// One write from the head of the queue; the written bytes are consumed. WaitWrite after progress
// means the kernel took less than offered (it is full).
SocketImpl::IoResult SocketImpl::writeSome() {
  iovec iov[WriteQueue::kMaxIov];
  if (tls_ && tls_->session) {
    queue_.gather(iov, 1);
    const IoResult r = fromTls(
        tls_->session->write(static_cast<const std::uint8_t*>(iov[0].iov_base), iov[0].iov_len),
        true);
    queue_.consume(r.bytes);
    return r;
  }
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = static_cast<std::size_t>(queue_.gather(iov, WriteQueue::kMaxIov));
  // Before a STARTTLS handshake only the bytes queued before upgradeToSecure() go out.
  const std::uint64_t limit = tls_ ? tls_->plainBefore : UINT64_MAX;
  std::size_t offered = 0;
  for (std::size_t i = 0; i < msg.msg_iovlen; ++i) {
    iov[i].iov_len = std::min<std::uint64_t>(iov[i].iov_len, limit - offered);
    offered += iov[i].iov_len;
    if (offered == limit) msg.msg_iovlen = i + 1;
  }
  for (;;) {
    const ssize_t n = sys::ops().sendmsg(socket_->native_handle(), &msg, kSendFlags);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (wouldBlock(errno)) return {Step::WaitWrite};
      return {Step::Failed, 0, classifyErrno(errno)};
    }
    const auto written = static_cast<std::size_t>(n);
    queue_.consume(written);
    if (tls_) tls_->plainBefore -= written;
    return {written < offered ? Step::WaitWrite : Step::Progress, written};
  }
}

void SocketImpl::scheduleFlushCheck() {
  if (flushCheckPosted_) return;
  flushCheckPosted_ = true;
  asio::post(loop()->io(), [self = shared_from_this()] {
    self->flushCheckPosted_ = false;
    if (self->state_ == ReadyState::Closed || self->writeFailed_) return;
    if (self->queue_.empty() && !self->writeArmed_) self->queueEmptied();
  });
}

// Everything accepted by send() is in the kernel: owe a drain, then finish a pending close.
void SocketImpl::queueEmptied() {
  // A pending handshake comes back here when done; a close with nothing left to encrypt need not
  // wait for it.
  if (tlsPending() && !(state_ == ReadyState::Closing && queue_.empty())) return;
  if (waitingForDrain_) {
    waitingForDrain_ = false;
    emit(SocketEventType::Drain);
  }
  if (!queue_.empty() || writeArmed_ || flushCheckPosted_) return;  // the listener sent more
  if (writeEnded_ && !finSent_ && state_ == ReadyState::Open) {
    finSent_ = true;
    if (tls_ && !tlsPending()) tls_->session->closeNotify();
    sys::ops().shutdown(socket_->native_handle(), SHUT_WR);  // a failure shows on the read side
  }
  const bool bothEnded = peerEnded_ && (finSent_ || !settings().allowHalfOpen);
  if (state_ == ReadyState::Closing || (state_ == ReadyState::Open && bothEnded)) finishClose();
}

// ---------------------------------------------------------------------------------------------
// Suspend, resume, close

void SocketImpl::suspend() {
  checkThread();
  ++suspendCount_;
}

void SocketImpl::resume() {
  checkThread();
  if (suspendCount_ == 0)
    throw InvalidStateError("resume() called on a socket that is not suspended");
  if (--suspendCount_ == 0 && state_ == ReadyState::Open) scheduleRead();
}

void SocketImpl::close() {
  checkThread();
  if (state_ == ReadyState::Closing || state_ == ReadyState::Closed) return;
  const bool wasConnecting = state_ == ReadyState::Connecting;
  state_ = ReadyState::Closing;
  if (wasConnecting) {
    // Deviation: the reference reports ConnectionRefusedError here; a close the user asked for is
    // not an error, so only `close` fires.
    asio::post(loop()->io(), [self = shared_from_this()] {
      if (self->state_ != ReadyState::Closing) return;
      self->state_ = ReadyState::Closed;
      self->closeDescriptor();
      self->emit(SocketEventType::Close);
      self->release();
    });
    return;
  }
  if (queue_.empty() && !writeArmed_) scheduleFlushCheck();
}

// Also works on a socket already "closing" (deviation: the reference ignored it there), so that a
// graceful close stuck behind a peer that reads nothing can be cut short.
void SocketImpl::closeImmediately() {
  checkThread();
  if (state_ != ReadyState::Open && state_ != ReadyState::Closing) {
    close();
    return;
  }
  queue_.clear();
  waitingForDrain_ = false;
  if (tlsPending()) {  // nothing may be written before the handshake: give it up
    state_ = ReadyState::Closing;
    asio::post(loop()->io(), [self = shared_from_this()] {
      if (self->state_ == ReadyState::Closing) self->finishClose();
    });
    return;
  }
  if (writeArmed_) {
    std::error_code ignored;
    socket_->cancel(ignored);  // its completion continues the close (see waitWritable)
  }
  if (state_ == ReadyState::Open) {
    close();
  } else if (!writeArmed_) {
    scheduleFlushCheck();
  }
}

void SocketImpl::halfClose() {
  checkThread();
  if (state_ != ReadyState::Open) {
    throw InvalidStateError("halfClose() needs readyState \"open\", but it is \"" +
                            std::string(toString(state_)) + "\"");
  }
  if (writeEnded_) return;
  writeEnded_ = true;
  if (queue_.empty() && !writeArmed_) scheduleFlushCheck();
}

void SocketImpl::finishClose() {
  if (state_ == ReadyState::Closed) return;
  state_ = ReadyState::Closed;
  if (!resetOnClose_ && tls_ && !tlsPending()) tls_->session->closeNotify();
  if (resetOnClose_) {
    closeDescriptor(true);
  } else {
    lingerThenClose();
  }
  emit(SocketEventType::Close);
  release();
}

void SocketImpl::fail(ErrorInfo info, bool reset) {
  if (state_ == ReadyState::Closed) return;
  state_ = ReadyState::Closed;  // already "closed" inside onerror
  queue_.clear();
  waitingForDrain_ = false;
  closeDescriptor(reset);
  emit(SocketEventType::Error, {}, info);
  emit(SocketEventType::Close);
  release();
}

void SocketImpl::failLater(ErrorInfo info, bool reset) {
  writeFailed_ = true;
  asio::post(loop()->io(), [self = shared_from_this(), info, reset] { self->fail(info, reset); });
}

void SocketImpl::abort() {
  checkThread();
  if (state_ == ReadyState::Closed) return;
  resetOnClose_ = true;
  closeImmediately();
}

// ---------------------------------------------------------------------------------------------
// Idle timeout: activity only stamps a time; the timer checks it when it fires and sleeps again
// for the remainder, so a busy socket costs no timer operation per read or write.

void SocketImpl::noteActivity() noexcept {
  if (watchingQuiet_ || settings().idleTimeout.count() > 0) {
    lastActivity_ = std::chrono::steady_clock::now();
  }
}

void SocketImpl::watchQuiet() noexcept {
  watchingQuiet_ = true;
  lastActivity_ = std::chrono::steady_clock::now();  // what arrives right after counts too
}

bool SocketImpl::quietFor(std::chrono::milliseconds period) noexcept {
  if (state_ != ReadyState::Open || !queue_.empty() || writeArmed_ || tlsPending()) return false;
  if (std::chrono::steady_clock::now() - lastActivity_ < period) return false;
  // Nothing the kernel holds for us unread (a suspended socket), and nothing it holds for the peer
  // unacknowledged: a FIN behind such bytes would leave them orphaned in the kernel.
  const int fd = socket_->native_handle();
  return unreadBytes(fd) == 0 && unsentBytes(fd) == 0;
}

void SocketImpl::startIdleTimer(std::chrono::milliseconds wait) {
  if (!timer_) timer_ = std::make_unique<asio::steady_timer>(loop()->io());
  timer_->expires_after(wait);
  timer_->async_wait([self = shared_from_this()](const std::error_code& ec) {
    if (!ec) self->idleTimerFired();
  });
}

// Runs from the moment the connection is up, so a TLS handshake counts (readyState "connecting").
void SocketImpl::idleTimerFired() {
  if (state_ == ReadyState::Closed) return;
  const auto idle = settings().idleTimeout;
  const auto quiet = std::chrono::steady_clock::now() - lastActivity_;
  if (quiet >= idle) {
    fail(classifyErrno(ETIMEDOUT), true);
  } else {
    startIdleTimer(std::chrono::ceil<std::chrono::milliseconds>(idle - quiet));
  }
}

void SocketImpl::closeDescriptor(bool reset) noexcept {
  if (linger_) {
    if (auto owner = linger_->owner.lock()) owner->lingerEnded();
    linger_->owner.reset();
  }
  if (timer_) timer_->cancel();
  if (tls_) tls_->deadline.cancel();
  if (socket_ && socket_->is_open()) {
    if (reset) resetOnClose(socket_->native_handle());  // RST instead of FIN
    std::error_code ignored;
    socket_->close(ignored);
  }
}

// After `close` nothing can fire again: tell the server (limits, draining), drop the listeners
// (they often capture this socket's own handle, which would otherwise keep it alive forever) and
// the self-reference.
void SocketImpl::release() {
  if (auto owner = owner_.lock()) owner->connectionEnded(*this);
  owner_.reset();
  listeners_.clear();
  sharedHandlers_.reset();
  self_.reset();
}

// The loop is going away: a connection still open is cut, so it is reset, never given a FIN that
// would tell its peer it had everything; so is one still lingering with bytes the peer has not
// taken (the kernel would keep them as an orphan).
void SocketImpl::abandon() noexcept {
  detach();
  if (socket_ && socket_->is_open()) {
    const int fd = socket_->native_handle();
    if (state_ != ReadyState::Closed || unsentBytes(fd) > 0) resetOnClose(fd);
  }
  state_ = ReadyState::Closed;
  queue_.clear();
  timer_.reset();
  tls_.reset();
  socket_.reset();
  listeners_.clear();
  sharedHandlers_.reset();
  auto last = std::move(self_);  // may destroy *this: nothing after this line
}

void SocketImpl::emit(SocketEventType type, EventData data, ErrorInfo info) {
  TCPSocket target(shared_from_this());
  const TCPSocketEvent event{type, target, data, info.name, info.message};
  LoopCore* core = loop();
  auto report = [core] {
    if (core != nullptr) core->reportException(std::current_exception());
  };
  // Held by a local copy: a shared listener may close the socket, which releases them.
  if (const auto shared = sharedHandlers_) {
    const SocketEventHandler* handler = shared->forType(type);
    if (handler != nullptr && *handler) {
      try {
        (*handler)(event);
      } catch (...) {
        report();
      }
    }
  }
  listeners_.dispatch(static_cast<int>(type), event, report);
}

}  // namespace tcpsocket::detail
