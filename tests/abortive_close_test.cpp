// Abortive close from either end. Ours (abort(), a server's abortConnections()) resets the peer
// (RST, not FIN) and discards the queue, firing only `close`; the peer's reset while our queue is
// full is NetworkError, and the queue and descriptor are freed at once.
#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <vector>

#include "support/loop_fixture.hpp"

namespace test {
namespace {

using AbortiveClose = LoopFixture;

TEST_F(AbortiveClose, AbortResetsThePeerAndFiresOnlyClose) {
  RawListener listener("127.0.0.1", 4096);
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port());
  Recorder events(sock);
  RawConn peer = acceptWhenOpen(loop, listener, events);
  sock.send(randomBytes(1 << 20, 5));  // queued: discarded by the abort
  sock.abort();
  EXPECT_EQ(sock.readyState(), ts::ReadyState::Closing);
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  EXPECT_EQ(events.events, (std::vector<std::string>{"open", "close"}));
  ASSERT_TRUE(runUntil(loop, [&] {
    peer.pump();
    return peer.failed() || peer.eof();
  }));
  EXPECT_TRUE(peer.failed()) << "RST, not FIN";
  EXPECT_LT(peer.received().size(), std::size_t{1} << 20);
}

TEST_F(AbortiveClose, AbortConnectionsResetsEveryAcceptedSocket) {
  auto server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  int closes = 0;
  server.onconnect([&](const ts::TCPServerSocketEvent& e) {
    e.socket.onclose([&](const ts::TCPSocketEvent&) { ++closes; });
  });
  std::vector<RawConn> peers;
  for (int i = 0; i < 5; ++i) peers.push_back(RawConn::connectTo("127.0.0.1", server.localPort()));
  ASSERT_TRUE(runUntil(loop, [&] { return server.stats().open == 5; }));
  server.abortConnections();
  ASSERT_TRUE(runUntil(loop, [&] { return closes == 5; }));
  for (auto& p : peers) {
    ASSERT_TRUE(runUntil(loop, [&] {
      p.pump();
      return p.failed() || p.eof();
    }));
    EXPECT_TRUE(p.failed());
  }
  EXPECT_EQ(server.stats().open, 0u);
}

TEST_F(AbortiveClose, PeerResetWhileOurQueueIsFullIsNetworkErrorAndFreesTheQueue) {
  RawListener listener("127.0.0.1", 4096);
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port());
  Recorder events(sock);
  RawConn peer = acceptWhenOpen(loop, listener, events);
  for (int i = 0; i < 50; ++i) sock.send(randomBytes(65536, 51));
  ASSERT_GT(sock.bufferedAmount(), 0u);
  peer.reset();
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  EXPECT_EQ(events.events,
            (std::vector<std::string>{"open", "error:NetworkError:Network", "close"}));
  EXPECT_EQ(sock.bufferedAmount(), 0u);
  EXPECT_EQ(sock.nativeHandle(), -1);
}

}  // namespace
}  // namespace test
