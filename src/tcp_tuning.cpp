#include "tcp_tuning.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <string>

#include "sys_ops.hpp"
#include "tcpsocket/errors.hpp"

namespace tcpsocket::detail {
namespace {

void setInt(int fd, int level, int name, long long value) noexcept {
  const int v = static_cast<int>(value);
  sys::ops().setsockopt(fd, level, name, &v, sizeof v);
}

}  // namespace

void validateConnectionOptions(const ConnectionOptions& options) {
  if (options.maxBufferedAmount != 0 && options.maxBufferedAmount < kSendBufferThreshold) {
    throw TypeError(
        "maxBufferedAmount must be 0 (no cap) or at least 65536 (where send() starts "
        "returning false), got " +
        std::to_string(options.maxBufferedAmount));
  }
  // Linux's own limits (MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL, MAX_TCP_KEEPCNT): beyond them the
  // kernel would refuse the option and the connection would silently run without keep-alive.
  if (options.keepAlive.enabled &&
      (options.keepAlive.idle.count() < 1 || options.keepAlive.interval.count() < 1 ||
       options.keepAlive.count < 1 || options.keepAlive.idle.count() > 32767 ||
       options.keepAlive.interval.count() > 32767 || options.keepAlive.count > 127)) {
    throw TypeError("keepAlive needs idle and interval from 1 to 32767 s and count from 1 to 127");
  }
  checkTimeout(options.userTimeout, "userTimeout");
  checkTimeout(options.idleTimeout, "idleTimeout");
}

void checkTimeout(std::chrono::milliseconds timeout, const char* name) {
  if (timeout.count() < 0 || timeout > kMaxTimeout) {
    throw TypeError(std::string(name) + " must be from 0 to " +
                    std::to_string(kMaxTimeout.count()) + " ms, got " +
                    std::to_string(timeout.count()));
  }
}

void applyConnectionOptions(int fd, const ConnectionOptions& options) noexcept {
  setInt(fd, IPPROTO_TCP, TCP_NODELAY, options.noDelay ? 1 : 0);
  if (options.keepAlive.enabled) {
    setInt(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
    setInt(fd, IPPROTO_TCP, TCP_KEEPIDLE, options.keepAlive.idle.count());
    setInt(fd, IPPROTO_TCP, TCP_KEEPINTVL, options.keepAlive.interval.count());
    setInt(fd, IPPROTO_TCP, TCP_KEEPCNT, options.keepAlive.count);
  }
  if (options.userTimeout.count() > 0) {
    setInt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, options.userTimeout.count());
  }
}

void resetOnClose(int fd) noexcept {
  const linger abortive{1, 0};
  sys::ops().setsockopt(fd, SOL_SOCKET, SO_LINGER, &abortive, sizeof abortive);
}

}  // namespace tcpsocket::detail
