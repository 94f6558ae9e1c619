// Beyond the reference, for servers that fan one message out to many peers and need time:
// TCPSocket::sendShared (referenced, not copied) and EventLoop's timers.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/loop_fixture.hpp"
#include "support/test_support.hpp"

namespace test {
namespace {

class FanOut : public LoopFixture {
 protected:
  // A peer that does not read yet, with a small receive buffer so that our queue fills at once.
  RawListener listener{"127.0.0.1", 4096};
};

TEST_F(FanOut, SendSharedKeepsTheBlockAliveUntilWrittenAndDeliversItIntact) {
  auto socket = ts::TCPSocket::open(loop, "127.0.0.1", listener.port());
  Recorder events(socket);
  RawConn peer = acceptWhenOpen(loop, listener, events);
  auto block = std::make_shared<const std::string>(asString(randomBytes(4 << 20, 3)));
  const std::weak_ptr<const std::string> watch = block;
  const ts::ArrayBuffer bytes(reinterpret_cast<const std::uint8_t*>(block->data()), block->size());
  EXPECT_FALSE(socket.sendShared(bytes, block)) << "over 64 KiB: the reference's false";
  EXPECT_FALSE(socket.sendShared(bytes, block));
  block.reset();
  ASSERT_GT(socket.bufferedAmount(), 4u << 20) << "the kernel cannot have taken 8 MiB yet";
  EXPECT_FALSE(watch.expired()) << "a queued rest is referenced, not copied";
  ASSERT_TRUE(runUntil(loop, [&] {
    peer.pump();
    return peer.received().size() == 8u << 20;
  }));
  const std::string expected = asString(randomBytes(4 << 20, 3));
  EXPECT_TRUE(peer.received() == expected + expected);
  ASSERT_TRUE(runUntil(loop, [&] { return events.has("drain"); }));
  EXPECT_TRUE(watch.expired()) << "released once written";
}

TEST_F(FanOut, CloseImmediatelyReleasesSharedBlocksAtOnce) {
  auto socket = ts::TCPSocket::open(loop, "127.0.0.1", listener.port());
  Recorder events(socket);
  RawConn peer = acceptWhenOpen(loop, listener, events);
  auto block = std::make_shared<const std::string>(8 << 20, 'x');
  const std::weak_ptr<const std::string> watch = block;
  const ts::ArrayBuffer bytes(reinterpret_cast<const std::uint8_t*>(block->data()), block->size());
  socket.sendShared(bytes, std::move(block));
  ASSERT_FALSE(watch.expired());
  socket.closeImmediately();
  EXPECT_TRUE(watch.expired());
}

TEST_F(FanOut, SendSharedOnAClosedSocketThrowsAndKeepsNothing) {
  auto socket = ts::TCPSocket::open(loop, "127.0.0.1", listener.port());
  socket.close();
  auto block = std::make_shared<const std::string>("x");
  const std::weak_ptr<const std::string> watch = block;
  const ts::ArrayBuffer bytes(reinterpret_cast<const std::uint8_t*>(block->data()), block->size());
  EXPECT_THROW(socket.sendShared(bytes, std::move(block)), ts::InvalidStateError);
  EXPECT_TRUE(watch.expired());
}

TEST(LoopTimers, TimeoutRunsOnceAndIntervalRepeatsUntilCancelled) {
  ts::EventLoop loop;
  int once = 0;
  int repeats = 0;
  loop.setTimeout(1ms, [&] { ++once; });
  ts::EventLoop::Timer interval;
  interval = loop.setInterval(1ms, [&] {
    if (++repeats == 5) interval.cancel();  // from inside its own callback
  });
  loop.run();  // returns once nothing is pending: the one-shot ran, the interval was cancelled
  EXPECT_EQ(once, 1);
  EXPECT_EQ(repeats, 5);
}

TEST(LoopTimers, CancelledBeforeItIsDueNeverRuns) {
  ts::EventLoop loop;
  bool ran = false;
  auto timer = loop.setTimeout(1ms, [&] { ran = true; });
  auto copy = timer;
  copy.cancel();
  timer.cancel();  // idempotent, through any copy
  loop.run();
  EXPECT_FALSE(ran);
}

TEST(LoopTimers, DroppingTheHandleDoesNotCancel) {
  ts::EventLoop loop;
  bool ran = false;
  {
    auto dropped = loop.setTimeout(1ms, [&] { ran = true; });
  }
  loop.run();
  EXPECT_TRUE(ran);
}

TEST(LoopTimers, ExceptionsGoToTheLoopsHandlerAndTheIntervalGoesOn) {
  ts::EventLoop loop;
  int reported = 0;
  loop.setExceptionHandler([&](std::exception_ptr) { ++reported; });
  int runs = 0;
  ts::EventLoop::Timer interval;
  interval = loop.setInterval(1ms, [&] {
    if (++runs == 3) interval.cancel();
    throw std::runtime_error("listener bug");
  });
  loop.run();
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(reported, 3);
}

TEST(LoopTimers, PendingTimersAreFreedWithTheLoopAndTheirHandlesGoInert) {
  auto owned = std::make_shared<int>(1);
  std::weak_ptr<int> watch = owned;
  ts::EventLoop::Timer timer;
  {
    ts::EventLoop loop;
    timer = loop.setTimeout(1h, [owned] { (void)owned; });
    owned.reset();
    EXPECT_FALSE(watch.expired());
  }
  EXPECT_TRUE(watch.expired()) << "the callback (and what it holds) is freed with the loop";
  timer.cancel();  // must not touch the destroyed loop
}

}  // namespace
}  // namespace test
