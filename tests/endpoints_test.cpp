// Beyond the reference: a socket's two ends (remoteAddress/remotePort, localAddress/localPort),
// the bytes it moved (bytesRead/bytesWritten), and binding a client to a local address
// (SocketOptions::localAddress/localPort).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "support/fake_resolver.hpp"
#include "support/test_support.hpp"

namespace test {
namespace {

// An echo server on `address`, keeping its last accepted socket.
struct EchoServer {
  explicit EchoServer(ts::EventLoop& loop, const std::string& address = "127.0.0.1")
      : server(ts::TCPServerSocket::listen(loop, 0, {.localAddress = address})) {
    server.onconnect([this](const ts::TCPServerSocketEvent& e) {
      accepted = e.socket;
      e.socket.ondata(
          [](const ts::TCPSocketEvent& d) { d.target.send(std::get<std::string_view>(d.data)); });
    });
  }
  ts::TCPServerSocket server;
  ts::TCPSocket accepted;
};

// A port nobody listens on or is bound to right now, on `address`.
std::uint16_t freePort(const char* address) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  ::inet_pton(AF_INET, address, &a.sin_addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t size = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &size);
  ::close(fd);
  return ntohs(a.sin_port);
}

// A port free on every address of both families: what a wildcard bind needs. (A port free on
// 127.0.0.1 may still be held on 127.0.0.10 by a TIME_WAIT of another test, which makes a
// wildcard bind fail with EADDRINUSE.)
std::uint16_t freeWildcardPort() {
  const int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
  const int no = 0;
  ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof no);
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t size = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &size);
  ::close(fd);
  return ntohs(a.sin6_port);
}

TEST(Endpoints, BothEndsAreKnownOnBothSidesAndNothingBeforeConnecting) {
  ts::EventLoop loop;
  EchoServer echo(loop);
  auto client = ts::TCPSocket::open(loop, "127.0.0.1", echo.server.localPort());
  EXPECT_EQ(client.remoteAddress(), "");
  EXPECT_EQ(client.remotePort(), 0);
  EXPECT_EQ(client.localAddress(), "");
  EXPECT_EQ(client.localPort(), 0);
  Recorder events(client);
  ASSERT_TRUE(runUntil(loop, [&] { return events.has("open") && echo.accepted; }));
  EXPECT_EQ(client.remoteAddress(), "127.0.0.1");
  EXPECT_EQ(client.remotePort(), echo.server.localPort());
  EXPECT_EQ(client.localAddress(), "127.0.0.1");
  EXPECT_NE(client.localPort(), 0);
  EXPECT_EQ(echo.accepted.remoteAddress(), "127.0.0.1");
  EXPECT_EQ(echo.accepted.remotePort(), client.localPort());
  EXPECT_EQ(echo.accepted.localAddress(), "127.0.0.1");
  EXPECT_EQ(echo.accepted.localPort(), echo.server.localPort());
}

TEST(Endpoints, AnIpv4PeerOfADualStackServerIsShownAsIpv4) {
  ts::EventLoop loop;
  EchoServer echo(loop, "::");
  auto client = ts::TCPSocket::open(loop, "127.0.0.1", echo.server.localPort());
  ASSERT_TRUE(runUntil(loop, [&] { return bool(echo.accepted); }));
  EXPECT_EQ(echo.accepted.remoteAddress(), "127.0.0.1");
  EXPECT_EQ(echo.accepted.localAddress(), "127.0.0.1");
}

TEST(Endpoints, ByteCountersCountWhatMovedAndOutliveTheClose) {
  ts::EventLoop loop;
  EchoServer echo(loop);
  auto client = ts::TCPSocket::open(loop, "127.0.0.1", echo.server.localPort());
  Recorder events(client);
  client.onopen([](const ts::TCPSocketEvent& e) { e.target.send(std::string_view("hello")); });
  ASSERT_TRUE(runUntil(loop, [&] { return events.received == "hello"; }));
  client.close();
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  EXPECT_EQ(client.bytesWritten(), 5u);
  EXPECT_EQ(client.bytesRead(), 5u);
  EXPECT_EQ(echo.accepted.bytesRead(), 5u);
  EXPECT_EQ(echo.accepted.bytesWritten(), 5u);
  // After `close` the descriptor may still linger until the peer's FIN; then it is gone.
  EXPECT_TRUE(runUntil(loop, [&] { return client.localPort() == 0; }))
      << "the descriptor was never closed";
  EXPECT_EQ(client.bytesRead(), 5u);
}

TEST(Endpoints, AClientBindsTheLocalAddressAndPortItIsGiven) {
  ts::EventLoop loop;
  EchoServer echo(loop, "0.0.0.0");
  const std::uint16_t port = freePort("127.0.0.3");
  auto client = ts::TCPSocket::open(loop, "127.0.0.1", echo.server.localPort(),
                                    {.localAddress = "127.0.0.3", .localPort = port});
  Recorder events(client);
  ASSERT_TRUE(runUntil(loop, [&] { return events.has("open") && echo.accepted; }))
      << (events.events.empty() ? "" : events.events.front());
  EXPECT_EQ(client.localAddress(), "127.0.0.3");
  EXPECT_EQ(client.localPort(), port);
  EXPECT_EQ(echo.accepted.remoteAddress(), "127.0.0.3");
  EXPECT_EQ(echo.accepted.remotePort(), port);
}

TEST(Endpoints, ALocalAddressNotOnThisHostFailsTheConnectionWithItsCause) {
  ts::EventLoop loop;
  EchoServer echo(loop);
  // 192.0.2.0/24 is TEST-NET-1: never an address of a host.
  auto client = ts::TCPSocket::open(loop, "127.0.0.1", echo.server.localPort(),
                                    {.localAddress = "192.0.2.1"});
  Recorder events(client);
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  ASSERT_EQ(events.events.size(), 2u);
  EXPECT_EQ(events.events[0].rfind("error:ConnectionRefusedError", 0), 0u) << events.events[0];
  EXPECT_EQ(events.events[1], "close");
}

TEST(Endpoints, ALocalAddressOfAnotherFamilyIsNotUsedForThePeer) {
  ts::EventLoop loop;
  EchoServer echo(loop);
  auto client =
      ts::TCPSocket::open(loop, "127.0.0.1", echo.server.localPort(), {.localAddress = "::1"});
  Recorder events(client);
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  EXPECT_EQ(events.events.front().rfind("error:NetworkError", 0), 0u) << events.events.front();
  EXPECT_FALSE(echo.accepted) << "connected from an address of the wrong family";
}

// Found by an attack: skipping an address of the other family replaced the real failure of
// the address that was tried, so a refused connection was reported as NetworkError.
TEST(Endpoints, AnAddressSkippedForItsFamilyDoesNotHideTheFailureOfTheOneTried) {
  ts::EventLoop loop;
  FakeResolver dns(loop);
  dns.answer("dual.test", {"127.0.0.1", "::1"});
  const std::uint16_t closed = freePort("127.0.0.1");
  auto client = ts::TCPSocket::open(loop, "dual.test", closed, {.localAddress = "127.0.0.1"});
  Recorder events(client);
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  EXPECT_EQ(events.events.front().rfind("error:ConnectionRefusedError", 0), 0u)
      << events.events.front();
}

// An explicit wildcard is an address of one family, as documented; a port alone is not.
TEST(Endpoints, AnExplicitWildcardKeepsItsFamilyAndAPortAloneFitsEither) {
  ts::EventLoop loop;
  EchoServer echo(loop, "::1");
  auto wrongFamily =
      ts::TCPSocket::open(loop, "::1", echo.server.localPort(), {.localAddress = "0.0.0.0"});
  Recorder refused(wrongFamily);
  ASSERT_TRUE(runUntil(loop, [&] { return refused.closed(); }));
  EXPECT_EQ(refused.events.front().rfind("error:NetworkError", 0), 0u) << refused.events.front();
  const std::uint16_t port = freeWildcardPort();
  auto portAlone = ts::TCPSocket::open(loop, "::1", echo.server.localPort(), {.localPort = port});
  Recorder opened(portAlone);
  ASSERT_TRUE(runUntil(loop, [&] { return opened.has("open"); }))
      << (opened.events.empty() ? "" : opened.events.front());
  EXPECT_EQ(portAlone.localAddress(), "::1");
  EXPECT_EQ(portAlone.localPort(), port);
}

TEST(Endpoints, AnIpv6OnlyServerTakesNoIpv4ClientsAndLeavesThePortToAnIpv4One) {
  ts::EventLoop loop;
  // A port free in both families (port 0 under ipv6Only could pick one that an IPv4 client of a
  // parallel test holds, and the IPv4 listen below would then fail for that reason).
  auto v6 = ts::TCPServerSocket::listen(loop, freeWildcardPort(),
                                        {.localAddress = "::", .ipv6Only = true});
  int connects = 0;
  v6.onconnect([&](const ts::TCPServerSocketEvent&) { ++connects; });
  auto overIpv4 = ts::TCPSocket::open(loop, "127.0.0.1", v6.localPort());
  Recorder refused(overIpv4);
  ASSERT_TRUE(runUntil(loop, [&] { return refused.closed(); }));
  EXPECT_EQ(refused.events.front().rfind("error:ConnectionRefusedError", 0), 0u)
      << refused.events.front();
  auto overIpv6 = ts::TCPSocket::open(loop, "::1", v6.localPort());
  ASSERT_TRUE(runUntil(loop, [&] { return connects == 1; }));
  // The IPv4 side of the port is free: an IPv4 server may have it.
  EXPECT_NO_THROW(ts::TCPServerSocket::listen(loop, v6.localPort(), {.localAddress = "0.0.0.0"}));
  // Without the option, "::" holds both.
  auto dual = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "::"});
  EXPECT_THROW(ts::TCPServerSocket::listen(loop, dual.localPort(), {.localAddress = "0.0.0.0"}),
               ts::AddressInUseError);
}

TEST(Endpoints, AMalformedLocalAddressIsRefusedByOpen) {
  ts::EventLoop loop;
  EXPECT_THROW(ts::TCPSocket::open(loop, "127.0.0.1", 9, {.localAddress = "not-an-address"}),
               ts::InvalidAddressError);
  // Asio reads an address only up to a NUL: the rest must not be ignored.
  EXPECT_THROW(ts::TCPSocket::open(loop, "127.0.0.1", 9,
                                   {.localAddress = std::string("127.0.0.1\0junk", 14)}),
               ts::InvalidAddressError);
}

}  // namespace
}  // namespace test
