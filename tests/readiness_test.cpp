// Readiness from the loop's own epoll set (src/readiness.hpp): registered once, edge-triggered,
// a wait is a flag. What that must not change: a socket waiting for data keeps run() going, and
// run() returns once nothing waits; and an edge is never needed for what already arrived, such
// as a FIN that came in the same wakeup as the last bytes.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "support/loop_fixture.hpp"
#include "support/pair.hpp"

namespace test {
namespace {

using Readiness = LoopFixture;

TEST_F(Readiness, RunReturnsOnlyOnceTheWaitingSocketIsDone) {
  RawListener listener;
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port());
  Recorder events(sock);
  RawConn peer = acceptWhenOpen(loop, listener, events);
  std::atomic<bool> finished{false};
  std::atomic<bool> stoppedByWatchdog{false};
  std::thread writer([&] {
    std::this_thread::sleep_for(100ms);  // run() is waiting by now, with only the socket's wait
    peer.writeAll("ping");
    peer.close();
  });
  std::thread watchdog([&] {
    for (int i = 0; i < 1000 && !finished; ++i) std::this_thread::sleep_for(10ms);
    if (!finished) {
      stoppedByWatchdog = true;
      loop.post([&] { loop.stop(); });
    }
  });
  loop.run();
  finished = true;
  writer.join();
  watchdog.join();
  EXPECT_FALSE(stoppedByWatchdog) << "run() went on after every socket was done";
  EXPECT_EQ(events.received, "ping") << "run() returned while the socket still waited for data";
  EXPECT_TRUE(events.closed());
}

TEST_F(Readiness, AFinThatCameWithTheLastBytesIsReadOnTo) {
  RawListener listener;
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port());
  Recorder events(sock);
  RawConn peer = acceptWhenOpen(loop, listener, events);
  sock.suspend();
  peer.writeAll("last");
  peer.shutdownWrite();
  runFor(loop, 50ms);  // the bytes and the FIN arrive, and their edges pass, while nobody reads
  sock.resume();       // one short read takes the bytes; no edge will announce the FIN
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  EXPECT_EQ(events.received, "last");
  EXPECT_EQ(events.events, (std::vector<std::string>{"open", "close"}));
}

TEST_F(Readiness, AWriterBlockedByAFullKernelResumesWhenThePeerReads) {
  RawListener listener("127.0.0.1", 4096);
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port());
  Recorder events(sock);
  RawConn peer = acceptWhenOpen(loop, listener, events);
  const std::string block(1 << 20, 'w');
  std::size_t sent = 0;
  for (int i = 0; i < 16; ++i) {  // more than the kernel's send buffer grows to
    sock.send(block);
    sent += block.size();
  }
  runFor(loop, 50ms);
  ASSERT_GT(sock.bufferedAmount(), 0u) << "the test needs a writer the kernel refused";
  // Only the peer's reads free room: each raises the writable edge the writer waits for.
  ASSERT_TRUE(runUntil(loop, [&] {
    peer.pump();
    return peer.received().size() == sent;
  }));
  EXPECT_TRUE(events.has("drain"));
}

}  // namespace
}  // namespace test
