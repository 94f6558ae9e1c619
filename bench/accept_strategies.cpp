// Two ways to spread accepted connections over N event loops (threads), on raw epoll, so that only
// the strategy differs:
//   reuseport  every loop has its own SO_REUSEPORT listener on the port; the kernel picks the loop
//   handoff    loop 0 owns the only listener and hands each accepted descriptor to the next loop,
//              round-robin, through that loop's pipe
// Echoes what it reads (small messages: the connect-rate and ping-pong loads of bench/loadgen).
//   accept_strategies reuseport|handoff THREADS   prints "listening on 127.0.0.1:PORT"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Loop {
  int epoll = -1;
  int listener = -1;              // reuseport: every loop; handoff: loop 0 only
  int pipeRead = -1, pipeWrite = -1;  // handoff: descriptors given to this loop
};

bool handoff = false;
std::vector<Loop> loops;
std::atomic<unsigned> nextLoop{0};

void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

int makeListener(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("bind");
  if (::listen(fd, SOMAXCONN) != 0) die("listen");
  return fd;
}

std::uint16_t portOf(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

void watch(int epoll, int fd) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.fd = fd;
  if (::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl");
}

void acceptAll(Loop& self) {
  for (;;) {
    const int fd = ::accept4(self.listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN (or a transient error: the next edge retries)
    if (!handoff) {
      watch(self.epoll, fd);
      continue;
    }
    Loop& target = loops[nextLoop++ % loops.size()];
    if (&target == &self) {
      watch(self.epoll, fd);
    } else if (::write(target.pipeWrite, &fd, sizeof fd) != sizeof fd) {
      ::close(fd);
    }
  }
}

void adoptHandedOff(Loop& self) {
  int fds[256];
  for (;;) {
    const ssize_t n = ::read(self.pipeRead, fds, sizeof fds);
    if (n <= 0) return;
    for (ssize_t i = 0; i < n / static_cast<ssize_t>(sizeof(int)); ++i) watch(self.epoll, fds[i]);
  }
}

void echo(int fd) {
  char buffer[16384];
  for (;;) {
    const ssize_t r = ::recv(fd, buffer, sizeof buffer, 0);
    if (r > 0) {
      if (::send(fd, buffer, static_cast<std::size_t>(r), MSG_NOSIGNAL) == r) continue;
    } else if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
      return;
    }
    ::close(fd);  // EOF, an error, or a short write (not expected for these small messages)
    return;
  }
}

void run(Loop& self) {
  epoll_event events[128];
  for (;;) {
    const int n = ::epoll_wait(self.epoll, events, 128, -1);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == self.listener) {
        acceptAll(self);
      } else if (fd == self.pipeRead) {
        adoptHandedOff(self);
      } else {
        echo(fd);
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: accept_strategies reuseport|handoff THREADS\n");
    return 2;
  }
  handoff = std::string(argv[1]) == "handoff";
  loops.resize(static_cast<std::size_t>(std::max(1, std::atoi(argv[2]))));
  std::uint16_t port = 0;
  for (std::size_t i = 0; i < loops.size(); ++i) {
    Loop& loop = loops[i];
    loop.epoll = ::epoll_create1(EPOLL_CLOEXEC);
    if (!handoff || i == 0) {
      loop.listener = makeListener(port);
      port = portOf(loop.listener);
      watch(loop.epoll, loop.listener);
    }
    if (handoff) {
      int p[2];
      if (::pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) die("pipe2");
      loop.pipeRead = p[0];
      loop.pipeWrite = p[1];
      watch(loop.epoll, loop.pipeRead);
    }
  }
  std::printf("listening on 127.0.0.1:%u\n", port);
  std::fflush(stdout);
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < loops.size(); ++i) threads.emplace_back(run, std::ref(loops[i]));
  run(loops[0]);
}
