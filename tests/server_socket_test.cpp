// Port of the reference's unit/test_tcpserversocket.js (docs/reference.md §7.3) plus the listen
// rules of §5.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "support/loop_fixture.hpp"
#include "support/pair.hpp"

namespace test {
namespace {

const std::vector<std::uint8_t> kDataArray{0, 255, 254, 0, 1, 2, 3, 0, 255, 255, 254, 0};

class TcpServerSocket : public LoopFixture {
 protected:
  void exchange(Pair& p) {
    // sendDataToServer
    p.serverEvents->received.clear();
    EXPECT_TRUE(p.client.send(kDataArray));
    ASSERT_TRUE(runUntil(loop, [&] { return p.serverEvents->received.size() >= 12; }));
    EXPECT_EQ(p.serverEvents->received, asString(kDataArray));
    // receiveDataFromServer
    p.clientEvents.received.clear();
    EXPECT_TRUE(p.server.send(kDataArray));
    ASSERT_TRUE(runUntil(loop, [&] { return p.clientEvents.received.size() >= 12; }));
    EXPECT_EQ(p.clientEvents.received, asString(kDataArray));
  }
};

// connectSock: the accepted socket's host is the peer's address (bug 937528), no stray events.
TEST_F(TcpServerSocket, ConnectSock) {
  Pair p(loop);
  p.waitConnected();
  EXPECT_EQ(p.server.host(), "127.0.0.1");
  EXPECT_NE(p.server.port(), 0);
  EXPECT_EQ(p.server.binaryType(), ts::BinaryType::ArrayBuffer) << "the server's binaryType";
  EXPECT_FALSE(p.server.ssl());
  runFor(loop, 20ms);
  EXPECT_TRUE(p.serverEvents->events.empty());
  EXPECT_EQ(p.clientEvents.events, std::vector<std::string>{"open"});
}

// sendDataToServer, receiveDataFromServer, serverCloses (twice), data still flows, a new client to
// the closed listener gets an error, then the same port can be listened on again.
TEST_F(TcpServerSocket, CloseStopsListeningOnlyAndPortIsReusable) {
  Pair p(loop);
  p.waitConnected();
  exchange(p);
  const auto port = p.listener.localPort();
  p.listener.close();
  exchange(p);
  p.listener.close();  // idempotent
  runFor(loop, 20ms);
  EXPECT_FALSE(p.clientEvents.has("close")) << "accepted sockets live on";
  EXPECT_FALSE(p.serverEvents->has("close"));

  auto late = ts::TCPSocket::open(loop, "127.0.0.1", port);
  Recorder lateEvents(late);
  ASSERT_TRUE(runUntil(loop, [&] { return lateEvents.closed(); }));
  EXPECT_FALSE(lateEvents.has("open"));
  EXPECT_TRUE(lateEvents.has("error:ConnectionRefusedError"));

  // Re-listen on the very port just closed (the reference re-used 8085).
  auto again = ts::TCPServerSocket::listen(loop, port, {.localAddress = "127.0.0.1"});
  EXPECT_EQ(again.localPort(), port);
  int connects = 0;
  again.onconnect([&](const ts::TCPServerSocketEvent& e) {
    ++connects;
    e.socket.send(std::string_view("hi"));
  });
  auto client = ts::TCPSocket::open(loop, "127.0.0.1", port);
  Recorder clientEvents(client);
  ASSERT_TRUE(runUntil(loop, [&] { return clientEvents.received == "hi"; }));
  EXPECT_EQ(connects, 1);
}

TEST_F(TcpServerSocket, PortZeroGivesRealPort) {
  auto server = ts::TCPServerSocket::listen(loop, 0);
  EXPECT_NE(server.localPort(), 0);
}

TEST_F(TcpServerSocket, ListenOnBusyPortThrowsAddressInUse) {
  auto server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  try {
    ts::TCPServerSocket::listen(loop, server.localPort(), {.localAddress = "127.0.0.1"});
    FAIL() << "listen on a busy port must throw";
  } catch (const ts::AddressInUseError& e) {
    EXPECT_EQ(e.name(), "AddressInUseError");
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(server.localPort())),
              std::string::npos);
  }
}

TEST_F(TcpServerSocket, ListenOnForeignAddressThrowsAddressNotAvailable) {
  EXPECT_THROW(ts::TCPServerSocket::listen(loop, 0, {.localAddress = "192.0.2.1"}),
               ts::AddressNotAvailableError);
}

TEST_F(TcpServerSocket, ListenOnGarbageAddressThrowsInvalidAddress) {
  EXPECT_THROW(ts::TCPServerSocket::listen(loop, 0, {.localAddress = "not an address"}),
               ts::InvalidAddressError);
  EXPECT_THROW(ts::TCPServerSocket::listen(loop, 0, {.localAddress = ""}), ts::InvalidAddressError);
}

TEST_F(TcpServerSocket, DefaultAddressIsAllIpv4Interfaces) {
  auto server = ts::TCPServerSocket::listen(loop, 0);
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ASSERT_EQ(::getsockname(server.nativeHandle(), reinterpret_cast<sockaddr*>(&bound), &len), 0);
  ASSERT_EQ(bound.ss_family, AF_INET);
  EXPECT_EQ(reinterpret_cast<sockaddr_in*>(&bound)->sin_addr.s_addr, htonl(INADDR_ANY));
}

TEST_F(TcpServerSocket, BacklogZeroMeansSystemDefault) {
  // The reference passed 0 straight to listen(); we take it as SOMAXCONN. Many clients connecting
  // at once before the loop accepts any of them must all be accepted.
  auto server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"}, 0);
  std::vector<RawConn> clients;
  for (int i = 0; i < 64; ++i)
    clients.push_back(RawConn::connectTo("127.0.0.1", server.localPort()));
  int accepted = 0;
  std::vector<ts::TCPSocket> sockets;
  server.onconnect([&](const ts::TCPServerSocketEvent& e) {
    ++accepted;
    sockets.push_back(e.socket);
  });
  ASSERT_TRUE(runUntil(loop, [&] { return accepted == 64; }));
}

TEST_F(TcpServerSocket, DualStackListenerAcceptsIpv4AndIpv6) {
  auto server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "::"});
  std::vector<std::string> hosts;
  std::vector<ts::TCPSocket> accepted;
  server.onconnect([&](const ts::TCPServerSocketEvent& e) {
    hosts.push_back(e.socket.host());
    accepted.push_back(e.socket);
  });
  auto v4 = ts::TCPSocket::open(loop, "127.0.0.1", server.localPort());
  ASSERT_TRUE(runUntil(loop, [&] { return hosts.size() == 1; }));
  auto v6 = ts::TCPSocket::open(loop, "::1", server.localPort());
  ASSERT_TRUE(runUntil(loop, [&] { return hosts.size() == 2; }));
  EXPECT_EQ(hosts[0], "127.0.0.1") << "IPv4-mapped peers are shown as IPv4";
  EXPECT_EQ(hosts[1], "::1");
}

TEST_F(TcpServerSocket, AcceptedSocketHasNoDelayAndCloseOnExec) {
  Pair p(loop);
  p.waitConnected();
  int noDelay = 0;
  socklen_t len = sizeof noDelay;
  ASSERT_EQ(::getsockopt(p.server.nativeHandle(), IPPROTO_TCP, TCP_NODELAY, &noDelay, &len), 0);
  EXPECT_NE(noDelay, 0);
  EXPECT_NE(::fcntl(p.server.nativeHandle(), F_GETFD) & FD_CLOEXEC, 0);
}

// The server's error event: the listener dies for a reason other than close().
TEST_F(TcpServerSocket, ErrorWhenListenerDiesUnexpectedly) {
  auto server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  std::vector<std::string> errors;
  server.onerror([&](const ts::TCPServerSocketEvent& e) {
    errors.push_back(std::string(e.name));
    EXPECT_FALSE(e.socket);
  });
  runFor(loop, 10ms);
  // shutdown() on a listening socket makes it readable and every accept() fail with EINVAL.
  ASSERT_EQ(::shutdown(server.nativeHandle(), SHUT_RDWR), 0);
  ASSERT_TRUE(runUntil(loop, [&] { return !errors.empty(); }));
  EXPECT_EQ(errors, std::vector<std::string>{"NetworkError"});
  EXPECT_EQ(server.nativeHandle(), -1) << "the dead listener is closed";
}

// Without a connect listener, an accepted socket stays open (docs/reference.md §5.2, era C).
TEST_F(TcpServerSocket, AcceptedSocketWithoutListenerStaysOpen) {
  auto server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  auto client = ts::TCPSocket::open(loop, "127.0.0.1", server.localPort());
  Recorder events(client);
  ASSERT_TRUE(runUntil(loop, [&] { return events.has("open"); }));
  runFor(loop, 50ms);
  EXPECT_EQ(events.events, std::vector<std::string>{"open"});
}

// Beyond the reference: SO_REUSEPORT lets several listeners share a port (the --workers mode).
TEST_F(TcpServerSocket, ReusePortListenersShareAPortAndBothAccept) {
  auto first =
      ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1", .reusePort = true});
  auto second = ts::TCPServerSocket::listen(loop, first.localPort(),
                                            {.localAddress = "127.0.0.1", .reusePort = true});
  EXPECT_EQ(second.localPort(), first.localPort());
  EXPECT_THROW(ts::TCPServerSocket::listen(loop, first.localPort(), {.localAddress = "127.0.0.1"}),
               ts::AddressInUseError)
      << "a listener without reusePort may not join";
  int a = 0;
  int b = 0;
  first.onconnect([&](const ts::TCPServerSocketEvent&) { ++a; });
  second.onconnect([&](const ts::TCPServerSocketEvent&) { ++b; });
  std::vector<ts::TCPSocket> clients;
  for (int i = 0; i < 64; ++i)
    clients.push_back(ts::TCPSocket::open(loop, "127.0.0.1", first.localPort()));
  ASSERT_TRUE(runUntil(loop, [&] { return a + b == 64; }));
  EXPECT_GT(a, 0) << "the kernel spreads connections over both";
  EXPECT_GT(b, 0);
}

}  // namespace
}  // namespace test
