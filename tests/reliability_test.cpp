// Issue "reliability": per-connection options and limits, server limits, draining and abortive
// close, and handlers that tear everything down from inside every event.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "socket_impl.hpp"  // unsentBytes
#include "support/pair.hpp"

namespace test {
namespace {

int intOption(int fd, int level, int name) {
  int value = -1;
  socklen_t len = sizeof value;
  ::getsockopt(fd, level, name, &value, &len);
  return value;
}

class Reliability : public ::testing::Test {
 protected:
  ts::EventLoop loop;
};

// ---------------------------------------------------------------------------------------------
// Socket options reach the kernel

TEST_F(Reliability, NoDelayIsOnByDefaultAndKeepAliveAndUserTimeoutAreApplied) {
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

// ---------------------------------------------------------------------------------------------
// Idle timeout

TEST_F(Reliability, IdleTimeoutIsNetworkTimeoutErrorAndResetsThePeer) {
  RawListener listener;
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port(),
                                  {.connection = {.idleTimeout = 100ms}});
  Recorder events(sock);
  RawConn peer = acceptWhenOpen(loop, listener, events);
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  EXPECT_EQ(events.events,
            (std::vector<std::string>{"open", "error:NetworkTimeoutError:Network", "close"}));
  ASSERT_TRUE(runUntil(loop, [&] {
    peer.pump();
    return peer.failed() || peer.eof();
  }));
  EXPECT_TRUE(peer.failed()) << "an idle connection is reset, not closed politely";
}

TEST_F(Reliability, TrafficKeepsAnIdleTimeoutAway) {
  RawListener listener;
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port(),
                                  {.connection = {.idleTimeout = 1000ms}});
  Recorder events(sock);
  RawConn peer = acceptWhenOpen(loop, listener, events);
  for (int i = 0; i < 30; ++i) {  // 1.5 s of traffic, one byte every 50 ms: never 1 s quiet
    peer.writeAll("k");
    runFor(loop, 50ms);
  }
  EXPECT_EQ(events.events, std::vector<std::string>{"open"});
  EXPECT_EQ(events.received.size(), 30u);
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));  // then silence
  EXPECT_TRUE(events.has("error:NetworkTimeoutError:Network"));
}

// ---------------------------------------------------------------------------------------------
// maxBufferedAmount

TEST_F(Reliability, HardCapOnBufferedAmountFailsInsteadOfGrowing) {
  RawListener listener("127.0.0.1", 4096);
  constexpr std::uint64_t kCap = 256 * 1024;
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port(),
                                  {.connection = {.maxBufferedAmount = kCap}});
  Recorder events(sock);
  RawConn peer = acceptWhenOpen(loop, listener, events);  // never reads
  const auto chunk = randomBytes(65536, 31);
  std::uint64_t highest = 0;
  for (int i = 0; i < 1000 && sock.readyState() == ts::ReadyState::Open && !events.closed(); ++i) {
    sock.send(chunk);
    highest = std::max(highest, sock.bufferedAmount());
    runFor(loop, 1ms);
  }
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  EXPECT_LE(highest, kCap);
  EXPECT_EQ(events.events,
            (std::vector<std::string>{"open", "error:BufferOverflowError:Network", "close"}));
  EXPECT_EQ(sock.bufferedAmount(), 0u);
}

// ---------------------------------------------------------------------------------------------
// allowHalfOpen and `end`

TEST_F(Reliability, AllowHalfOpenFiresEndAndKeepsSending) {
  RawListener listener;
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port(),
                                  {.connection = {.allowHalfOpen = true}});
  Recorder events(sock);
  RawConn peer = acceptWhenOpen(loop, listener, events);
  peer.writeAll("request");
  peer.shutdownWrite();
  ASSERT_TRUE(runUntil(loop, [&] { return events.has("end"); }));
  EXPECT_EQ(events.received, "request");
  EXPECT_EQ(sock.readyState(), ts::ReadyState::Open);
  runFor(loop, 20ms);
  EXPECT_FALSE(events.closed()) << "half-open: this side decides when to close";
  sock.send(std::string_view("late reply"));
  sock.halfClose();
  ASSERT_TRUE(runUntil(loop, [&] {
    peer.pump();
    return peer.eof() && events.closed();
  }));
  EXPECT_EQ(peer.received(), "late reply");
  EXPECT_EQ(events.events, (std::vector<std::string>{"open", "end", "close"}));
}

TEST_F(Reliability, WithoutAllowHalfOpenThereIsNoEnd) {
  RawListener listener;
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port());
  Recorder events(sock);
  RawConn peer = acceptWhenOpen(loop, listener, events);
  peer.shutdownWrite();
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  EXPECT_EQ(events.events, (std::vector<std::string>{"open", "close"}));
}

// ---------------------------------------------------------------------------------------------
// abort()

TEST_F(Reliability, AbortResetsThePeerAndFiresOnlyClose) {
  RawListener listener("127.0.0.1", 4096);
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port());
  Recorder events(sock);
  RawConn peer = acceptWhenOpen(loop, listener, events);
  sock.send(randomBytes(1 << 20, 5));  // queued: discarded by the abort
  sock.abort();
  EXPECT_EQ(sock.readyState(), ts::ReadyState::Closing);
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  EXPECT_EQ(events.events, (std::vector<std::string>{"open", "close"}));
  ASSERT_TRUE(runUntil(loop, [&] {
    peer.pump();
    return peer.failed() || peer.eof();
  }));
  EXPECT_TRUE(peer.failed()) << "RST, not FIN";
  EXPECT_LT(peer.received().size(), std::size_t{1} << 20);
}

// ---------------------------------------------------------------------------------------------
// Server limits

TEST_F(Reliability, MaxConnectionsStopsAcceptingAndResumesBelowTheLowWaterMark) {
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

TEST_F(Reliability, PerAddressLimitResetsTheExtraConnection) {
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

// ---------------------------------------------------------------------------------------------
// Draining and aborting a server

TEST_F(Reliability, DrainFlushesWhatItCanAndResetsTheRestAtTheDeadline) {
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

// An echo server whose handler brakes with suspend/resume, as the CLI's does.
void echoWithBackpressure(ts::TCPServerSocket& server) {
  server.onconnect([](const ts::TCPServerSocketEvent& e) {
    e.socket.ondata([](const ts::TCPSocketEvent& d) {
      if (!d.target.send(std::get<std::string_view>(d.data))) d.target.suspend();
    });
    e.socket.ondrain([](const ts::TCPSocketEvent& d) { d.target.resume(); });
  });
}

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

// Regression (issue 12, item 3): drain() closed every connection at once, so what the peer had
// sent and the kernel had acknowledged was read and thrown away by the closing socket, and the
// peer got a clean FIN after a truncated echo.
TEST_F(Reliability, DrainKeepsEchoingWhatArrivedAndClosesOnlyWhenQuiet) {
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
TEST_F(Reliability, DrainResetsAConnectionStillBusyAtTheDeadline) {
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

// A client that looks like one across a real network (small segments, a small receive window):
// on loopback the kernel's buffers would otherwise swallow what these tests need to see queued.
RawConn connectSmallWindow(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int rcvbuf = 2048;
  const int mss = 536;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  ::setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof mss);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error("connect failed");
  }
  ::fcntl(fd, F_SETFL, O_NONBLOCK);
  return RawConn(fd);
}

// Sockets in this network namespace with local port `port` in TCP state `state` ("09": LAST_ACK),
// as /proc/net/tcp lists them: orphans the process let go of are there too.
int socketsOnPort(std::uint16_t port, const std::string& state) {
  std::ifstream table("/proc/net/tcp");
  std::string line;
  std::getline(table, line);
  int count = 0;
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, st;
    fields >> slot >> local >> remote >> st;
    if (std::stoi(local.substr(local.find(':') + 1), nullptr, 16) == port && st == state) ++count;
  }
  return count;
}

// Waits for the error a reset leaves on a socket, seen without reading from it (reading would be
// progress). ECONNRESET, or EPIPE once the peer had read our FIN.
int awaitReset(ts::EventLoop& loop, int fd) {
  int error = 0;
  runUntil(
      loop,
      [&] {
        socklen_t len = sizeof error;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);  // reading it clears it
        return error != 0;
      },
      10000ms);
  return error;
}

// Regression (attack on issue 12): a peer that stopped reading once our echo was in the kernel
// looked quiet (our queue empty, nothing unread), so drain() sent a FIN behind the unsent bytes and
// the kernel kept the orphan and its buffers for minutes. Such a peer is busy: reset at the
// deadline.
TEST_F(Reliability, DrainDoesNotCallAPeerQuietWhileTheKernelStillHoldsItsBytes) {
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

// Regression (attack on issue 12): a peer that half-closed and never read left the closed socket
// orphaned in LAST_ACK with our unsent bytes, outside every limit. It is reset once it has taken
// nothing for the linger timeout.
TEST_F(Reliability, AClosedSocketWhosePeerTakesNothingIsResetNotOrphaned) {
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

// Regression (attack on issue 12): bytes that crossed our FIN were read and thrown away, and the
// peer then saw a clean end, as if they had been answered. It is reset instead, once it has
// everything we sent.
TEST_F(Reliability, InputArrivingAfterOurCloseEndsInAResetAfterOurBytes) {
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

// Regression (second attack on issue 12): sockets lingering after their close held descriptors
// and kernel buffers outside maxConnections: 3,000 in LAST_ACK against a limit of 20.
TEST_F(Reliability, LingeringSocketsCountTowardMaxConnections) {
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

// A peer that closes properly after reading everything still gets a FIN, not a reset.
TEST_F(Reliability, APeerThatReadsEverythingAndClosesGetsACleanEnd) {
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

// Regression (review): a second drain() while one ran never called its `done`.
TEST_F(Reliability, EveryDrainCallerHearsWhenItEnds) {
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

// Regression (review): a cap below the 64 KiB where send() starts saying "stop" cut off apps that
// follow send()'s advice; it is refused up front.
TEST_F(Reliability, BufferCapBelowTheSendThresholdIsRefused) {
  EXPECT_THROW(
      ts::TCPSocket::open(loop, "127.0.0.1", 9, {.connection = {.maxBufferedAmount = 32768}}),
      ts::TypeError);
  EXPECT_THROW(ts::TCPServerSocket::listen(
                   loop, 0, {.localAddress = "127.0.0.1", .connection = {.maxBufferedAmount = 1}}),
               ts::TypeError);
  EXPECT_NO_THROW(
      ts::TCPSocket::open(loop, "127.0.0.1", 9, {.connection = {.maxBufferedAmount = 65536}})
          .close());
}

TEST_F(Reliability, DrainWithNoConnectionsCompletesOnTheLoop) {
  auto server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  bool done = false;
  server.drain(1s, [&] { done = true; });
  EXPECT_FALSE(done);
  ASSERT_TRUE(runUntil(loop, [&] { return done; }));
}

TEST_F(Reliability, AbortConnectionsResetsEveryAcceptedSocket) {
  auto server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  int closes = 0;
  server.onconnect([&](const ts::TCPServerSocketEvent& e) {
    e.socket.onclose([&](const ts::TCPSocketEvent&) { ++closes; });
  });
  std::vector<RawConn> peers;
  for (int i = 0; i < 5; ++i) peers.push_back(RawConn::connectTo("127.0.0.1", server.localPort()));
  ASSERT_TRUE(runUntil(loop, [&] { return server.stats().open == 5; }));
  server.abortConnections();
  ASSERT_TRUE(runUntil(loop, [&] { return closes == 5; }));
  for (auto& p : peers) {
    ASSERT_TRUE(runUntil(loop, [&] {
      p.pump();
      return p.failed() || p.eof();
    }));
    EXPECT_TRUE(p.failed());
  }
  EXPECT_EQ(server.stats().open, 0u);
}

// ---------------------------------------------------------------------------------------------
// Faults mid-transfer and flooding peers

TEST_F(Reliability, PeerResetWhileOurQueueIsFullIsNetworkErrorAndFreesTheQueue) {
  RawListener listener("127.0.0.1", 4096);
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port());
  Recorder events(sock);
  RawConn peer = acceptWhenOpen(loop, listener, events);
  for (int i = 0; i < 50; ++i) sock.send(randomBytes(65536, 51));
  ASSERT_GT(sock.bufferedAmount(), 0u);
  peer.reset();
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  EXPECT_EQ(events.events,
            (std::vector<std::string>{"open", "error:NetworkError:Network", "close"}));
  EXPECT_EQ(sock.bufferedAmount(), 0u);
  EXPECT_EQ(sock.nativeHandle(), -1);
}

TEST_F(Reliability, PeerHalfCloseMidTransferStillDeliversEverythingBothWays) {
  Pair p(loop);
  p.waitConnected();
  const auto fromClient = randomBytes(2 << 20, 52);
  const auto fromServer = randomBytes(2 << 20, 53);
  p.client.send(fromClient);
  p.server.send(fromServer);
  p.client.halfClose();  // mid-transfer: most of both directions is still queued
  ASSERT_TRUE(runUntil(loop, [&] { return p.clientEvents.closed() && p.serverEvents->closed(); }));
  EXPECT_EQ(p.serverEvents->received, asString(fromClient));
  EXPECT_EQ(p.clientEvents.received, asString(fromServer));
  EXPECT_FALSE(p.clientEvents.has("error:NetworkError:Network"));
  EXPECT_FALSE(p.serverEvents->has("error:NetworkError:Network"));
}

// While suspended nothing is read: a peer sending as fast as it can fills kernel buffers and then
// blocks; the process does not buffer its flood.
TEST_F(Reliability, SuspendedSocketDoesNotBufferAFloodingPeer) {
  RawListener listener;
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port());
  Recorder events(sock);
  RawConn peer = acceptWhenOpen(loop, listener, events);
  sock.suspend();
  const std::string chunk(65536, 'f');
  std::size_t flooded = 0;
  for (int i = 0; i < 4096; ++i) {  // at most 256 MiB
    const ssize_t n = ::send(peer.fd(), chunk.data(), chunk.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n <= 0) {
      runFor(loop, 5ms);  // the loop runs: it must still not read
      if (::send(peer.fd(), chunk.data(), chunk.size(), MSG_DONTWAIT | MSG_NOSIGNAL) <= 0) break;
      flooded += chunk.size();
      continue;
    }
    flooded += static_cast<std::size_t>(n);
  }
  EXPECT_LT(flooded, std::size_t{64} << 20) << "the peer could push without limit";
  EXPECT_EQ(events.dataEvents, 0);
  sock.resume();  // and everything is still there, in order
  ASSERT_TRUE(runUntil(loop, [&] { return events.received.size() == flooded; }));
}

// ---------------------------------------------------------------------------------------------
// Handlers that tear everything down from inside every event

TEST_F(Reliability, HandlersMayCloseTheirSocketAndServerFromInsideEveryEvent) {
  ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"}).close();  // the reactor's fds
  runFor(loop, 10ms);
  const int fdsBefore = openFdCount();
  using T = ts::SocketEventType;
  for (const std::string how : {"close", "closeImmediately", "abort"}) {
    for (const T type : {T::Open, T::Data, T::Drain, T::Error, T::Close}) {
      SCOPED_TRACE(how + " from inside " + std::string(ts::toString(type)));
      int closes = 0;
      int afterClose = 0;
      {
        auto server = std::make_shared<ts::TCPServerSocket>(
            ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"}));
        server->onconnect([server, type](const ts::TCPServerSocketEvent& e) {
          server->close();  // the server closes itself from inside `connect`
          if (type == T::Data) e.socket.send(std::string_view("hello"));
          if (type == T::Error) e.socket.abort();  // the client gets NetworkError
          if (type == T::Close) e.socket.close();  // the client gets its peer's FIN
        });
        auto client = ts::TCPSocket::open(loop, "127.0.0.1", server->localPort());
        if (type == T::Drain) {
          client.onopen([](const ts::TCPSocketEvent& e) { e.target.send(randomBytes(300000, 7)); });
        }
        auto ownHandle = std::make_shared<ts::TCPSocket>(client);
        client.addEventListener(
            type, [ownHandle, how, server](const ts::TCPSocketEvent& e) mutable {
              if (how == "close") e.target.close();
              if (how == "closeImmediately") e.target.closeImmediately();
              if (how == "abort") e.target.abort();
              server->close();
              ownHandle.reset();  // drops a handle to itself from inside its own event
            });
        auto closed = std::make_shared<bool>(false);
        for (const T t : {T::Open, T::Data, T::Drain, T::Error, T::Close}) {
          client.addEventListener(t, [closed, &closes, &afterClose](const ts::TCPSocketEvent& e) {
            if (*closed) ++afterClose;
            if (e.type == T::Close) {
              *closed = true;
              ++closes;
            }
          });
        }
      }  // every outside handle is gone: the socket lives on its own until its close
      EXPECT_TRUE(runUntil(
          loop, [&] { return closes == 1; }, 5000ms));
      runFor(loop, 20ms);
      EXPECT_EQ(closes, 1);
      EXPECT_EQ(afterClose, 0);
      EXPECT_TRUE(runUntil(
          loop, [&] { return openFdCount() <= fdsBefore; }, 5000ms))
          << openFdCount() << " fds, before: " << fdsBefore;
    }
  }
}

}  // namespace
}  // namespace test
