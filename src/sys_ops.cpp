#include "sys_ops.hpp"

#include <netinet/in.h>

namespace tcpsocket::sys {
namespace {

const Ops kReal{
    [](int fd, void* buf, size_t len, int flags) { return ::recv(fd, buf, len, flags); },
    [](int fd, const void* buf, size_t len, int flags) { return ::send(fd, buf, len, flags); },
    [](int fd, const msghdr* msg, int flags) { return ::sendmsg(fd, msg, flags); },
    [](int fd, sockaddr* addr, socklen_t* len, int flags) {
      return ::accept4(fd, addr, len, flags);
    },
    [](int fd, int how) { return ::shutdown(fd, how); },
    [](int fd, int level, int name, const void* value, socklen_t len) {
      return ::setsockopt(fd, level, name, value, len);
    },
};

const Ops* current = &kReal;

}  // namespace

const Ops& ops() noexcept { return *current; }
const Ops& realOps() noexcept { return kReal; }

ScopedOps::ScopedOps(const Ops& replacement) noexcept : previous_(current) {
  current = &replacement;
}
ScopedOps::~ScopedOps() { current = previous_; }

int openStream(int family) noexcept {
  return ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
}

}  // namespace tcpsocket::sys
