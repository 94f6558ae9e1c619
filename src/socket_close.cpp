// The ways a socket ends (the map is in socket_impl.hpp): close() after the queue is flushed,
// closeImmediately() and abort() without it, halfClose() for our direction only, and fail() for
// every error. Each fires `close` exactly once, after `error` when there is one
// (docs/reference.md §2.4, §2.5).
#include <asio/post.hpp>

#include "socket_connector.hpp"
#include "socket_impl.hpp"
#include "tcp_tuning.hpp"
#include "tcpsocket/errors.hpp"

namespace tcpsocket::detail {

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
      self->closeDescriptor(self->resetOnClose_);  // abort(): RST, even mid-handshake
      self->emit(SocketEventType::Close);
      self->release();
    });
    return;
  }
  if (write_.queue.empty() && !write_.armed) scheduleFlushCheck();
}

// Also works on a socket already "closing" (deviation: the reference ignored it there), so that a
// graceful close stuck behind a peer that reads nothing can be cut short.
void SocketImpl::closeImmediately() {
  checkThread();
  if (state_ != ReadyState::Open && state_ != ReadyState::Closing) {
    close();
    return;
  }
  write_.queue.clear();
  write_.owesDrain = false;
  if (securing()) {  // nothing may be written before the handshake: give it up
    state_ = ReadyState::Closing;
    asio::post(loop()->io(), [self = shared_from_this()] {
      if (self->state_ == ReadyState::Closing) self->finishClose();
    });
    return;
  }
  if (write_.armed) cancelWaits();  // the write wait's end continues the close
  if (state_ == ReadyState::Open) {
    close();
  } else if (!write_.armed) {
    scheduleFlushCheck();
  }
}

void SocketImpl::halfClose() {
  checkThread();
  if (state_ != ReadyState::Open) throw InvalidStateError(needsOpen("halfClose()", state_));
  if (write_.fin != OurFin::None) return;
  write_.fin = OurFin::AfterQueue;
  if (write_.queue.empty() && !write_.armed) scheduleFlushCheck();
}

void SocketImpl::abort() {
  checkThread();
  if (state_ == ReadyState::Closed) return;
  resetOnClose_ = true;
  closeImmediately();
}

void SocketImpl::finishClose() {
  if (state_ == ReadyState::Closed) return;
  state_ = ReadyState::Closed;
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
  write_.queue.clear();
  write_.owesDrain = false;
  closeDescriptor(reset);
  emit(SocketEventType::Error, {}, info);
  emit(SocketEventType::Close);
  release();
}

void SocketImpl::failLater(ErrorInfo info, bool reset) {
  write_.failed = true;
  asio::post(loop()->io(), [self = shared_from_this(), info, reset] { self->fail(info, reset); });
}

// Lets the descriptor go, and every timer and wait with it.
void SocketImpl::closeDescriptor(bool reset) noexcept {
  if (lingering()) {
    if (auto owner = lingering()->owner.lock()) owner->lingerEnded();
    lingering()->owner.reset();
    lingering()->tick.cancel();
  }
  if (extras_) extras_->connector.reset();
  if (auto* timer = idleTimer()) timer->cancel();
  if (auto* s = securing()) s->handshakeDeadline.cancel();
  if (fd_ >= 0) {
    cancelWaits();
    if (LoopCore* core = loop()) core->readiness().remove(ready_.token);
    if (reset) resetOnClose(fd_);  // RST instead of FIN
    ::close(fd_);
    fd_ = -1;
  }
}

}  // namespace tcpsocket::detail
