// Regression tests for bugs found in review; each failed before its fix.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>

#include "support/loop_fixture.hpp"
#include "support/pair.hpp"
#include "sys_ops.hpp"

namespace test {
namespace {

std::atomic<int> recvCalls{0};

ssize_t countingRecv(int fd, void* buf, size_t len, int flags) {
  ++recvCalls;
  return ::recv(fd, buf, len, flags);
}

using Regressions = LoopFixture;

// suspend() + resume() inside `data` used to add one more read wait per event: each arrival then
// woke every one of them (memory and wake-ups growing with the number of events).
TEST_F(Regressions, SuspendResumeInsideDataDoesNotMultiplyReadWaits) {
  RawListener listener;
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port());
  Recorder events(sock);
  RawConn peer = acceptWhenOpen(loop, listener, events);
  sock.ondata([](const ts::TCPSocketEvent& e) {
    e.target.suspend();
    e.target.resume();
  });
  tcpsocket::sys::Ops counting = tcpsocket::sys::realOps();
  counting.recv = countingRecv;
  tcpsocket::sys::ScopedOps inject(counting);
  recvCalls = 0;
  constexpr int kRounds = 60;
  for (int i = 1; i <= kRounds; ++i) {
    peer.writeAll("x");
    ASSERT_TRUE(runUntil(loop, [&] { return static_cast<int>(events.received.size()) == i; }));
    runFor(loop, 1ms);
  }
  // One chain of reads costs a few recv calls per arrival; one chain per past event costs ~i.
  EXPECT_LT(recvCalls.load(), kRounds * 4) << "recv calls: " << recvCalls.load();
}

TEST_F(Regressions, SuspendBeforeOpenAndResumeInOnopenKeepsOneReadChain) {
  RawListener listener;
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port());
  sock.suspend();
  sock.onopen([](const ts::TCPSocketEvent& e) { e.target.resume(); });
  Recorder events(sock);
  RawConn peer = acceptWhenOpen(loop, listener, events);
  tcpsocket::sys::Ops counting = tcpsocket::sys::realOps();
  counting.recv = countingRecv;
  tcpsocket::sys::ScopedOps inject(counting);
  runFor(loop, 5ms);
  recvCalls = 0;
  constexpr int kRounds = 40;
  for (int i = 1; i <= kRounds; ++i) {
    peer.writeAll("y");
    ASSERT_TRUE(runUntil(loop, [&] { return static_cast<int>(events.received.size()) == i; }));
    runFor(loop, 1ms);
  }
  // One chain: one recv per arrival (plus the odd spurious wake-up); two chains: two.
  EXPECT_LT(recvCalls.load(), kRounds * 3 / 2) << "recv calls: " << recvCalls.load();
}

// A socket with nothing pending (suspended after its read wait fired) and no handle left used to
// be freed inside abandon() and then touched by the loop's destructor (heap-use-after-free under
// AddressSanitizer).
TEST(RegressionsLoopLifetime, DestroyingTheLoopFreesAnIdleUnreferencedSocketOnce) {
  RawListener listener;
  {
    ts::EventLoop local;
    auto sock = ts::TCPSocket::open(local, "127.0.0.1", listener.port());
    Recorder events(sock);
    RawConn peer = acceptWhenOpen(local, listener, events);
    sock.suspend();
    peer.writeAll("wakes the pending read wait, which then does not re-arm");
    runFor(local, 30ms);
    events = Recorder();
    sock = ts::TCPSocket();
  }
  SUCCEED();
}

// A write failure inside send() followed, in the same read burst, by the peer's FIN used to end
// in a clean `close` without the `error` (docs/reference.md §2.5: a failure is error, then close).
TEST_F(Regressions, WriteFailureIsReportedEvenWhenThePeersFinFollows) {
  RawListener listener;
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port(),
                                  {.binaryType = ts::BinaryType::ArrayBuffer});
  Recorder events(sock);
  RawConn peer = acceptWhenOpen(loop, listener, events);
  sock.ondata([](const ts::TCPSocketEvent& e) { e.target.send(std::string_view("reply")); });
  tcpsocket::sys::Ops failing = tcpsocket::sys::realOps();
  failing.send = [](int, const void*, size_t, int) -> ssize_t {
    errno = ECONNRESET;
    return -1;
  };
  tcpsocket::sys::ScopedOps inject(failing);
  peer.writeAll(asString(sequence(65536)));  // one full read: the burst goes on to the FIN
  peer.shutdownWrite();
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  EXPECT_EQ(events.events,
            (std::vector<std::string>{"open", "error:NetworkError:Network", "close"}));
}

// closeImmediately() after close() used to do nothing: a peer that never reads held the socket
// (and its queued bytes) in "closing" for ever.
TEST_F(Regressions, CloseImmediatelyWhileClosingDiscardsTheQueueAndCloses) {
  RawListener listener("127.0.0.1", 4096);
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port());
  Recorder events(sock);
  RawConn peer = acceptWhenOpen(loop, listener, events);
  const auto chunk = randomBytes(65536, 21);
  for (int i = 0; i < 200 && sock.bufferedAmount() == 0; ++i) sock.send(chunk);
  ASSERT_GT(sock.bufferedAmount(), 0u);
  sock.close();
  runFor(loop, 20ms);
  ASSERT_EQ(sock.readyState(), ts::ReadyState::Closing) << "the peer reads nothing";
  sock.closeImmediately();
  EXPECT_EQ(sock.bufferedAmount(), 0u);
  ASSERT_TRUE(runUntil(
      loop, [&] { return events.closed(); }, 5000ms));
  EXPECT_EQ(events.events, (std::vector<std::string>{"open", "close"}));
}

}  // namespace
}  // namespace test

namespace test {
namespace {

// Found by attacking the Node binding: names and paths are C strings below the API, so a NUL cut
// what the system saw short of what the checks saw. "evil.com\0.example.com" passed a
// "*.example.com" connect rule and then resolved evil.com.
TEST(RegressionsHostileStrings, ANulInAHostNameIsATypeError) {
  ts::EventLoop loop;
  EXPECT_THROW(ts::TCPSocket::open(loop, std::string_view("127.0.0.1\0.example.com", 23), 9),
               ts::TypeError);
  EXPECT_THROW(ts::TCPSocket::open(loop, std::string_view("localhost\0x", 11), 9), ts::TypeError);
}

TEST(RegressionsHostileStrings, ANulInALocalAddressIsNotAnAddress) {
  ts::EventLoop loop;
  EXPECT_THROW(
      ts::TCPServerSocket::listen(loop, 0, {.localAddress = std::string("127.0.0.1\0x", 11)}),
      ts::InvalidAddressError);
}

TEST(RegressionsHostileStrings, ANulInAManifestPathOrServerNameIsRefused) {
  EXPECT_THROW(ts::AppPolicy::fromManifestFile(std::string("/etc/passwd\0.webapp", 19)),
               ts::ManifestError);
  ts::EventLoop loop;
  ts::SocketOptions options;
  options.useSecureTransport = true;
  options.tls.serverName = std::string("a\0b", 3);
  EXPECT_THROW(ts::TCPSocket::open(loop, "127.0.0.1", 9, options), ts::TlsConfigurationError);
}

// A timeout of 1e13 ms overflowed steady_clock's nanoseconds and fired at once.
TEST(RegressionsHostileStrings, TimeoutsBeyondTheMaximumAreRefusedNotFiredAtOnce) {
  ts::EventLoop loop;
  const auto huge = ts::kMaxTimeout + std::chrono::milliseconds(1);
  ts::SocketOptions idle;
  idle.connection.idleTimeout = huge;
  EXPECT_THROW(ts::TCPSocket::open(loop, "127.0.0.1", 9, idle), ts::TypeError);
  ts::SocketOptions connect;
  connect.connectTimeout = std::chrono::milliseconds(10'000'000'000'000);
  EXPECT_THROW(ts::TCPSocket::open(loop, "127.0.0.1", 9, connect), ts::TypeError);
  ts::SocketOptions handshake;
  handshake.useSecureTransport = true;
  handshake.tls.handshakeTimeout = huge;
  EXPECT_THROW(ts::TCPSocket::open(loop, "127.0.0.1", 9, handshake), ts::TlsConfigurationError);
  ts::ServerSocketOptions keepAlive;
  keepAlive.localAddress = "127.0.0.1";
  keepAlive.connection.keepAlive = {.enabled = true, .idle = std::chrono::seconds(40000)};
  EXPECT_THROW(ts::TCPServerSocket::listen(loop, 0, keepAlive), ts::TypeError);
  // The maximum itself is a timeout like any other.
  ts::SocketOptions longest;
  longest.connection.idleTimeout = ts::kMaxTimeout;
  RawListener listener;
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port(), longest);
  Recorder rec(sock);
  ASSERT_TRUE(runUntil(loop, [&] {
    listener.tryAccept();
    return rec.has("open");
  }));
  runFor(loop, 100ms);
  EXPECT_EQ(rec.events, std::vector<std::string>{"open"});
  sock.closeImmediately();
  ASSERT_TRUE(runUntil(loop, [&] { return rec.closed(); }));
}

}  // namespace
}  // namespace test
