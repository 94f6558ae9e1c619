// The idle timeout: a connection quiet for too long fails with NetworkTimeoutError and is reset,
// never closed politely (a FIN would leave its buffers to the kernel); traffic either way keeps it
// away, without a timer operation per read or write.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/loop_fixture.hpp"

namespace test {
namespace {

using IdleTimeout = LoopFixture;

TEST_F(IdleTimeout, IdleTimeoutIsNetworkTimeoutErrorAndResetsThePeer) {
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

TEST_F(IdleTimeout, TrafficKeepsAnIdleTimeoutAway) {
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

}  // namespace
}  // namespace test
