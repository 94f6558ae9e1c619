// Load generator for the echo benchmarks: one thread, raw epoll, every echoed byte verified.
//   loadgen MODE PORT [--conns N] [--seconds S] [--size BYTES] [--depth D] [--hold S]
//                     [--source 127.0.0.X]
// MODE: pingpong   each connection sends one message and waits for its echo (latency p50/p99)
//       pipelined  each connection keeps DEPTH messages in flight
//       bulk       each connection streams SIZE-byte writes, up to 1 MiB in flight
//       connect    connect, 1-byte echo, close; N such cycles in parallel
//       idle       open N connections, one echo each, hold them for --hold seconds
// Prints one JSON line: {"mode":..,"messages":..,"bytes":..,"seconds":..,"p50_us":..,"p99_us":..}
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string mode;
  int port = 0;
  int conns = 50;
  double seconds = 5;
  std::size_t size = 64;
  int depth = 16;
  double hold = 5;
};

// Byte i of connection c's stream: the echo must give back exactly this.
inline unsigned char pattern(std::uint64_t i, int c) {
  return static_cast<unsigned char>((i * 131u) ^ static_cast<unsigned>(c) ^ (i >> 8));
}

struct Conn {
  int fd = -1;
  int id = 0;
  std::uint64_t sent = 0;      // bytes written
  std::uint64_t received = 0;  // bytes echoed and verified
  std::uint64_t target = 0;    // write up to here
  Clock::time_point sentAt;    // pingpong: when the current message went out
  bool connecting = false;
};

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "loadgen: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

std::string gSource;  // --source: bind this local address first (more ports: 127.0.0.x each)

int connectTo(int port, bool blocking) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (blocking ? 0 : SOCK_NONBLOCK), 0);
  if (fd < 0) die("socket");
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!gSource.empty()) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, gSource.c_str(), &local.sin_addr);
    // The port is picked at connect() time: bind-time picking scans every bound port (slow).
    ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) die("bind source");
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS)
    die("connect");
  return fd;
}

class Runner {
 public:
  explicit Runner(const Options& o) : o_(o), ep_(::epoll_create1(EPOLL_CLOEXEC)) {}

  int run() {
    if (o_.mode == "idle") return idle();
    const bool connectMode = o_.mode == "connect";
    conns_.resize(static_cast<std::size_t>(o_.conns));
    for (int i = 0; i < o_.conns; ++i) open(conns_[static_cast<std::size_t>(i)], i);
    const auto start = Clock::now();
    const auto end = start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(o_.seconds));
    std::vector<epoll_event> events(1024);
    while (Clock::now() < end) {
      const int n = ::epoll_wait(ep_, events.data(), static_cast<int>(events.size()), 100);
      for (int i = 0; i < n; ++i) handle(conns_[events[i].data.u32], events[i].events, connectMode);
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    std::sort(latencies_.begin(), latencies_.end());
    auto pct = [&](double p) {
      return latencies_.empty() ? 0.0
                                : latencies_[static_cast<std::size_t>(
                                      p * static_cast<double>(latencies_.size() - 1))];
    };
    std::printf(
        "{\"mode\":\"%s\",\"messages\":%llu,\"bytes\":%llu,\"seconds\":%.3f,\"p50_us\":%.1f,\"p99_"
        "us\":%.1f}\n",
        o_.mode.c_str(), static_cast<unsigned long long>(messages_),
        static_cast<unsigned long long>(bytes_), elapsed, pct(0.50), pct(0.99));
    return 0;
  }

 private:
  void open(Conn& c, int id) {
    c = Conn{};
    c.id = id;
    c.fd = connectTo(o_.port, false);
    c.connecting = true;
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN;
    ev.data.u32 = static_cast<std::uint32_t>(id);
    if (::epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev) != 0) die("epoll_ctl");
  }

  std::uint64_t inFlightLimit() const {
    if (o_.mode == "pingpong") return o_.size;
    if (o_.mode == "pipelined") return o_.size * static_cast<std::uint64_t>(o_.depth);
    if (o_.mode == "bulk") return 1 << 20;
    return 1;  // connect
  }

  void handle(Conn& c, std::uint32_t what, bool connectMode) {
    if (c.connecting && (what & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        errno = err;
        die("connect");
      }
      c.connecting = false;
      pump(c);
    }
    if (what & EPOLLIN) {
      ssize_t n;
      while ((n = ::recv(c.fd, buf_, sizeof buf_, 0)) > 0) {
        for (ssize_t k = 0; k < n; ++k) {
          if (static_cast<unsigned char>(buf_[k]) !=
              pattern(c.received + static_cast<std::uint64_t>(k), c.id)) {
            std::fprintf(
                stderr, "loadgen: echo mismatch on connection %d at byte %llu\n", c.id,
                static_cast<unsigned long long>(c.received + static_cast<std::uint64_t>(k)));
            std::exit(2);
          }
        }
        const std::uint64_t before = c.received;
        c.received += static_cast<std::uint64_t>(n);
        bytes_ += static_cast<std::uint64_t>(n);
        const std::uint64_t m = (o_.mode == "bulk" || o_.mode == "connect") ? 1 : o_.size;
        messages_ += c.received / m - before / m;
        if (o_.mode == "pingpong" && c.received == c.sent) {
          latencies_.push_back(
              std::chrono::duration<double, std::micro>(Clock::now() - c.sentAt).count());
        }
      }
      if (n == 0 || (n < 0 && errno != EAGAIN)) {
        std::fprintf(stderr, "loadgen: server closed connection %d\n", c.id);
        std::exit(3);
      }
      if (connectMode && c.received == 1) {
        ::close(c.fd);  // one cycle done: a new connection takes its place
        open(c, c.id);
        return;
      }
      pump(c);
    } else if (what & EPOLLOUT) {
      pump(c);
    }
  }

  // Writes until the in-flight limit (echo not yet received) is reached.
  void pump(Conn& c) {
    if (c.connecting) return;
    const std::uint64_t limit = inFlightLimit();
    bool blocked = false;
    while (c.sent - c.received < limit) {
      if (o_.mode == "pingpong" && c.sent != c.received) break;
      if (o_.mode == "connect" && c.sent == 1) break;
      std::uint64_t chunk = std::min<std::uint64_t>(limit - (c.sent - c.received), sizeof out_);
      if (o_.mode == "pingpong") chunk = std::min<std::uint64_t>(chunk, o_.size);
      // pipelined: the whole free window (up to DEPTH messages) in one write, as a pipelining
      // client does
      if (o_.mode == "bulk") chunk = std::min<std::uint64_t>(chunk, o_.size);
      for (std::uint64_t k = 0; k < chunk; ++k)
        out_[k] = static_cast<char>(pattern(c.sent + k, c.id));
      const ssize_t n = ::send(c.fd, out_, chunk, MSG_NOSIGNAL);
      if (n <= 0) {
        blocked = true;
        break;
      }
      if (o_.mode == "pingpong") c.sentAt = Clock::now();
      c.sent += static_cast<std::uint64_t>(n);
    }
    epoll_event ev{};
    ev.events = EPOLLIN | (blocked ? EPOLLOUT : 0u);
    ev.data.u32 = static_cast<std::uint32_t>(c.id);
    ::epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
  }

  int idle() {
    std::vector<int> fds;
    const auto start = Clock::now();
    for (int i = 0; i < o_.conns; ++i) {
      const int fd = connectTo(o_.port, true);
      const char b = 'i';
      if (::send(fd, &b, 1, MSG_NOSIGNAL) != 1) die("send");
      char r = 0;
      if (::recv(fd, &r, 1, 0) != 1 || r != 'i') die("idle echo");
      fds.push_back(fd);
    }
    const double opened = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("{\"mode\":\"idle\",\"connections\":%d,\"open_seconds\":%.3f}\n", o_.conns, opened);
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::duration<double>(o_.hold));
    for (const int fd : fds) ::close(fd);
    return 0;
  }

  Options o_;
  int ep_;
  std::vector<Conn> conns_;
  std::vector<double> latencies_;
  std::uint64_t messages_ = 0;
  std::uint64_t bytes_ = 0;
  char buf_[65536];
  char out_[65536];
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(
        stderr,
        "usage: loadgen MODE PORT [--conns N] [--seconds S] [--size B] [--depth D] [--hold S]\n");
    return 2;
  }
  Options o;
  o.mode = argv[1];
  o.port = std::atoi(argv[2]);
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* v = argv[i + 1];
    if (flag == "--conns")
      o.conns = std::atoi(v);
    else if (flag == "--seconds")
      o.seconds = std::atof(v);
    else if (flag == "--size")
      o.size = static_cast<std::size_t>(std::atol(v));
    else if (flag == "--depth")
      o.depth = std::atoi(v);
    else if (flag == "--hold")
      o.hold = std::atof(v);
    else if (flag == "--source")
      gSource = v;
    else {
      std::fprintf(stderr, "loadgen: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  return Runner(o).run();
}
