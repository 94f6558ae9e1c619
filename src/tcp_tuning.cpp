#include "tcp_tuning.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "sys_ops.hpp"

namespace tcpsocket::detail {
namespace {

void setInt(int fd, int level, int name, long long value) noexcept {
  const int v = static_cast<int>(value);
  sys::ops().setsockopt(fd, level, name, &v, sizeof v);
}

}  // namespace

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
