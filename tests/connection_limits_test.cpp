// A server's connection limits. maxConnections stops accepting (clients wait in the kernel's
// backlog, nobody is accepted and then dropped) and resumes below a low-water mark; sockets still
// lingering after their close count toward it, as they hold descriptors and kernel buffers too.
// maxConnectionsPerAddress resets the extra connection, each source address counted on its own.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "support/close_probes.hpp"
#include "support/loop_fixture.hpp"

namespace test {
namespace {

using ConnectionLimits = LoopFixture;

TEST_F(ConnectionLimits, MaxConnectionsStopsAcceptingAndResumesBelowTheLowWaterMark) {
  auto server =
      ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1", .maxConnections = 10});
  std::vector<ts::TCPSocket> accepted;
  server.onconnect([&](const ts::TCPServerSocketEvent& e) { accepted.push_back(e.socket); });
  std::vector<ts::TCPSocket> clients;
  std::vector<std::unique_ptr<Recorder>> clientEvents;
  for (int i = 0; i < 15; ++i) {
    clients.push_back(ts::TCPSocket::open(loop, "127.0.0.1", server.localPort()));
    clientEvents.push_back(std::make_unique<Recorder>(clients.back()));
  }
  // Clients complete the handshake in the kernel's backlog; the server takes only ten.
  ASSERT_TRUE(runUntil(loop, [&] {
    for (auto& r : clientEvents)
      if (!r->has("open")) return false;
    return accepted.size() == 10;
  }));
  runFor(loop, 50ms);
  EXPECT_EQ(accepted.size(), 10u);
  EXPECT_TRUE(server.stats().paused);
  EXPECT_EQ(server.stats().open, 10u);
  // One closes: 9 open is the low-water mark (90%), so accepting resumes, up to the limit again.
  accepted[0].close();
  ASSERT_TRUE(runUntil(loop, [&] { return accepted.size() == 11; }));
  runFor(loop, 50ms);
  EXPECT_EQ(accepted.size(), 11u);
  EXPECT_EQ(server.stats().open, 10u);
  for (auto& s : accepted) s.close();
  ASSERT_TRUE(runUntil(loop, [&] { return accepted.size() == 15; }));
  EXPECT_GE(server.stats().pausesAtLimit, 2u);
  EXPECT_EQ(server.stats().accepted, 15u);
}

TEST_F(ConnectionLimits, PerAddressLimitResetsTheExtraConnection) {
  auto server = ts::TCPServerSocket::listen(
      loop, 0, {.localAddress = "0.0.0.0", .maxConnectionsPerAddress = 2});
  int connects = 0;
  server.onconnect([&](const ts::TCPServerSocketEvent&) { ++connects; });
  std::vector<ts::TCPSocket> clients;
  std::vector<std::unique_ptr<Recorder>> events;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(ts::TCPSocket::open(loop, "127.0.0.1", server.localPort()));
    events.push_back(std::make_unique<Recorder>(clients.back()));
    ASSERT_TRUE(runUntil(loop, [&] { return events.back()->has("open"); }));
    runFor(loop, 20ms);
  }
  ASSERT_TRUE(runUntil(loop, [&] { return events[2]->closed(); }));
  EXPECT_EQ(connects, 2);
  EXPECT_EQ(server.stats().refusedPerAddress, 1u);
  EXPECT_FALSE(events[0]->closed());
  // Another source address is counted on its own.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in source{};
  source.sin_family = AF_INET;
  source.sin_addr.s_addr = htonl(0x7F000002);  // 127.0.0.2
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof source), 0);
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(server.localPort());
  target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof target), 0);
  RawConn other(fd);
  ASSERT_TRUE(runUntil(loop, [&] { return connects == 3; }));
  EXPECT_EQ(server.stats().refusedPerAddress, 1u);
}

// Regression (second attack on issue 12): sockets lingering after their close held descriptors
// and kernel buffers outside maxConnections: 3,000 in LAST_ACK against a limit of 20.
TEST_F(ConnectionLimits, LingeringSocketsCountTowardMaxConnections) {
  auto server =
      ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1", .maxConnections = 4});
  echoWithBackpressure(server);
  const std::uint16_t port = server.localPort();
  std::vector<RawConn> peers;
  for (int i = 0; i < 16; ++i) {
    peers.push_back(connectSmallWindow(port));
    peers.back().writeAll(std::string(8 * 1024, 'l'));  // an echo the kernel takes whole
    peers.back().shutdownWrite();                       // and never reads
  }
  std::uint32_t most = 0;
  runUntil(
      loop,
      [&] {
        most = std::max<std::uint32_t>(most, server.stats().open + socketsOnPort(port, "09"));
        return false;
      },
      1500ms);
  EXPECT_LE(most, 4u) << "open plus lingering (LAST_ACK) went over maxConnections";
  EXPECT_GT(server.stats().accepted, 0u);
}

}  // namespace
}  // namespace test
