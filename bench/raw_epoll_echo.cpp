// The baseline: an echo server on raw epoll written the way a hand-tuned server is, the practical
// limit the benchmark compares against. Edge-triggered, registered once (no epoll_ctl per message),
// one 256 KiB read buffer shared by the loop (a large read drains a bulk sender in few calls); what
// the kernel refuses to take is kept per connection as a list of chunks, flushed with one writev,
// and reading pauses until it is out.
//   raw_epoll_echo [PORT]   prints "listening on 127.0.0.1:PORT"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

struct Conn {
  int fd;
  std::vector<std::string> pending;  // refused by the kernel; the first is sent from `offset`
  std::size_t offset = 0;
};

char buffer[256 * 1024];

void closeConn(Conn* c) {
  ::close(c->fd);
  delete c;
}

// Flushes what is pending, every chunk in one writev; true when nothing is left.
bool flush(Conn* c) {
  while (!c->pending.empty()) {
    iovec iov[64];
    int n = 0;
    for (std::size_t i = 0; i < c->pending.size() && n < 64; ++i, ++n) {
      const std::size_t skip = i == 0 ? c->offset : 0;
      iov[n].iov_base = c->pending[i].data() + skip;
      iov[n].iov_len = c->pending[i].size() - skip;
    }
    ssize_t w = ::writev(c->fd, iov, n);
    if (w <= 0) return false;
    while (w > 0) {
      const std::size_t left = c->pending.front().size() - c->offset;
      if (static_cast<std::size_t>(w) < left) {
        c->offset += static_cast<std::size_t>(w);
        return false;  // the kernel took part: the next EPOLLOUT edge resumes us
      }
      w -= static_cast<ssize_t>(left);
      c->pending.erase(c->pending.begin());
      c->offset = 0;
    }
  }
  return true;
}

// Reads and echoes until EAGAIN, or until the kernel refuses output (then EPOLLOUT resumes us).
// Returns false when the connection is gone.
bool echo(Conn* c) {
  for (;;) {
    const ssize_t r = ::recv(c->fd, buffer, sizeof buffer, 0);
    if (r == 0) return false;
    if (r < 0) return errno == EAGAIN || errno == EINTR;
    ssize_t w = ::send(c->fd, buffer, static_cast<std::size_t>(r), MSG_NOSIGNAL);
    if (w < 0) {
      if (errno != EAGAIN) return false;
      w = 0;
    }
    if (w < r) {
      c->pending.emplace_back(buffer + w, buffer + r);
      c->offset = 0;
      return true;
    }
    if (static_cast<std::size_t>(r) < sizeof buffer) return true;  // drained: wait for an edge
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 0;
  const int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(lfd, SOMAXCONN) != 0) {
    std::perror("listen");
    return 1;
  }
  socklen_t len = sizeof addr;
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
  std::fflush(stdout);

  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // the listener
  ::epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  epoll_event events[256];
  for (;;) {
    const int n = ::epoll_wait(ep, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      auto* c = static_cast<Conn*>(events[i].data.ptr);
      if (c == nullptr) {
        for (;;) {
          const int fd = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) break;
          ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event cev{};
          cev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
          cev.data.ptr = new Conn{fd, {}, 0};
          ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
      if (events[i].events & (EPOLLERR | EPOLLHUP)) {
        closeConn(c);
        continue;
      }
      if (!flush(c)) continue;  // still refused: wait for the next EPOLLOUT edge
      if (!echo(c)) closeConn(c);
    }
  }
}
