// A server's graceful drain never truncates silently: it stops listening, keeps serving each
// connection until it is quiet (what a peer sent before the stop is answered before our FIN, and
// bytes the kernel still holds are not quiet), and resets whatever is still busy at the deadline,
// since a clean FIN would tell that peer everything it sent was answered. Every caller hears when
// it ends, on the loop, never inside the call.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "socket_impl.hpp"  // unsentBytes
#include "support/close_probes.hpp"
#include "support/loop_fixture.hpp"

namespace test {
namespace {

using Drain = LoopFixture;

// Sends from `peer` without reading until neither side takes more (both directions full);
// returns what was sent.
std::string fillBothWays(ts::EventLoop& loop, RawConn& peer) {
  const std::string block = asString(randomBytes(16384, 7));
  std::string sent;
  int stalls = 0;
  while (stalls < 20 && sent.size() < (64u << 20)) {
    const ssize_t n = ::send(peer.fd(), block.data(), block.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      sent.append(block, 0, static_cast<std::size_t>(n));
      stalls = 0;
    } else {
      ++stalls;
      loop.runFor(5ms);
    }
  }
  return sent;
}

TEST_F(Drain, DrainFlushesWhatItCanAndResetsTheRestAtTheDeadline) {
  auto server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  std::vector<ts::TCPSocket> accepted;
  server.onconnect([&](const ts::TCPServerSocketEvent& e) { accepted.push_back(e.socket); });
  RawConn reader = RawConn::connectTo("127.0.0.1", server.localPort());
  const int small = 4096;
  const int stuckFd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ::setsockopt(stuckFd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server.localPort());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(stuckFd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  RawConn stuck(stuckFd);  // never reads
  ASSERT_TRUE(runUntil(loop, [&] { return accepted.size() == 2; }));
  const std::string forReader = asString(randomBytes(300000, 41));
  accepted[0].send(std::string_view(forReader));
  for (int i = 0; i < 100; ++i) accepted[1].send(randomBytes(65536, 42));
  bool done = false;
  server.drain(300ms, [&] { done = true; });
  EXPECT_FALSE(done) << "never inside the call";
  ASSERT_TRUE(runUntil(
      loop,
      [&] {
        reader.pump();
        return done;
      },
      5000ms));
  ASSERT_TRUE(runUntil(loop, [&] {
    reader.pump();
    stuck.pump();
    return reader.eof() && (stuck.failed() || stuck.eof());
  }));
  EXPECT_EQ(reader.received(), forReader) << "the reading peer got everything, then FIN";
  EXPECT_FALSE(reader.failed());
  EXPECT_EQ(server.stats().open, 0u);
  EXPECT_EQ(accepted[0].readyState(), ts::ReadyState::Closed);
  EXPECT_EQ(accepted[1].readyState(), ts::ReadyState::Closed);
  EXPECT_THROW(RawConn::connectTo("127.0.0.1", server.localPort()), std::runtime_error)
      << "no longer listening";
}

// Regression (issue 12, item 3): drain() closed every connection at once, so what the peer had
// sent and the kernel had acknowledged was read and thrown away by the closing socket, and the
// peer got a clean FIN after a truncated echo.
TEST_F(Drain, DrainKeepsEchoingWhatArrivedAndClosesOnlyWhenQuiet) {
  auto server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  echoWithBackpressure(server);
  RawConn peer = RawConn::connectTo("127.0.0.1", server.localPort());
  ASSERT_TRUE(runUntil(loop, [&] { return server.stats().open == 1; }));
  const std::string sent = fillBothWays(loop, peer);
  ASSERT_GT(sent.size(), 256u * 1024) << "the kernel buffers on both sides hold this much";
  bool done = false;
  server.drain(20s, [&] { done = true; });
  ASSERT_TRUE(runUntil(
      loop,
      [&] {
        peer.pump();
        return done && (peer.eof() || peer.failed());
      },
      20000ms));
  EXPECT_FALSE(peer.failed());
  EXPECT_TRUE(peer.eof());
  EXPECT_EQ(peer.received().size(), sent.size()) << "every byte echoed before the FIN";
  EXPECT_TRUE(peer.received() == sent);
}

// A peer that keeps the connection busy past the deadline is reset, never given a clean FIN: a
// FIN would tell it that everything it sent was answered.
TEST_F(Drain, DrainResetsAConnectionStillBusyAtTheDeadline) {
  auto server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  echoWithBackpressure(server);
  RawConn peer = RawConn::connectTo("127.0.0.1", server.localPort());
  ASSERT_TRUE(runUntil(loop, [&] { return server.stats().open == 1; }));
  fillBothWays(loop, peer);  // and then never reads: the echo can never finish
  bool done = false;
  server.drain(300ms, [&] { done = true; });
  ASSERT_TRUE(runUntil(
      loop, [&] { return done; }, 5000ms));
  ASSERT_TRUE(runUntil(loop, [&] {
    peer.pump();
    return peer.eof() || peer.failed();
  }));
  EXPECT_TRUE(peer.failed()) << "reset, not FIN";
  EXPECT_FALSE(peer.eof());
}

// Regression (attack on issue 12): a peer that stopped reading once our echo was in the kernel
// looked quiet (our queue empty, nothing unread), so drain() sent a FIN behind the unsent bytes and
// the kernel kept the orphan and its buffers for minutes. Such a peer is busy: reset at the
// deadline.
TEST_F(Drain, DrainDoesNotCallAPeerQuietWhileTheKernelStillHoldsItsBytes) {
  auto server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  echoWithBackpressure(server);
  ts::TCPSocket accepted;
  server.addEventListener(ts::ServerEventType::Connect,
                          [&](const ts::TCPServerSocketEvent& e) { accepted = e.socket; });
  RawConn peer = connectSmallWindow(server.localPort());
  peer.writeAll(std::string(24 * 1024, 'e'));
  ASSERT_TRUE(runUntil(loop, [&] { return accepted && accepted.bufferedAmount() == 0; }));
  runFor(loop, 100ms);
  ASSERT_EQ(accepted.bufferedAmount(), 0u) << "the kernel must have taken our whole echo";
  ASSERT_GT(ts::detail::unsentBytes(accepted.nativeHandle()), 0) << "and still hold some of it";
  bool done = false;
  server.drain(1s, [&] { done = true; });
  ASSERT_TRUE(runUntil(
      loop, [&] { return done; }, 5000ms));
  EXPECT_EQ(awaitReset(loop, peer.fd()), ECONNRESET) << "a FIN, not a reset";
}

// Regression (review): a second drain() while one ran never called its `done`.
TEST_F(Drain, EveryDrainCallerHearsWhenItEnds) {
  auto server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  RawConn peer = RawConn::connectTo("127.0.0.1", server.localPort());
  ASSERT_TRUE(runUntil(loop, [&] { return server.stats().open == 1; }));
  int done = 0;
  server.drain(200ms, [&] { ++done; });
  server.drain(5s, [&] { ++done; });
  ASSERT_TRUE(runUntil(loop, [&] {
    peer.pump();
    return done == 2;
  }));
}

TEST_F(Drain, DrainWithNoConnectionsCompletesOnTheLoop) {
  auto server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  bool done = false;
  server.drain(1s, [&] { done = true; });
  EXPECT_FALSE(done);
  ASSERT_TRUE(runUntil(loop, [&] { return done; }));
}

// Regression (attack on the redesigned core): drain() on a server whose loop was destroyed
// dereferenced the missing loop.
TEST(DrainAfterTheLoop, DrainOnAServerWhoseLoopIsGoneThrowsInvalidState) {
  std::optional<ts::TCPServerSocket> server;
  {
    ts::EventLoop loop;
    server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  }
  EXPECT_THROW(server->drain(std::chrono::seconds(1), [] {}), ts::InvalidStateError);
}

}  // namespace
}  // namespace test
