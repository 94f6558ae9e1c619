#include "test_support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <thread>
#include <utility>

namespace test {

bool runUntil(ts::EventLoop& loop, const std::function<bool()>& done,
              std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (loop.runFor(2ms) == 0) std::this_thread::sleep_for(1ms);  // out of work: don't spin
  }
  return true;
}

void runFor(ts::EventLoop& loop, std::chrono::milliseconds duration) {
  const auto deadline = std::chrono::steady_clock::now() + duration;
  while (std::chrono::steady_clock::now() < deadline) {
    if (loop.runFor(2ms) == 0) std::this_thread::sleep_for(1ms);
  }
}

Recorder::Recorder(ts::TCPSocket& socket) { attach(socket); }

void Recorder::attach(ts::TCPSocket& socket) {
  for (auto type :
       {ts::SocketEventType::Open, ts::SocketEventType::Data, ts::SocketEventType::Drain,
        ts::SocketEventType::Error, ts::SocketEventType::Close, ts::SocketEventType::End}) {
    socket.addEventListener(type, [this](const ts::TCPSocketEvent& e) {
      states.push_back(e.target.readyState());
      if (e.type == ts::SocketEventType::Data) {
        ++dataEvents;
        if (auto* s = std::get_if<std::string_view>(&e.data)) {
          ++stringData;
          received.append(*s);
        } else if (auto* b = std::get_if<ts::ArrayBuffer>(&e.data)) {
          ++bufferData;
          received.append(reinterpret_cast<const char*>(b->data()), b->size());
        }
        return;
      }
      if (!std::holds_alternative<std::monostate>(e.data)) ++nonEmptyData;
      if (e.type == ts::SocketEventType::Drain)
        bufferedAtDrain.push_back(e.target.bufferedAmount());
      std::string name(ts::toString(e.type));
      if (e.type == ts::SocketEventType::Error) {
        name += ":" + std::string(e.name) + ":" + std::string(e.message);
      }
      events.push_back(name);
    });
  }
}

bool Recorder::has(const std::string& event) const { return count(event) > 0; }

int Recorder::count(const std::string& event) const {
  return static_cast<int>(std::count_if(events.begin(), events.end(), [&](const std::string& e) {
    return e == event || e.rfind(event + ":", 0) == 0;
  }));
}

std::vector<std::uint8_t> sequence(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(i % 256);
  return v;
}

std::string asString(const std::vector<std::uint8_t>& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

std::vector<std::uint8_t> randomBytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> v(n);
  for (auto& b : v) b = static_cast<std::uint8_t>(rng());
  return v;
}

namespace {
void setNonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

socklen_t makeAddress(const char* address, std::uint16_t port, sockaddr_storage& out) {
  out = {};
  if (std::string(address).find(':') != std::string::npos) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&out);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    ::inet_pton(AF_INET6, address, &a->sin6_addr);
    return sizeof(sockaddr_in6);
  }
  auto* a = reinterpret_cast<sockaddr_in*>(&out);
  a->sin_family = AF_INET;
  a->sin_port = htons(port);
  ::inet_pton(AF_INET, address, &a->sin_addr);
  return sizeof(sockaddr_in);
}
}  // namespace

RawListener::RawListener(const char* address, int receiveBuffer) : receiveBuffer_(receiveBuffer) {
  sockaddr_storage addr;
  const socklen_t len = makeAddress(address, 0, addr);
  fd_ = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (receiveBuffer_ > 0) {
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receiveBuffer_, sizeof receiveBuffer_);
  }
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::listen(fd_, 128) != 0) {
    throw std::runtime_error("RawListener: cannot listen");
  }
  setNonBlocking(fd_);
  sockaddr_storage bound{};
  socklen_t boundLen = sizeof bound;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &boundLen);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
}

RawListener::~RawListener() { close(); }

void RawListener::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

int RawListener::tryAccept() {
  const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0 && receiveBuffer_ > 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receiveBuffer_, sizeof receiveBuffer_);
  }
  return fd;
}

RawConn::~RawConn() { close(); }

RawConn::RawConn(RawConn&& other) noexcept { *this = std::move(other); }

RawConn& RawConn::operator=(RawConn&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    received_ = std::move(other.received_);
    eof_ = other.eof_;
    failed_ = other.failed_;
  }
  return *this;
}

RawConn RawConn::connectTo(const char* address, std::uint16_t port) {
  sockaddr_storage addr;
  const socklen_t len = makeAddress(address, port, addr);
  const int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("RawConn: cannot connect");
  }
  setNonBlocking(fd);
  return RawConn(fd);
}

void RawConn::pump() {
  if (fd_ < 0 || eof_ || failed_) return;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      received_.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) eof_ = true;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) failed_ = true;
    return;
  }
}

void RawConn::writeAll(const std::string& data) {
  std::size_t off = 0;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (off < data.size() && std::chrono::steady_clock::now() < deadline) {
    const ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, 10);
    } else {
      throw std::runtime_error("RawConn: write failed");
    }
  }
}

void RawConn::shutdownWrite() { ::shutdown(fd_, SHUT_WR); }

void RawConn::reset() {
  linger l{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close();
}

void RawConn::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

RawConn acceptWhenOpen(ts::EventLoop& loop, RawListener& listener, const Recorder& events) {
  RawConn peer;
  const bool ok = runUntil(loop, [&] {
    if (!peer.valid()) {
      const int fd = listener.tryAccept();
      if (fd >= 0) peer = RawConn(fd);
    }
    return peer.valid() && events.has("open");
  });
  if (!ok) throw std::runtime_error("acceptWhenOpen: no connection");
  return peer;
}

int openFdCount() {
  int n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd"))
    ++n;
  return n;
}

}  // namespace test
