// What a graceful close owes the peer, and what it must not leave behind. A closed socket keeps its
// descriptor until the peer has taken our bytes, so a peer that reads everything gets a clean FIN;
// one that takes nothing, or sent bytes across our FIN, is reset, because an orphan would hold its
// kernel buffers for minutes outside every limit and a clean end would say it had been answered.
// A loop destroyed with connections open or lingering resets them for the same reasons.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "support/close_probes.hpp"
#include "support/loop_fixture.hpp"

namespace test {
namespace {

using GracefulClose = LoopFixture;

// Regression (attack on issue 12): a peer that half-closed and never read left the closed socket
// orphaned in LAST_ACK with our unsent bytes, outside every limit. It is reset once it has taken
// nothing for the linger timeout.
TEST_F(GracefulClose, AClosedSocketWhosePeerTakesNothingIsResetNotOrphaned) {
  auto server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  echoWithBackpressure(server);
  int closes = 0;
  server.addEventListener(ts::ServerEventType::Connect, [&](const ts::TCPServerSocketEvent& e) {
    e.socket.onclose([&](const ts::TCPSocketEvent&) { ++closes; });
  });
  RawConn peer = connectSmallWindow(server.localPort());
  peer.writeAll(std::string(8 * 1024, 'h'));  // an echo the kernel takes whole
  peer.shutdownWrite();                       // and never reads
  ASSERT_TRUE(runUntil(loop, [&] { return closes == 1; }));
  const std::uint16_t port = server.localPort();
  // Our side is done with the connection (an orphan would sit in LAST_ACK with the bytes)...
  ASSERT_TRUE(runUntil(
      loop, [&] { return socketsOnPort(port, "09") == 0; }, 20000ms))
      << "the server let go with a FIN behind unsent bytes: orphaned in LAST_ACK";
  // ...and a reset, not our bytes and a FIN, is what the peer finds when it reads at last.
  ASSERT_TRUE(runUntil(loop, [&] {
    peer.pump();
    return peer.eof() || peer.failed();
  }));
  EXPECT_TRUE(peer.failed());
}

// Regression (issue 14's bench: 19,000 killed clients kept a server's SIGTERM waiting 3.5 s): a
// socket lingering with unacknowledged bytes after the peer's FIN never noticed the peer's reset,
// as it no longer reads, and held its descriptor until the linger timeout. It lets go at its next
// look at the kernel.
TEST_F(GracefulClose, ALingeringSocketWhosePeerResetsLetsGoBeforeTheLingerTimeout) {
  auto server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  echoWithBackpressure(server);
  int closes = 0;
  server.addEventListener(ts::ServerEventType::Connect, [&](const ts::TCPServerSocketEvent& e) {
    e.socket.onclose([&](const ts::TCPSocketEvent&) { ++closes; });
  });
  const int before = openFdCount();
  RawConn peer = connectSmallWindow(server.localPort());
  peer.writeAll(std::string(8 * 1024, 'r'));  // an echo the kernel takes whole
  peer.shutdownWrite();                       // and never reads: our bytes stay unacknowledged
  ASSERT_TRUE(runUntil(loop, [&] { return closes == 1; }));
  runFor(loop, 200ms);
  ASSERT_EQ(openFdCount(), before + 2) << "the test needs the server's socket lingering";
  peer.reset();
  // The linger timeout (5 s without progress) would let go too, with a reset of its own.
  EXPECT_TRUE(runUntil(
      loop, [&] { return openFdCount() == before; }, 3000ms))
      << "the lingering socket kept a dead connection's descriptor";
}

// Regression (attack on issue 12): bytes that crossed our FIN were read and thrown away, and the
// peer then saw a clean end, as if they had been answered. It is reset instead, once it has
// everything we sent.
TEST_F(GracefulClose, InputArrivingAfterOurCloseEndsInAResetAfterOurBytes) {
  auto server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  server.onconnect([&](const ts::TCPServerSocketEvent& e) {
    e.socket.send(std::string_view("bye"));
    e.socket.close();
  });
  RawConn peer = RawConn::connectTo("127.0.0.1", server.localPort());
  ASSERT_TRUE(runUntil(loop, [&] {
    peer.pump();
    return peer.eof();
  }));
  EXPECT_EQ(peer.received(), "bye");
  ASSERT_EQ(::send(peer.fd(), "late request", 12, MSG_NOSIGNAL), 12);
  EXPECT_EQ(awaitReset(loop, peer.fd()), EPIPE) << "the late request vanished without a trace";
}

// A peer that closes properly after reading everything still gets a FIN, not a reset.
TEST_F(GracefulClose, APeerThatReadsEverythingAndClosesGetsACleanEnd) {
  auto server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  const std::string reply = asString(randomBytes(1 << 20, 5));
  server.onconnect([&](const ts::TCPServerSocketEvent& e) {
    e.socket.send(std::string_view(reply));
    e.socket.close();
  });
  RawConn peer = connectSmallWindow(server.localPort());
  ASSERT_TRUE(runUntil(loop, [&] {
    peer.pump();
    return peer.eof() || peer.failed();
  }));
  EXPECT_FALSE(peer.failed());
  EXPECT_TRUE(peer.received() == reply);
}

// Regression (second attack on issue 12): a loop destroyed with connections still open closed
// them with a FIN, so a peer cut short at shutdown saw a clean end.
TEST(LoopDestruction, ResetsConnectionsStillOpen) {
  RawConn peer;
  {
    ts::EventLoop loop;
    auto server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
    peer = RawConn::connectTo("127.0.0.1", server.localPort());
    ASSERT_TRUE(runUntil(loop, [&] { return server.stats().open == 1; }));
  }
  pollfd p{peer.fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1);
  peer.pump();
  EXPECT_TRUE(peer.failed()) << "a FIN: the peer cannot tell it was cut";
}

// Regression (second attack on issue 12): a loop destroyed while sockets lingered with bytes
// their peers had not taken left them to the kernel as orphans (20 in LAST_ACK after exit).
TEST(LoopDestruction, ResetsLingeringSocketsHoldingUnsentBytes) {
  RawConn peer;
  std::uint16_t port = 0;
  {
    ts::EventLoop loop;
    auto server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
    port = server.localPort();
    bool closed = false;
    server.onconnect([&](const ts::TCPServerSocketEvent& e) {
      e.socket.send(std::string(6 * 1024, 'u'));
      e.socket.close();
      e.socket.onclose([&](const ts::TCPSocketEvent&) { closed = true; });
    });
    peer = connectSmallWindow(port);  // and never reads
    ASSERT_TRUE(runUntil(loop, [&] { return closed; }));
  }
  EXPECT_EQ(socketsOnPort(port, "04"), 0) << "an orphan in FIN_WAIT1 holds our bytes";
  for (int i = 0; i < 50 && !peer.eof() && !peer.failed(); ++i) {  // at most 5 s
    pollfd p{peer.fd(), POLLIN, 0};
    ::poll(&p, 1, 100);
    peer.pump();
  }
  EXPECT_TRUE(peer.failed());
}

}  // namespace
}  // namespace test
