// The error event's names (docs/reference.md §6.1, with our deviation that connect failures tell
// their true cause), failures injected through the syscall and resolver seams, resets and
// half-closes.
#include <gtest/gtest.h>

#include <asio/error.hpp>
#include <cerrno>

#include "error_table.hpp"
#include "support/fake_resolver.hpp"
#include "support/loop_fixture.hpp"
#include "support/pair.hpp"
#include "sys_ops.hpp"

namespace test {
namespace {

using ErrorsAndFaults = LoopFixture;

TEST(ErrorNames, ErrnoMapsToTheReferenceNames) {
  using tcpsocket::detail::classifyErrno;
  EXPECT_EQ(classifyErrno(ECONNREFUSED).name, "ConnectionRefusedError");
  EXPECT_EQ(classifyErrno(EHOSTUNREACH).name, "ConnectionRefusedError");
  EXPECT_EQ(classifyErrno(ETIMEDOUT).name, "NetworkTimeoutError");
  EXPECT_EQ(classifyErrno(ECONNRESET).name, "NetworkError");
  EXPECT_EQ(classifyErrno(EPIPE).name, "NetworkError");
  EXPECT_EQ(classifyErrno(ECONNRESET).message, "Network");
  EXPECT_EQ(tcpsocket::detail::classifyError(asio::error::host_not_found).name,
            "DomainNotFoundError");
  EXPECT_EQ(tcpsocket::detail::classifyError(asio::error::eof).name, "NetworkInterruptError");
}

TEST_F(ErrorsAndFaults, UnknownHostIsDomainNotFound) {
  // Through the resolver seam: no DNS server is reachable from tests.
  FakeResolver dns(loop);
  dns.answer("no-such-host.invalid");  // with no address: not found
  auto sock = ts::TCPSocket::open(loop, "no-such-host.invalid", 80);
  Recorder events(sock);
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  for (const std::string& host : dns.asked) EXPECT_EQ(host, "no-such-host.invalid");
  EXPECT_EQ(events.events,
            (std::vector<std::string>{"error:DomainNotFoundError:Network", "close"}));
  EXPECT_EQ(sock.host(), "no-such-host.invalid");
}

TEST_F(ErrorsAndFaults, CloseWhileResolvingDoesNotWaitForDns) {
  FakeResolver dns(loop);
  dns.stall();  // never answers by itself
  auto sock = ts::TCPSocket::open(loop, "slow.example", 80);
  Recorder events(sock);
  runFor(loop, 10ms);
  sock.close();
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  ASSERT_TRUE(dns.pending);
  dns.pending({}, {});  // a late answer is ignored
  runFor(loop, 10ms);
  EXPECT_EQ(events.events, std::vector<std::string>{"close"});
}

TEST_F(ErrorsAndFaults, ConnectTimeoutCoversNameResolution) {
  FakeResolver dns(loop);
  dns.stall();  // never answers by itself
  auto sock = ts::TCPSocket::open(loop, "slow.example", 80, {.connectTimeout = 50ms});
  Recorder events(sock);
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  EXPECT_EQ(events.events,
            (std::vector<std::string>{"error:NetworkTimeoutError:Network", "close"}));
  ASSERT_TRUE(dns.pending);
  dns.pending({}, {});  // a late answer is ignored
  runFor(loop, 10ms);
  EXPECT_EQ(events.count("close"), 1);
}

// A listener whose accept queue is full drops new SYNs: the connection attempt hangs, as it does
// towards a host that does not answer.
TEST_F(ErrorsAndFaults, ConnectTimeoutWhenSynIsNeverAnswered) {
  const int listenFd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(listenFd, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::listen(listenFd, 0), 0);
  ::getsockname(listenFd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::vector<int> fillers;  // non-blocking: those beyond the queue's room hang like ours
  for (int i = 0; i < 3; ++i) {
    fillers.push_back(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    ::connect(fillers.back(), reinterpret_cast<sockaddr*>(&addr), len);
  }
  runFor(loop, 20ms);

  auto sock =
      ts::TCPSocket::open(loop, "127.0.0.1", ntohs(addr.sin_port), {.connectTimeout = 200ms});
  Recorder events(sock);
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  EXPECT_EQ(events.events,
            (std::vector<std::string>{"error:NetworkTimeoutError:Network", "close"}));
  EXPECT_EQ(sock.nativeHandle(), -1) << "the attempt's descriptor is closed";
  for (const int fd : fillers) ::close(fd);
  ::close(listenFd);
}

TEST_F(ErrorsAndFaults, ConnectTimeoutNeverFiresOnceOpen) {
  auto server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", server.localPort(), {.connectTimeout = 30ms});
  Recorder events(sock);
  ASSERT_TRUE(runUntil(loop, [&] { return events.has("open") || events.closed(); }));
  runFor(loop, 100ms);
  EXPECT_EQ(events.events, std::vector<std::string>{"open"});
  EXPECT_EQ(sock.readyState(), ts::ReadyState::Open);
}

TEST_F(ErrorsAndFaults, LocalhostResolvesThroughTheSystemResolver) {
  auto server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "::"});
  auto sock = ts::TCPSocket::open(loop, "localhost", server.localPort());
  Recorder events(sock);
  ASSERT_TRUE(runUntil(loop, [&] { return events.has("open") || events.closed(); }));
  EXPECT_EQ(events.events, std::vector<std::string>{"open"});
  EXPECT_EQ(sock.host(), "localhost");
}

TEST_F(ErrorsAndFaults, ResetByPeerIsNetworkErrorThenClose) {
  RawListener listener;
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port());
  Recorder events(sock);
  RawConn peer = acceptWhenOpen(loop, listener, events);
  peer.reset();
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  EXPECT_EQ(events.events,
            (std::vector<std::string>{"open", "error:NetworkError:Network", "close"}));
}

// A write failure detected inside send() is reported later, never from inside the call.
TEST_F(ErrorsAndFaults, InjectedEpipeOnSendIsReportedAsyncAsErrorThenClose) {
  Pair p(loop);
  p.waitConnected();
  tcpsocket::sys::Ops failing = tcpsocket::sys::realOps();
  failing.send = [](int, const void*, size_t, int) -> ssize_t {
    errno = EPIPE;
    return -1;
  };
  tcpsocket::sys::ScopedOps inject(failing);
  EXPECT_TRUE(p.client.send(std::string_view("doomed")));
  EXPECT_EQ(p.client.readyState(), ts::ReadyState::Open);
  EXPECT_NO_THROW(p.client.send(std::string_view("more")));
  ASSERT_TRUE(runUntil(loop, [&] { return p.clientEvents.closed(); }));
  EXPECT_EQ(p.clientEvents.events,
            (std::vector<std::string>{"open", "error:NetworkError:Network", "close"}));
}

// The kernel taking a few bytes at a time (a peer with a small window, reading as bytes come)
// must not lose, duplicate or reorder anything: direct and gathered writes are cut short or
// refused again and again. Injected short writes cannot stand in for the kernel here: readiness is
// edge-triggered (src/readiness.hpp), and only a send buffer that is really full raises the edge
// a writer then waits for.
TEST_F(ErrorsAndFaults, ShortWritesToASmallWindowKeepEveryByteInOrder) {
  RawListener listener("127.0.0.1", 4096);
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port());
  Recorder events(sock);
  RawConn peer = acceptWhenOpen(loop, listener, events);
  std::string expected;
  for (int i = 0; i < 4000; ++i) {  // 6 MB: more than the kernel's send buffer grows to
    const auto chunk = randomBytes(1 + (i * 37) % 3000, static_cast<std::uint32_t>(i));
    sock.send(chunk);
    expected += asString(chunk);
  }
  EXPECT_GT(sock.bufferedAmount(), 0u) << "the test needs writes the kernel cuts short";
  sock.close();
  ASSERT_TRUE(runUntil(loop, [&] {
    peer.pump();
    return peer.eof();
  }));
  EXPECT_EQ(peer.received(), expected);
  EXPECT_FALSE(events.has("error"));
}

TEST_F(ErrorsAndFaults, InjectedResetOnReadIsNetworkError) {
  Pair p(loop);
  p.waitConnected();
  tcpsocket::sys::Ops failing = tcpsocket::sys::realOps();
  failing.recv = [](int, void*, size_t, int) -> ssize_t {
    errno = ECONNRESET;
    return -1;
  };
  tcpsocket::sys::ScopedOps inject(failing);
  p.server.send(std::string_view("wake the reader"));
  ASSERT_TRUE(runUntil(loop, [&] { return p.clientEvents.closed(); }));
  EXPECT_EQ(p.clientEvents.events,
            (std::vector<std::string>{"open", "error:NetworkError:Network", "close"}));
}

// Deviation from the reference (docs/reference.md §2.5): a peer half-close while our output is
// queued used to leave the socket open forever. We flush, then close.
TEST_F(ErrorsAndFaults, PeerHalfCloseWithQueuedOutputStillEndsInClose) {
  RawListener listener("127.0.0.1", 4096);
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port(),
                                  {.binaryType = ts::BinaryType::ArrayBuffer});
  Recorder events(sock);
  RawConn peer = acceptWhenOpen(loop, listener, events);
  std::string sent;
  const auto chunk = randomBytes(65536, 3);
  for (int i = 0; i < 2000 && sock.bufferedAmount() == 0; ++i) {
    sock.send(chunk);
    sent += asString(chunk);
  }
  ASSERT_GT(sock.bufferedAmount(), 0u);
  peer.shutdownWrite();
  runFor(loop, 30ms);
  EXPECT_EQ(sock.readyState(), ts::ReadyState::Open) << "still flushing";
  ASSERT_TRUE(runUntil(loop, [&] {
    peer.pump();
    return events.closed() && peer.eof();
  }));
  EXPECT_EQ(peer.received(), sent);
  EXPECT_EQ(events.events, (std::vector<std::string>{"open", "close"}));
}

TEST_F(ErrorsAndFaults, PeerHalfCloseWithNothingQueuedClosesAtOnce) {
  Pair p(loop);
  p.waitConnected();
  ::shutdown(p.server.nativeHandle(), SHUT_WR);
  ASSERT_TRUE(runUntil(loop, [&] { return p.clientEvents.closed(); }));
  EXPECT_EQ(p.clientEvents.events, (std::vector<std::string>{"open", "close"}));
}

// A peer still sending when we close must not turn our close into a reset that destroys what we
// sent: we linger, discarding its input, until its FIN.
TEST_F(ErrorsAndFaults, CloseWhilePeerStillSendsDeliversOurDataWithoutReset) {
  RawListener listener;
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port());
  Recorder events(sock);
  RawConn peer = acceptWhenOpen(loop, listener, events);
  const auto reply = randomBytes(200000, 4);
  sock.send(reply);
  sock.close();
  peer.writeAll(std::string(100000, 'z'));  // arrives after our close()
  ASSERT_TRUE(runUntil(loop, [&] {
    peer.pump();
    return peer.eof() || peer.failed();
  }));
  EXPECT_FALSE(peer.failed()) << "no reset";
  EXPECT_EQ(peer.received(), asString(reply));
  peer.close();
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  EXPECT_EQ(events.events, (std::vector<std::string>{"open", "drain", "close"}));
}

TEST_F(ErrorsAndFaults, AcceptOutOfDescriptorsBacksOffAndRecovers) {
  auto server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  static int failuresLeft;
  failuresLeft = 3;
  tcpsocket::sys::Ops exhausted = tcpsocket::sys::realOps();
  exhausted.accept4 = [](int fd, sockaddr* addr, socklen_t* len, int flags) -> int {
    if (failuresLeft > 0) {
      --failuresLeft;
      errno = EMFILE;
      return -1;
    }
    return ::accept4(fd, addr, len, flags);
  };
  tcpsocket::sys::ScopedOps inject(exhausted);
  std::vector<ts::TCPSocket> accepted;
  server.onconnect([&](const ts::TCPServerSocketEvent& e) { accepted.push_back(e.socket); });
  auto client = ts::TCPSocket::open(loop, "127.0.0.1", server.localPort());
  ASSERT_TRUE(runUntil(loop, [&] { return accepted.size() == 1; }));
  EXPECT_EQ(failuresLeft, 0);
}

}  // namespace
}  // namespace test
