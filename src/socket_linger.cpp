// A gracefully closed socket's last steps. After our FIN the descriptor is kept until the peer has
// taken everything: its FIN has been read (input arriving meanwhile is read, so that closing never
// meets unread input, which would make the kernel answer with a reset that can destroy data the
// peer has not read yet) and the kernel's send queue is empty (a descriptor closed with bytes
// still queued becomes an orphan the kernel keeps, buffers and all, for minutes).
//
// At most kMaxLinger in all. Two outcomes are resets, not FINs: a peer that takes none of our
// bytes for kLingerTimeout (it may never read again: the orphan would hold kernel memory nobody
// accounts for), and a peer that sent bytes after our FIN (a request crossing our close: a clean
// end would tell it that it was answered). A reset sent once our queue is empty destroys nothing
// the peer has received.
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <asio/post.hpp>

#include "plain_transport.hpp"
#include "socket_impl.hpp"

namespace tcpsocket::detail {
namespace {

// Without progress. Not less: a peer reading slowly through a small window opens it in steps,
// and the kernel learns of each through its zero-window probes, seconds apart (2.2 s measured for
// a reader taking 1.3 KB/s).
constexpr auto kLingerTimeout = std::chrono::seconds(5);
// In all: a peer that keeps reading a byte now and then must not hold a descriptor for ever; what
// it has not taken by then is reset rather than left to the kernel as an orphan.
constexpr auto kMaxLinger = std::chrono::seconds(10);
constexpr auto kLingerPoll = std::chrono::milliseconds(100);
constexpr int kMaxLingerReads = 16;

}  // namespace

namespace {
int kernelQueued(int fd, unsigned long request) noexcept {
  int bytes = 0;
  return ::ioctl(fd, request, &bytes) == 0 ? bytes : 0;
}
}  // namespace

int unreadBytes(int fd) noexcept { return kernelQueued(fd, FIONREAD); }
int unsentBytes(int fd) noexcept { return kernelQueued(fd, SIOCOUTQ); }

namespace {
// The peer reset the connection (or it died otherwise): the kernel has dropped our bytes, but
// SIOCOUTQ still counts what was never acknowledged, our FIN included.
bool connectionGone(int fd) noexcept {
  tcp_info info{};
  socklen_t length = sizeof info;
  return ::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) == 0 &&
         info.tcpi_state == TCP_CLOSE;
}
}  // namespace

void SocketImpl::lingerThenClose() {
  const int fd = nativeHandle();
  if (fd < 0) return;
  transport().shutdownWrite(fd_);  // TLS: close_notify first
  cancelWaits();                   // waits of the open socket; from here on only the linger's wait
  if (auto* timer = idleTimer()) timer->cancel();
  Lingering& linger = *(extras().linger = std::make_unique<Lingering>(loop()->io()));
  linger.since = linger.progressAt = std::chrono::steady_clock::now();
  linger.unsent = unsentBytes(fd);
  linger.peerFinished = read_.peerEnded;
  if (accepted_) {
    if (auto owner = accepted_->owner.lock()) {
      owner->lingerStarted();
      linger.owner = owner;
    }
  }
  lingerRead();
  if (nativeHandle() >= 0) lingerTick();
}

void SocketImpl::lingerRead() {
  const int fd = nativeHandle();
  if (fd < 0 || lingering()->peerFinished) return;
  Lingering& linger = *lingering();
  // An established TLS session reads through OpenSSL: the peer's close_notify, its answer to ours,
  // is the end of its stream, not input nobody will read. Mid-handshake, raw bytes are read, as
  // OpenSSL would go on with the handshake.
  Transport& reader = securing() == nullptr ? transport() : plainTransport();
  for (int i = 0; i < kMaxLingerReads; ++i) {
    const IoResult r = reader.read(fd, loop()->readBuffer(), LoopCore::kReadBufferSize);
    if (r.step == IoStep::Progress) {
      linger.discardedInput = true;
      continue;
    }
    if (r.step == IoStep::WaitRead || r.step == IoStep::WaitWrite) {
      // What crossed our FIN is lost: say so as soon as our own bytes are safe with the peer.
      if (linger.discardedInput && unsentBytes(fd) == 0) {
        closeDescriptor(true);
        return;
      }
      break;
    }
    if (r.step == IoStep::Failed) {  // the connection is gone: nothing left to protect
      closeDescriptor();
      return;
    }
    linger.peerFinished = true;  // its FIN: from here on only our send queue matters
    lingerDone();
    return;
  }
  if (nativeHandle() >= 0 && unreadBytes(fd) > 0) {
    // The budget ran out with more to read: readiness is edge-triggered, so no wait would wake.
    asio::post(loop()->io(), [self = shared_from_this()] { self->lingerRead(); });
    return;
  }
  waitForLingerRead();
}

void SocketImpl::waitForLingerRead() { setWaiters(ReadWaiter::Linger, ready_.writer); }

// Polled while lingering: nothing signals that the peer has acknowledged our last bytes.
void SocketImpl::lingerTick() {
  const int fd = nativeHandle();
  if (fd < 0) return;
  Lingering& linger = *lingering();
  const int unsent = unsentBytes(fd);
  const auto now = std::chrono::steady_clock::now();
  if (unsent < linger.unsent) linger.progressAt = now;
  linger.unsent = unsent;
  if (unsent > 0 && connectionGone(fd)) {  // nothing left to deliver, or to reset
    closeDescriptor();
    return;
  }
  if (unsent == 0 && (linger.peerFinished || linger.discardedInput)) {
    closeDescriptor(linger.discardedInput);
    return;
  }
  if (now - linger.progressAt >= kLingerTimeout) {
    closeDescriptor(unsent > 0 || linger.discardedInput);
    return;
  }
  if (now - linger.since >= kMaxLinger) {  // still reading, but too slowly to wait for
    closeDescriptor(unsent > 0 || linger.discardedInput);
    return;
  }
  linger.tick.expires_after(kLingerPoll);
  linger.tick.async_wait([self = shared_from_this()](const std::error_code& ec) {
    if (!ec) self->lingerTick();
  });
}

void SocketImpl::lingerDone() {
  const int fd = nativeHandle();
  if (fd < 0 || unsentBytes(fd) > 0) return;  // the tick closes once it is taken
  closeDescriptor(lingering()->discardedInput);
}

}  // namespace tcpsocket::detail
