// Port of the reference's unit/test_tcpsocket.js (docs/reference.md §7.2): a TCPSocket client
// against a raw POSIX server socket, so that only the client's behaviour is under test.
#include <gtest/gtest.h>

#include "support/loop_fixture.hpp"
#include "support/test_support.hpp"

namespace test {
namespace {

const std::vector<std::uint8_t> kDataArray{0, 255, 254, 0, 1, 2, 3, 0, 255, 255, 254, 0};
constexpr std::size_t kBig = 65539;
constexpr std::size_t kMedium = 22000;

class XpcshellTcpSocket : public LoopFixture {
 protected:
  void connect(int peerReceiveBuffer = 0) {
    listener = std::make_unique<RawListener>("127.0.0.1", peerReceiveBuffer);
    sock = ts::TCPSocket::open(loop, "127.0.0.1", listener->port(),
                               {.binaryType = ts::BinaryType::ArrayBuffer});
    events.attach(sock);
    peer = acceptWhenOpen(loop, *listener, events);
  }
  bool pumpUntil(const std::function<bool()>& done) {
    return runUntil(loop, [&] {
      peer.pump();
      return done();
    });
  }

  std::unique_ptr<RawListener> listener;
  ts::TCPSocket sock;
  Recorder events;
  RawConn peer;
};

TEST_F(XpcshellTcpSocket, ConnectSock) {
  connect();
  EXPECT_EQ(events.events, std::vector<std::string>{"open"});
  EXPECT_EQ(events.dataEvents, 0);
}

TEST_F(XpcshellTcpSocket, SendData) {
  connect();
  EXPECT_TRUE(sock.send(kDataArray)) << "send should not have buffered such a small amount of data";
  ASSERT_TRUE(pumpUntil([&] { return peer.received().size() >= kDataArray.size(); }));
  runFor(loop, 20ms);
  peer.pump();
  EXPECT_EQ(peer.received(), asString(kDataArray));
}

TEST_F(XpcshellTcpSocket, SendBig) {
  connect();
  const auto big = randomBytes(kBig, 1);
  EXPECT_FALSE(sock.send(big)) << "expected send to return false on large buffer send";
  ASSERT_TRUE(pumpUntil([&] { return peer.received().size() >= kBig && events.has("drain"); }));
  EXPECT_EQ(peer.received(), asString(big));
  EXPECT_EQ(events.bufferedAtDrain, std::vector<std::uint64_t>{0});
}

TEST_F(XpcshellTcpSocket, ReceiveData) {
  connect();
  peer.writeAll(asString(kDataArray));
  ASSERT_TRUE(runUntil(loop, [&] { return events.received.size() >= kDataArray.size(); }));
  EXPECT_EQ(events.received, asString(kDataArray)) << "NULs and 0xFF intact";
  EXPECT_EQ(events.stringData, 0);
}

TEST_F(XpcshellTcpSocket, ServerCloses) {
  connect();
  peer.close();
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  EXPECT_EQ(events.events, (std::vector<std::string>{"open", "close"}));
  EXPECT_EQ(events.dataEvents, 0);
}

TEST_F(XpcshellTcpSocket, ClientCloses) {
  connect();
  sock.close();
  ASSERT_TRUE(pumpUntil([&] { return events.closed() && peer.eof(); }));
  EXPECT_EQ(events.events, (std::vector<std::string>{"open", "close"}));
}

TEST_F(XpcshellTcpSocket, BufferedClose) {
  connect();
  const auto big = randomBytes(kBig, 2);
  sock.send(big);
  sock.close();
  ASSERT_TRUE(pumpUntil([&] { return events.closed() && peer.eof(); }));
  EXPECT_EQ(peer.received(), asString(big));
}

TEST_F(XpcshellTcpSocket, BadConnect) {
  // A port nothing listens on: bind one, note it, close it.
  std::uint16_t port;
  {
    RawListener closed;
    port = closed.port();
  }
  sock = ts::TCPSocket::open(loop, "127.0.0.1", port);
  events.attach(sock);
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  EXPECT_EQ(events.events,
            (std::vector<std::string>{"error:ConnectionRefusedError:Network", "close"}))
      << "onerror then onclose, never open";
  EXPECT_EQ(events.dataEvents, 0);
}

TEST_F(XpcshellTcpSocket, DrainTwice) {
  connect();
  const auto big = randomBytes(kBig, 3);
  const auto big2 = randomBytes(kBig, 4);
  EXPECT_FALSE(sock.send(big));
  ASSERT_TRUE(
      pumpUntil([&] { return events.count("drain") == 1 && peer.received().size() >= kBig; }));
  EXPECT_FALSE(sock.send(big2));
  ASSERT_TRUE(
      pumpUntil([&] { return events.count("drain") == 2 && peer.received().size() >= 2 * kBig; }));
  EXPECT_EQ(peer.received(), asString(big) + asString(big2));
  sock.close();
  ASSERT_TRUE(pumpUntil([&] { return events.closed() && peer.eof(); }));
}

TEST_F(XpcshellTcpSocket, BufferTwice) {
  connect();
  const auto big = randomBytes(kBig, 5);
  const auto big2 = randomBytes(kBig, 6);
  EXPECT_FALSE(sock.send(big));
  EXPECT_FALSE(sock.send(big2)) << "second synchronous send must also report buffering";
  ASSERT_TRUE(pumpUntil([&] { return events.has("drain"); }));
  sock.close();
  ASSERT_TRUE(pumpUntil([&] { return events.closed() && peer.eof(); }));
  EXPECT_EQ(peer.received(), asString(big) + asString(big2));
  EXPECT_EQ(events.count("drain"), 1) << "one drain per episode";
}

// Fills the kernel's buffers (the peer does not read) until send() has to queue, returning what
// was queued then. 65536-byte sends never trip the full-buffer rule on an empty queue.
std::uint64_t fillKernel(ts::TCPSocket& sock, std::string& sent) {
  const auto chunk = randomBytes(65536, 7);
  for (int i = 0; i < 2000 && sock.bufferedAmount() == 0; ++i) {
    EXPECT_TRUE(sock.send(chunk));
    sent += asString(chunk);
  }
  return sock.bufferedAmount();
}

// continueSend. The reference counted bytes already handed to its copier thread; we count bytes not
// yet taken by the kernel (docs/reference.md §3.4's recommended semantics), so the kernel is filled
// first to make the queue observable, then the rule is checked exactly: each MEDIUM send adds 22000
// to bufferedAmount, send returns true while the total stays <= 65536, and drain sees 0.
TEST_F(XpcshellTcpSocket, ContinueSend) {
  connect(4096);
  std::string sent;
  const std::uint64_t base = fillKernel(sock, sent);
  ASSERT_GT(base, 0u);
  const auto medium = randomBytes(kMedium, 8);
  int trues = 0;
  while (sock.send(medium)) {
    ++trues;
    sent += asString(medium);
    EXPECT_EQ(sock.bufferedAmount(), base + kMedium * trues);
  }
  sent += asString(medium);
  EXPECT_EQ(sock.bufferedAmount(), base + kMedium * (trues + 1));
  EXPECT_EQ(trues, static_cast<int>((65536 - base) / kMedium));
  ASSERT_TRUE(
      pumpUntil([&] { return events.has("drain") && peer.received().size() >= sent.size(); }));
  EXPECT_EQ(events.bufferedAtDrain, std::vector<std::uint64_t>{0});
  EXPECT_EQ(peer.received(), sent);
  sock.close();
  ASSERT_TRUE(pumpUntil([&] { return events.closed() && peer.eof(); }));
}

// childbuffered (IPC-only in the reference): with 65535 bytes buffered, a 12-byte send returns
// false; drain follows; the server gets everything. We reach 65535 buffered bytes for real.
TEST_F(XpcshellTcpSocket, ChildBuffered) {
  connect(4096);
  std::string sent;
  fillKernel(sock, sent);
  // Let the writer push what it can, then top the queue up to exactly 65535 bytes.
  runFor(loop, 20ms);
  const std::uint64_t queued = sock.bufferedAmount();
  ASSERT_LT(queued, 65535u);
  const auto pad = randomBytes(65535 - queued, 9);
  EXPECT_TRUE(sock.send(pad));
  sent += asString(pad);
  ASSERT_EQ(sock.bufferedAmount(), 65535u);
  EXPECT_FALSE(sock.send(kDataArray)) << "65535 + 12 > 65536";
  sent += asString(kDataArray);
  ASSERT_TRUE(
      pumpUntil([&] { return events.has("drain") && peer.received().size() >= sent.size(); }));
  EXPECT_EQ(peer.received(), sent);
  sock.close();
  ASSERT_TRUE(pumpUntil([&] { return events.closed() && peer.eof(); }));
}

// childnotbuffered (IPC-only in the reference): one false send yields exactly one drain, and later
// activity fires no other.
TEST_F(XpcshellTcpSocket, ChildNotBuffered) {
  connect();
  const auto big = randomBytes(kBig, 10);
  EXPECT_FALSE(sock.send(big));
  ASSERT_TRUE(pumpUntil([&] { return events.has("drain") && peer.received().size() >= kBig; }));
  EXPECT_TRUE(sock.send(kDataArray));
  ASSERT_TRUE(pumpUntil([&] { return peer.received().size() >= kBig + kDataArray.size(); }));
  runFor(loop, 50ms);
  EXPECT_EQ(events.count("drain"), 1);
  sock.close();
  ASSERT_TRUE(pumpUntil([&] { return events.closed() && peer.eof(); }));
}

}  // namespace
}  // namespace test
