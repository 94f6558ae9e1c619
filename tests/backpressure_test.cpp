// Backpressure both ways. Outgoing: maxBufferedAmount is a hard cap, so an app that ignores
// send()'s "stop" fails its socket instead of growing without bound, and a cap below the point
// where send() says "stop" is refused. Incoming: a suspended socket reads nothing, so a flooding
// peer fills kernel buffers and blocks instead of growing the process.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "support/loop_fixture.hpp"

namespace test {
namespace {

using Backpressure = LoopFixture;

TEST_F(Backpressure, HardCapOnBufferedAmountFailsInsteadOfGrowing) {
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

// Regression (review): a cap below the 64 KiB where send() starts saying "stop" cut off apps that
// follow send()'s advice; it is refused up front.
TEST_F(Backpressure, BufferCapBelowTheSendThresholdIsRefused) {
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

// While suspended nothing is read: a peer sending as fast as it can fills kernel buffers and then
// blocks; the process does not buffer its flood.
TEST_F(Backpressure, SuspendedSocketDoesNotBufferAFloodingPeer) {
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

}  // namespace
}  // namespace test
