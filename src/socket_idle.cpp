// The idle timeout (ConnectionOptions::idleTimeout) and the quiet check a draining server makes.
// Activity only stamps a time; the timer checks it when it fires and sleeps again for the
// remainder, so a busy socket costs no timer operation per read or write.
#include <cerrno>
#include <new>

#include "socket_impl.hpp"

namespace tcpsocket::detail {

// The stamp lives in Extras, which an idle timer or watchQuiet() has made; a socket with neither
// has nobody to read it.
void SocketImpl::noteActivity() noexcept {
  if (extras_ && (watchingQuiet_ || settings().idleTimeout.count() > 0)) {
    extras_->lastActivity = std::chrono::steady_clock::now();
  }
}

void SocketImpl::countRead(std::size_t bytes) noexcept {
  bytesRead_ += bytes;
  noteActivity();
}

void SocketImpl::countWritten(std::size_t bytes) noexcept {
  bytesWritten_ += bytes;
  noteActivity();
}

void SocketImpl::watchQuiet() noexcept {
  try {
    extras();
  } catch (const std::bad_alloc&) {
    return;  // never quiet: the server's drain deadline still ends it
  }
  watchingQuiet_ = true;
  extras_->lastActivity = std::chrono::steady_clock::now();  // what arrives next counts too
}

bool SocketImpl::quietFor(std::chrono::milliseconds period) noexcept {
  if (state_ != ReadyState::Open || !write_.queue.empty() || write_.armed || securing() ||
      !watchingQuiet_) {
    return false;
  }
  if (std::chrono::steady_clock::now() - extras_->lastActivity < period) return false;
  // Nothing the kernel holds for us unread (a suspended socket), and nothing it holds for the peer
  // unacknowledged: a FIN behind such bytes would leave them orphaned in the kernel.
  const int fd = fd_;
  return unreadBytes(fd) == 0 && unsentBytes(fd) == 0;
}

void SocketImpl::startIdleTimer(std::chrono::milliseconds wait) {
  auto& timer = extras().idleTimer;
  if (!timer) timer = std::make_unique<asio::steady_timer>(loop()->io());
  timer->expires_after(wait);
  timer->async_wait([self = shared_from_this()](const std::error_code& ec) {
    if (!ec) self->idleTimerFired();
  });
}

// Runs from the moment the connection is up, so a TLS handshake counts (readyState "connecting").
void SocketImpl::idleTimerFired() {
  if (state_ == ReadyState::Closed) return;
  const auto idle = settings().idleTimeout;
  const auto quiet = std::chrono::steady_clock::now() - extras().lastActivity;
  if (quiet >= idle) {
    fail(classifyErrno(ETIMEDOUT), true);
  } else {
    startIdleTimer(std::chrono::ceil<std::chrono::milliseconds>(idle - quiet));
  }
}

}  // namespace tcpsocket::detail
