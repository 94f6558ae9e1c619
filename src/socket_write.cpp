// The write side (docs/reference.md §3): send() and the full-buffer rule, one writer that sends
// straight from the caller's bytes when nothing is queued and gathers from the queue otherwise,
// `drain`, and the FIN that halfClose() owes once the queue is empty.
#include <asio/post.hpp>
#include <string>

#include "socket_impl.hpp"
#include "tcpsocket/errors.hpp"
#include "tcpsocket/tcp_socket.hpp"

namespace tcpsocket::detail {
namespace {
constexpr int kMaxWritesPerWakeup = 16;  // then yield to other sockets (fairness)
}

bool SocketImpl::send(const std::uint8_t* data, std::size_t size, std::uint64_t counted,
                      const std::shared_ptr<const void>* owner) {
  checkThread();
  if (state_ != ReadyState::Open) throw InvalidStateError(needsOpen("send()", state_));
  if (write_.fin != OurFin::None) {
    throw InvalidStateError("send() after halfClose(): the sending side is closed");
  }
  const bool full = write_.queue.bytes() + counted > kSendBufferThreshold;
  if (full) write_.owesDrain = true;
  if (write_.failed) return false;  // failing: nothing more is sent, so ask for no more

  IoResult now{IoStep::WaitWrite};
  if (write_.queue.empty() && size > 0 && writableNow() > 0) {
    now = writeDirect(data, size);  // straight out; the rest is queued below
    if (write_.failed) return !full;
  }
  const std::size_t written = now.bytes;
  const std::uint64_t cap = settings().maxBufferedAmount;
  if (cap > 0 && write_.queue.bytes() + (size - written) > cap) {
    failLater(bufferOverflow(), true);  // a hard cap: nothing more is queued, the peer is reset
    return false;
  }
  if (written < size) {
    if (owner != nullptr) {
      write_.queue.pushShared(data + written, size - written, *owner);
    } else {
      write_.queue.push(data + written, size - written);
    }
    // Nothing to arm while the handshake runs (it writes when done) or the transport waits to
    // read (the read wait it armed comes back here).
    if (writableNow() > 0 && !write_.blockedOnRead) waitToWrite(now.step);
  } else if (full && write_.queue.empty()) {
    scheduleFlushCheck();  // all written at once, but the drain this false promised is still owed
  }
  return !full;
}

// Writes what the transport takes now and says what a rest waits for; a failure is reported
// later (failLater), never inside send().
IoResult SocketImpl::writeDirect(const std::uint8_t* data, std::size_t size) {
  IoResult result{IoStep::Progress};
  while (result.bytes < size) {
    const iovec iov{const_cast<std::uint8_t*>(data + result.bytes), size - result.bytes};
    const IoResult r = transport().write(fd_, &iov, 1);
    result.bytes += r.bytes;
    result.step = r.step;
    if (r.step == IoStep::Failed) failLater(r.error);
    if (r.step != IoStep::Progress) break;
  }
  if (result.bytes > 0) countWritten(result.bytes);
  return result;
}

// Arms what a blocked write waits for: room in the kernel, or bytes the transport must read first.
void SocketImpl::waitToWrite(IoStep why) {
  if (why == IoStep::WaitRead) {
    write_.blockedOnRead = true;
    waitReadable();
  } else if (!write_.armed) {
    waitWritable();
  }
}

void SocketImpl::writeReady() {
  if (state_ == ReadyState::Closed || write_.failed) return;
  if (writableNow() == 0) return;  // the handshake writes when it is done
  iovec iov[WriteQueue::kMaxIov];
  for (int round = 0; round < kMaxWritesPerWakeup && !write_.queue.empty(); ++round) {
    const int count = write_.queue.gather(iov, WriteQueue::kMaxIov, writableNow());
    const IoResult r = transport().write(fd_, iov, count);
    write_.queue.consume(r.bytes);
    if (r.bytes > 0) countWritten(r.bytes);
    if (plaintextSent(r.bytes)) return;
    switch (r.step) {
      case IoStep::Progress:
        continue;
      case IoStep::WaitWrite:
      case IoStep::WaitRead:
        waitToWrite(r.step);
        return;
      case IoStep::End:
      case IoStep::Failed:
        fail(r.error);
        return;
    }
  }
  if (!write_.queue.empty()) {
    scheduleWrite();  // budget spent while still writable: no edge will come
    return;
  }
  queueEmptied();
}

void SocketImpl::scheduleWrite() {
  write_.armed = true;
  asio::post(loop()->io(), [self = shared_from_this()] {
    self->write_.armed = false;
    self->onWritable();
  });
}

void SocketImpl::scheduleFlushCheck() {
  if (write_.flushCheckPosted) return;
  write_.flushCheckPosted = true;
  asio::post(loop()->io(), [self = shared_from_this()] {
    self->write_.flushCheckPosted = false;
    if (self->state_ == ReadyState::Closed || self->write_.failed) return;
    if (self->write_.queue.empty() && !self->write_.armed) self->queueEmptied();
  });
}

void SocketImpl::suspendUntilDrain() {
  checkThread();
  if (!write_.owesDrain || write_.failed || write_.resumeAtDrain) return;
  write_.resumeAtDrain = true;
  suspend();
}

// Everything accepted by send() is in the kernel: owe a drain, then finish a pending close.
void SocketImpl::queueEmptied() {
  // A pending handshake comes back here when done; a close with nothing left to encrypt need not
  // wait for it.
  if (securing() && !(state_ == ReadyState::Closing && write_.queue.empty())) return;
  if (write_.owesDrain) {
    write_.owesDrain = false;
    // Before the listeners run, so that one which sends and is refused starts a new episode.
    if (write_.resumeAtDrain) {
      write_.resumeAtDrain = false;
      if (read_.suspendCount > 0) resume();  // the next read is posted: it comes after `drain`
    }
    emit(SocketEventType::Drain);
  }
  if (!write_.queue.empty() || write_.armed || write_.flushCheckPosted) return;  // sent more
  if (write_.fin == OurFin::AfterQueue && state_ == ReadyState::Open) {
    write_.fin = OurFin::Sent;
    transport().shutdownWrite(fd_);  // a failure shows on the read side
  }
  const bool bothEnded =
      read_.peerEnded && (write_.fin == OurFin::Sent || !settings().allowHalfOpen);
  if (state_ == ReadyState::Closing || (state_ == ReadyState::Open && bothEnded)) finishClose();
}

}  // namespace tcpsocket::detail
