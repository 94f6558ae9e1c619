#include "plain_transport.hpp"

#include <sys/socket.h>

#include <cerrno>

#include "sys_ops.hpp"

namespace tcpsocket::detail {
namespace {

constexpr int kSendFlags = MSG_NOSIGNAL | MSG_DONTWAIT;  // never SIGPIPE, never block
constexpr int kRecvFlags = MSG_DONTWAIT;  // whatever the descriptor's own O_NONBLOCK says

bool wouldBlock(int err) noexcept { return err == EAGAIN || err == EWOULDBLOCK; }

}  // namespace

IoResult PlainTransport::read(int fd, std::uint8_t* buffer, std::size_t capacity) {
  const ssize_t n =
      sys::retryInterrupted([&] { return sys::ops().recv(fd, buffer, capacity, kRecvFlags); });
  if (n > 0) return {IoStep::Progress, static_cast<std::size_t>(n)};
  if (n == 0) return {IoStep::End};
  if (wouldBlock(errno)) return {IoStep::WaitRead};
  return {IoStep::Failed, 0, classifyErrno(errno)};
}

// One gathered write. The kernel taking less than offered means its send buffer is full.
IoResult PlainTransport::write(int fd, const iovec* iov, int count) {
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = static_cast<std::size_t>(count);
  std::size_t offered = 0;
  for (int i = 0; i < count; ++i) offered += iov[i].iov_len;
  // One buffer (a direct send) goes through send(), several through sendmsg().
  const ssize_t n = sys::retryInterrupted([&] {
    return count == 1 ? sys::ops().send(fd, iov[0].iov_base, iov[0].iov_len, kSendFlags)
                      : sys::ops().sendmsg(fd, &msg, kSendFlags);
  });
  if (n < 0) {
    if (wouldBlock(errno)) return {IoStep::WaitWrite};
    return {IoStep::Failed, 0, classifyErrno(errno)};
  }
  const auto written = static_cast<std::size_t>(n);
  return {written < offered ? IoStep::WaitWrite : IoStep::Progress, written};
}

void PlainTransport::shutdownWrite(int fd) noexcept { sys::ops().shutdown(fd, SHUT_WR); }

Transport& plainTransport() noexcept {
  static PlainTransport instance;
  return instance;
}

}  // namespace tcpsocket::detail
