// Driving an EventLoop from a host's loop (EventLoop::hostDescriptor / runReady), the way the
// Node.js binding drives it from libuv. The "host" here is poll(2) on the descriptor.
#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <thread>

#include "support/test_support.hpp"

namespace test {
namespace {

bool readable(int fd, int timeoutMs) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeoutMs) == 1 && (p.revents & POLLIN) != 0;
}

// The host's loop: wait for the descriptor, then run what is ready; nothing else drives the loop.
bool hostRunUntil(ts::EventLoop& loop, const std::function<bool()>& done,
                  std::chrono::milliseconds timeout = 10s) {
  const int fd = loop.hostDescriptor();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    if (readable(fd, 50)) loop.runReady();
  }
  return true;
}

// The descriptor must go quiet once the work is done: a host watching a descriptor that stays
// readable spins at 100% CPU. A few spurious wake-ups are allowed (Asio leaves the timer of a
// cancelled wait armed, so it fires once more, to no effect).
void expectQuiet(ts::EventLoop& loop) {
  const int fd = loop.hostDescriptor();
  for (int i = 0; i < 5 && readable(fd, 30); ++i) loop.runReady();
  EXPECT_FALSE(readable(fd, 30)) << "the host descriptor stays readable with nothing to do";
}

TEST(HostLoop, EchoRoundTripRunsOnTheHostsThreadAndGoesQuiet) {
  ts::EventLoop loop;
  auto server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  std::vector<ts::TCPSocket> accepted;
  const auto host = std::this_thread::get_id();
  bool offThread = false;
  server.onconnect([&](const ts::TCPServerSocketEvent& e) {
    accepted.push_back(e.socket);
    e.socket.ondata([&](const ts::TCPSocketEvent& d) {
      offThread |= std::this_thread::get_id() != host;
      d.target.send(std::get<std::string_view>(d.data));
    });
  });
  auto client = ts::TCPSocket::open(loop, "127.0.0.1", server.localPort());
  Recorder rec(client);
  client.onopen([](const ts::TCPSocketEvent& e) { e.target.send(std::string_view("ping")); });
  ASSERT_TRUE(hostRunUntil(loop, [&] { return rec.received == "ping"; }));
  EXPECT_FALSE(offThread);
  EXPECT_EQ(rec.events, std::vector<std::string>{"open"});
  expectQuiet(loop);
  client.close();
  server.close();
  ASSERT_TRUE(hostRunUntil(loop, [&] { return rec.closed(); }));
}

// Calls made between two runs (from a host's timer, say) queue work that no descriptor announces
// by itself; the loop must wake the host for them.
TEST(HostLoop, CallsMadeBetweenRunsWakeTheHost) {
  ts::EventLoop loop;
  const int fd = loop.hostDescriptor();
  RawListener listener;
  auto client = ts::TCPSocket::open(loop, "127.0.0.1", listener.port());
  Recorder rec(client);
  RawConn peer;
  ASSERT_TRUE(hostRunUntil(loop, [&] {
    if (!peer.valid()) {
      const int accepted = listener.tryAccept();
      if (accepted >= 0) peer = RawConn(accepted);
    }
    return peer.valid() && rec.has("open");
  }));
  expectQuiet(loop);
  client.close();  // outside any run: the close event is queued, no socket became ready yet
  EXPECT_TRUE(readable(fd, 1000));
  ASSERT_TRUE(hostRunUntil(loop, [&] {
    peer.pump();
    return rec.closed();
  }));
  EXPECT_EQ(rec.events, (std::vector<std::string>{"open", "close"}));
}

TEST(HostLoop, PostFromAnotherThreadWakesTheHost) {
  ts::EventLoop loop;
  const int fd = loop.hostDescriptor();
  std::atomic<bool> ran{false};
  std::thread other([&] { loop.post([&] { ran = true; }); });
  other.join();
  EXPECT_TRUE(readable(fd, 1000));
  loop.runReady();
  EXPECT_TRUE(ran);
  expectQuiet(loop);
}

TEST(HostLoop, TimersWakeTheHost) {
  ts::EventLoop loop;
  loop.hostDescriptor();
  bool fired = false;
  loop.setTimeout(20ms, [&] { fired = true; });
  ASSERT_TRUE(hostRunUntil(loop, [&] { return fired; }));
  expectQuiet(loop);
  int ticks = 0;
  auto interval = loop.setInterval(5ms, [&] { ++ticks; });
  ASSERT_TRUE(hostRunUntil(loop, [&] { return ticks >= 3; }));
  interval.cancel();  // outside a run
  expectQuiet(loop);
}

// Name lookups run on a thread of the loop's; the answer must still reach a hosted loop.
TEST(HostLoop, NameLookupsCompleteOnAHostedLoop) {
  ts::EventLoop loop;
  loop.hostDescriptor();
  RawListener listener;
  auto client = ts::TCPSocket::open(loop, "localhost", listener.port());
  Recorder rec(client);
  ASSERT_TRUE(hostRunUntil(loop, [&] {
    listener.tryAccept();
    return !rec.events.empty();
  }));
  // "localhost" may resolve to ::1 first where the listener is IPv4 only; either way an event
  // arrived, and on this listener's address family it is open.
  EXPECT_EQ(rec.events.front(), "open");
  client.closeImmediately();
  ASSERT_TRUE(hostRunUntil(loop, [&] { return rec.closed(); }));
}

TEST(HostLoop, ABudgetLeavesTheRestForTheNextWakeUp) {
  ts::EventLoop loop;
  const int fd = loop.hostDescriptor();
  int ran = 0;
  for (int i = 0; i < 5; ++i) loop.post([&] { ++ran; });
  EXPECT_EQ(loop.runReady(2), 2u);
  EXPECT_EQ(ran, 2);
  EXPECT_TRUE(readable(fd, 0)) << "work is left, so the host must be called again";
  ASSERT_TRUE(hostRunUntil(loop, [&] { return ran == 5; }));
  expectQuiet(loop);
}

// Found by attack: the wake-up handler cleared its flag before reading the eventfd, so a post
// racing with it could leave the flag set with nothing readable; every later wake-up was then
// skipped and the host never called again.
TEST(HostLoop, PostsRacingWithRunsAreNeverLost) {
  ts::EventLoop loop;
  const int fd = loop.hostDescriptor();
  constexpr long kPosts = 50000;
  std::atomic<long> ran{0};
  std::thread poster([&] {
    std::atomic<int> jitter{0};  // uneven gaps between posts, so that some land mid-run
    for (long i = 0; i < kPosts; ++i) {
      loop.post([&] { ran.fetch_add(1, std::memory_order_relaxed); });
      for (long k = 0; k < (i % 97) * 3; ++k) jitter.fetch_add(1, std::memory_order_relaxed);
    }
  });
  int stalls = 0;  // one-second waits with work outstanding; a lost wake-up makes them endless
  while (ran.load() < kPosts && stalls < 3) {
    if (readable(fd, 1000)) {
      loop.runReady();
      stalls = 0;
    } else {
      ++stalls;
    }
  }
  poster.join();
  EXPECT_EQ(ran.load(), kPosts) << "the descriptor went silent with posts queued";
}

// Found by attack: with a budget of 1 the loop's own wake-up handler used up every run, and each
// run ended by waking the next: a host spinning at 100% CPU.
TEST(HostLoop, ABudgetOfOneStillGoesQuiet) {
  ts::EventLoop loop;
  const int fd = loop.hostDescriptor();
  int ran = 0;
  std::thread([&] { loop.post([&] { ++ran; }); }).join();
  int wakeUps = 0;
  for (int i = 0; i < 1000 && readable(fd, 100); ++i) {
    ++wakeUps;
    loop.runReady(1);
  }
  EXPECT_EQ(ran, 1);
  EXPECT_LT(wakeUps, 10) << "the descriptor stays readable with nothing to do";
}

// Found by attack: stop() from a handler ended the run with work queued and the descriptor quiet.
TEST(HostLoop, StopInsideAHandlerLeavesTheRestAnnounced) {
  ts::EventLoop loop;
  const int fd = loop.hostDescriptor();
  int ran = 0;
  std::thread([&] {
    loop.post([&] {
      ++ran;
      loop.stop();
    });
    loop.post([&] { ++ran; });
  }).join();
  ASSERT_TRUE(readable(fd, 1000));
  loop.runReady();
  EXPECT_EQ(ran, 1);
  EXPECT_TRUE(readable(fd, 1000)) << "work is left after stop(), so the host must be called again";
  ASSERT_TRUE(hostRunUntil(loop, [&] { return ran == 2; }));
  expectQuiet(loop);
}

TEST(HostLoop, RunReadyFromAnotherThreadWhileRunningIsRefused) {
  ts::EventLoop loop;
  loop.hostDescriptor();
  std::atomic<bool> inside{false};
  std::atomic<bool> release{false};
  loop.post([&] {
    inside = true;
    for (int i = 0; i < 2000 && !release; ++i) std::this_thread::sleep_for(1ms);
  });
  std::thread runner([&] { loop.runReady(); });
  for (int i = 0; i < 2000 && !inside; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_THROW(loop.runReady(), ts::WrongThreadError);
  release = true;
  runner.join();
}

}  // namespace
}  // namespace test

namespace test {
namespace {

// Found by attack: a KeepAlive released after its loop was destroyed wrote into the freed loop
// (AddressSanitizer: heap-use-after-free in on_work_finished).
TEST(LoopLifetime, AKeepAliveMayOutliveItsLoop) {
  ts::EventLoop::KeepAlive kept;
  ts::EventLoop::KeepAlive released;
  {
    ts::EventLoop loop;
    kept = loop.keepAlive();
    released = loop.keepAlive();
    released.reset();  // while the loop lives
  }
  kept.reset();  // after: must touch nothing
  std::atomic<bool> done{false};
  std::thread other([&] {
    ts::EventLoop::KeepAlive fromThread;
    {
      ts::EventLoop loop;
      fromThread = loop.keepAlive();
    }
    done = true;
  });
  other.join();
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace test
