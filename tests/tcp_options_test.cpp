// The per-connection options beyond the reference reach the kernel: noDelay (on by default, as
// the reference's sockets), keepalive and TCP_USER_TIMEOUT, on connected and accepted sockets
// alike. Read back with getsockopt, since a setting the kernel never saw fails nothing visibly.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "support/loop_fixture.hpp"

namespace test {
namespace {

using TcpOptions = LoopFixture;

int intOption(int fd, int level, int name) {
  int value = -1;
  socklen_t len = sizeof value;
  ::getsockopt(fd, level, name, &value, &len);
  return value;
}

TEST_F(TcpOptions, NoDelayIsOnByDefaultAndKeepAliveAndUserTimeoutAreApplied) {
  auto server = ts::TCPServerSocket::listen(
      loop, 0,
      {.localAddress = "127.0.0.1",
       .connection = {.noDelay = false,
                      .keepAlive = {.enabled = true, .idle = 7s, .interval = 3s, .count = 4}}});
  ts::TCPSocket accepted;
  server.onconnect([&](const ts::TCPServerSocketEvent& e) { accepted = e.socket; });
  auto plain = ts::TCPSocket::open(loop, "127.0.0.1", server.localPort());
  auto tuned = ts::TCPSocket::open(loop, "127.0.0.1", server.localPort(),
                                   {.connection = {.userTimeout = 4500ms}});
  Recorder plainEvents(plain);
  Recorder tunedEvents(tuned);
  ASSERT_TRUE(runUntil(
      loop, [&] { return plainEvents.has("open") && tunedEvents.has("open") && accepted; }));
  EXPECT_EQ(intOption(plain.nativeHandle(), IPPROTO_TCP, TCP_NODELAY), 1);
  EXPECT_EQ(intOption(plain.nativeHandle(), SOL_SOCKET, SO_KEEPALIVE), 0);
  EXPECT_EQ(intOption(tuned.nativeHandle(), IPPROTO_TCP, TCP_USER_TIMEOUT), 4500);
  const int fd = accepted.nativeHandle();
  EXPECT_EQ(intOption(fd, IPPROTO_TCP, TCP_NODELAY), 0);
  EXPECT_EQ(intOption(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
  EXPECT_EQ(intOption(fd, IPPROTO_TCP, TCP_KEEPIDLE), 7);
  EXPECT_EQ(intOption(fd, IPPROTO_TCP, TCP_KEEPINTVL), 3);
  EXPECT_EQ(intOption(fd, IPPROTO_TCP, TCP_KEEPCNT), 4);
}

// A program the user starts (fork + exec, or the CLI's --exec) must not inherit them: a child
// holding a copy keeps the port bound and a closed connection open (no FIN while a copy lives).
TEST_F(TcpOptions, EveryDescriptorIsClosedOnExec) {
  auto server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  ts::TCPSocket accepted;
  server.onconnect([&](const ts::TCPServerSocketEvent& e) { accepted = e.socket; });
  auto client = ts::TCPSocket::open(loop, "127.0.0.1", server.localPort());
  ASSERT_TRUE(runUntil(loop, [&] { return static_cast<bool>(accepted); }));
  for (const int fd : {server.nativeHandle(), client.nativeHandle(), accepted.nativeHandle()}) {
    ASSERT_GE(fd, 0);
    EXPECT_NE(::fcntl(fd, F_GETFD) & FD_CLOEXEC, 0) << "descriptor " << fd;
  }
}

}  // namespace
}  // namespace test
