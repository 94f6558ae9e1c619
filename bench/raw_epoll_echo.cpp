// The baseline: a minimal echo server on raw epoll — the practical limit the benchmark compares
// against. Edge-triggered, registered once (no epoll_ctl per message), one shared 64 KiB read
// buffer; what the kernel refuses to take is kept per connection and reading pauses until it is
// out.
//   raw_epoll_echo [PORT]   prints "listening on 127.0.0.1:PORT"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

struct Conn {
  int fd;
  std::vector<char> pending;  // refused by the kernel; sent from `offset`
  std::size_t offset = 0;
};

char buffer[65536];

void closeConn(Conn* c) {
  ::close(c->fd);
  delete c;
}

// Flushes what is pending; true when nothing is left.
bool flush(Conn* c) {
  while (c->offset < c->pending.size()) {
    const ssize_t w =
        ::send(c->fd, c->pending.data() + c->offset, c->pending.size() - c->offset, MSG_NOSIGNAL);
    if (w <= 0) return false;
    c->offset += static_cast<std::size_t>(w);
  }
  c->pending.clear();
  c->offset = 0;
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
      c->pending.assign(buffer + w, buffer + r);
      c->offset = 0;
      return true;
    }
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
