// The read side: reads until the transport has to wait, delivers `data`, honours suspend() and
// resume() (counted, docs/reference.md §4.1), and turns the peer's FIN into a close.
#include <asio/post.hpp>

#include "socket_impl.hpp"
#include "tcpsocket/errors.hpp"

namespace tcpsocket::detail {
namespace {
constexpr int kMaxReadsPerWakeup = 16;  // then yield to other sockets (fairness)
}

// At most one read continuation (a wait or a posted read) is pending at any time: a listener that
// resumes inside `data` arms one while readReady() is still running, and readReady() must not
// add a second. A posted read stands in for a readable descriptor, so it also serves a write
// that waits for one (which found the read continuation already pending).
void SocketImpl::scheduleRead() {
  if (read_.armed) return;
  read_.armed = true;
  asio::post(loop()->io(), [self = shared_from_this()] {
    self->read_.armed = false;
    self->onReadable();
  });
}

void SocketImpl::readReady() {
  for (int i = 0; i < kMaxReadsPerWakeup; ++i) {
    // Checked before every read: a listener may have suspended or closed the socket, or a send()
    // may have failed (its error, already posted, must not be overtaken by a clean close), or
    // asked for STARTTLS (what arrives now belongs to the handshake, and is never delivered as
    // plaintext).
    if (state_ != ReadyState::Open || read_.suspendCount > 0 || read_.peerEnded || write_.failed ||
        securing()) {
      return;
    }
    std::uint8_t* buffer = loop()->readBuffer();
    const IoResult r = transport().read(fd_, buffer, LoopCore::kReadBufferSize);
    switch (r.step) {
      case IoStep::Progress:
        break;
      case IoStep::End:
        peerEnded();
        return;
      case IoStep::WaitRead:
        waitReadable();
        return;
      case IoStep::WaitWrite:
        read_.blockedOnWrite = true;
        if (!write_.armed) waitWritable();
        return;
      case IoStep::Failed:
        fail(r.error);
        return;
    }
    countRead(r.bytes);
    if (binaryType_ == BinaryType::String) {
      emit(SocketEventType::Data, std::string_view(reinterpret_cast<const char*>(buffer), r.bytes));
    } else {
      emit(SocketEventType::Data, ArrayBuffer(buffer, r.bytes));
    }
    // A short read emptied the kernel's queue: the next arrival raises a fresh edge. Not the FIN
    // that came with these bytes (readiness.hpp): then read on to it.
    if (!transport().holdsReadAhead() && r.bytes < LoopCore::kReadBufferSize && !ready_.hangup) {
      if (state_ == ReadyState::Open && read_.suspendCount == 0) waitReadable();
      return;
    }
  }
  scheduleRead();
}

// The reference keeps a socket whose peer half-closed "open" until its own output is flushed (and
// then never fires close: docs/reference.md §2.5). We finish the flush, then close.
void SocketImpl::peerEnded() {
  read_.peerEnded = true;
  if (settings().allowHalfOpen) {
    emit(SocketEventType::End);  // open for sending until this side closes or half-closes
    if (write_.fin != OurFin::Sent) return;
  }
  if (write_.queue.empty() && !write_.armed && !write_.flushCheckPosted) finishClose();
}

void SocketImpl::suspend() {
  checkThread();
  ++read_.suspendCount;
}

void SocketImpl::resume() {
  checkThread();
  if (read_.suspendCount == 0) {
    throw InvalidStateError("resume() called on a socket that is not suspended");
  }
  if (--read_.suspendCount == 0 && state_ == ReadyState::Open) scheduleRead();
}

}  // namespace tcpsocket::detail
