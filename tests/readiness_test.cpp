// Readiness from the loop's own epoll set (src/readiness.hpp): registered once, edge-triggered,
// a wait is a flag. What that must not change: a socket waiting for data keeps run() going, and
// run() returns once nothing waits; and an edge is never needed for what already arrived, such
// as a FIN that came in the same wakeup as the last bytes.
#include "readiness.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
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

// A client that, on each readiness, runs the next of a list of waiter changes.
struct ScriptedClient : tcpsocket::detail::ReadinessSet::Client {
  tcpsocket::detail::ReadinessSet* set = nullptr;
  std::vector<std::function<void()>> onReady;
  std::size_t calls = 0;
  void descriptorReady(bool, bool, bool) noexcept override {
    if (calls < onReady.size()) onReady[calls]();
    ++calls;
  }
};

// Found by the README's key-value server, whose run() did not return after a drain: a client
// that stopped and started waiting inside a dispatch made the set arm a second wait, and the
// second completion cleared the flag of a wait still pending, so the io_context kept work with
// nobody waiting. At most one wait may be outstanding, and none once nobody waits.
TEST(ReadinessSet, NoWaitIsLeftOutstandingWhenClientsStopAndStartWaitingInsideADispatch) {
  asio::io_context io;
  tcpsocket::detail::ReadinessSet set(io);
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
  ScriptedClient client;
  tcpsocket::detail::ReadinessSet::Token token;
  ASSERT_FALSE(set.add(fds[0], client, token));
  client.onReady = {
      [&] {  // first edge: still waiting, re-registered inside the dispatch
        set.waiterRemoved();
        set.waiterAdded();
      },
      [&] {  // second edge: waits for a moment, then not at all
        set.waiterRemoved();
        set.waiterAdded();
        set.waiterRemoved();
      },
  };
  set.waiterAdded();
  ASSERT_EQ(::write(fds[1], "a", 1), 1);
  io.run_one_for(std::chrono::seconds(5));
  ASSERT_EQ(client.calls, 1u);
  ASSERT_EQ(::write(fds[1], "b", 1), 1);  // a new edge
  io.run_for(std::chrono::seconds(5));    // returns early only if no work is left
  EXPECT_EQ(client.calls, 2u);
  EXPECT_TRUE(io.stopped()) << "a wait was left outstanding with no client waiting";
  set.remove(token);
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace
}  // namespace test
