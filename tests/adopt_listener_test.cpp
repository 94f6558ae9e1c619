// TCPServerSocket::adopt: a server on a descriptor that is already listening (systemd's socket
// activation, a handover between an old and a new process). Connections that waited in the
// kernel's queue before the adoption are served: a restart through a handed-over descriptor
// refuses nobody.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/loop_fixture.hpp"

namespace test {
namespace {

using AdoptListener = LoopFixture;

// A listening socket made with plain POSIX calls, as systemd would make it (blocking, inherited).
int plainListener(std::uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, 16) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    throw std::runtime_error("plainListener");
  }
  port = ntohs(addr.sin_port);
  return fd;
}

bool isOpen(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

TEST_F(AdoptListener, ServesConnectionsThatWaitedInTheQueueBeforeIt) {
  std::uint16_t port = 0;
  const int fd = plainListener(port);
  // Connected while nobody accepts: the kernel completes the handshake and queues them.
  std::vector<RawConn> early;
  for (int i = 0; i < 3; ++i) early.push_back(RawConn::connectTo("127.0.0.1", port));
  auto server = ts::TCPServerSocket::adopt(loop, fd);
  EXPECT_EQ(server.localPort(), port);
  EXPECT_EQ(server.nativeHandle(), fd);
  EXPECT_NE(::fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_NE(::fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
  int accepted = 0;
  server.onconnect([&](const ts::TCPServerSocketEvent& e) {
    ++accepted;
    e.socket.ondata(
        [](const ts::TCPSocketEvent& d) { d.target.send(std::get<std::string_view>(d.data)); });
  });
  for (auto& c : early) c.writeAll("ping");
  ASSERT_TRUE(runUntil(loop, [&] {
    int answered = 0;
    for (auto& c : early) {
      c.pump();
      answered += c.received() == "ping";
    }
    return answered == 3;
  }));
  EXPECT_EQ(accepted, 3);
  server.close();
  EXPECT_FALSE(isOpen(fd)) << "the descriptor became the server's";
}

TEST_F(AdoptListener, WhatIsNotAListeningTcpSocketIsRefusedAndLeftAlone) {
  int pipeFds[2];
  ASSERT_EQ(::pipe(pipeFds), 0);
  const int unbound = ::socket(AF_INET, SOCK_STREAM, 0);
  const int udp = ::socket(AF_INET, SOCK_DGRAM, 0);
  for (const int fd : {pipeFds[0], unbound, udp, -1, 1000}) {
    EXPECT_THROW(ts::TCPServerSocket::adopt(loop, fd), ts::TypeError) << fd;
  }
  for (const int fd : {pipeFds[0], pipeFds[1], unbound, udp}) {
    EXPECT_TRUE(isOpen(fd)) << "descriptor " << fd << " is still the caller's";
    ::close(fd);
  }
}

TEST_F(AdoptListener, OptionsApplyToTheAdoptedListener) {
  std::uint16_t port = 0;
  const int fd = plainListener(port);
  ts::ServerSocketOptions options;
  options.proxyProtocol.mode = ts::ProxyProtocolOptions::Mode::Required;
  auto server = ts::TCPServerSocket::adopt(loop, fd, options);
  std::string host;
  server.onconnect([&](const ts::TCPServerSocketEvent& e) { host = e.socket.host(); });
  RawConn client = RawConn::connectTo("127.0.0.1", port);
  client.writeAll("PROXY TCP4 192.0.2.9 198.51.100.7 1000 443\r\n");
  ASSERT_TRUE(runUntil(loop, [&] { return !host.empty(); }));
  EXPECT_EQ(host, "192.0.2.9");
}

}  // namespace
}  // namespace test
