// The raw system calls behind every socket, in one replaceable table.
//
// Production code calls sys::ops().recv(...) and so on; tests swap the table (ScopedSysOps) to
// inject EMFILE, ECONNRESET, EPIPE, EAGAIN or short writes at chosen points without touching the
// kernel. Each entry has the signature and errno contract of the syscall it stands for.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cerrno>

namespace tcpsocket::sys {

struct Ops {
  ssize_t (*recv)(int fd, void* buf, size_t len, int flags);
  ssize_t (*send)(int fd, const void* buf, size_t len, int flags);
  ssize_t (*sendmsg)(int fd, const msghdr* msg, int flags);
  int (*accept4)(int fd, sockaddr* addr, socklen_t* len, int flags);
  int (*shutdown)(int fd, int how);
  int (*setsockopt)(int fd, int level, int name, const void* value, socklen_t len);
};

/// The table in use (the real syscalls unless a test replaced it).
const Ops& ops() noexcept;
/// The real syscalls, for tests that wrap them.
const Ops& realOps() noexcept;

/// A new TCP socket of `family`, close-on-exec from the start (Asio's open() leaves it to be
/// inherited by any program the process starts, which would keep ports bound and connections
/// open); -1 with errno on failure.
int openStream(int family) noexcept;

/// Calls `call` again while it fails with EINTR; returns its last result, errno intact. The one
/// retry loop behind every read, write and accept.
template <class Call>
auto retryInterrupted(Call call) {
  for (;;) {
    const auto result = call();
    if (result >= 0 || errno != EINTR) return result;
  }
}

/// Replaces the table for the lifetime of the object (tests only; not thread-safe).
class ScopedOps {
 public:
  explicit ScopedOps(const Ops& replacement) noexcept;
  ~ScopedOps();
  ScopedOps(const ScopedOps&) = delete;
  ScopedOps& operator=(const ScopedOps&) = delete;

 private:
  const Ops* previous_;
};

}  // namespace tcpsocket::sys
