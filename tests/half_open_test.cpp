// A peer's FIN: with allowHalfOpen the socket fires `end` and this side goes on sending until it
// decides to close; without it the socket closes, with no `end`. Either way a half-close in the
// middle of a transfer loses nothing in either direction.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/loop_fixture.hpp"
#include "support/pair.hpp"

namespace test {
namespace {

using HalfOpen = LoopFixture;

TEST_F(HalfOpen, AllowHalfOpenFiresEndAndKeepsSending) {
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

TEST_F(HalfOpen, WithoutAllowHalfOpenThereIsNoEnd) {
  RawListener listener;
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port());
  Recorder events(sock);
  RawConn peer = acceptWhenOpen(loop, listener, events);
  peer.shutdownWrite();
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  EXPECT_EQ(events.events, (std::vector<std::string>{"open", "close"}));
}

TEST_F(HalfOpen, PeerHalfCloseMidTransferStillDeliversEverythingBothWays) {
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

}  // namespace
}  // namespace test
