// halfClose() (beyond the reference, as the W3C Direct Sockets draft's `writable.close()`): our
// FIN goes out after every queued byte, reading goes on, and the socket closes when the peer does.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "support/loop_fixture.hpp"
#include "support/pair.hpp"

namespace test {
namespace {

using HalfClose = LoopFixture;

TEST_F(HalfClose, PeerSeesFinAfterOurDataAndCanStillAnswer) {
  RawListener listener;
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port());
  Recorder events(sock);
  RawConn peer = acceptWhenOpen(loop, listener, events);
  sock.send(std::string_view("question"));
  sock.halfClose();
  EXPECT_EQ(sock.readyState(), ts::ReadyState::Open) << "reading goes on";
  ASSERT_TRUE(runUntil(loop, [&] {
    peer.pump();
    return peer.eof();
  }));
  EXPECT_EQ(peer.received(), "question");
  peer.writeAll("answer");
  peer.close();
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  EXPECT_EQ(events.received, "answer");
  EXPECT_EQ(events.events, (std::vector<std::string>{"open", "close"}));
}

TEST_F(HalfClose, QueuedBytesAllGoOutBeforeTheFin) {
  RawListener listener("127.0.0.1", 4096);  // a small window so that send() must queue
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port());
  Recorder events(sock);
  RawConn peer = acceptWhenOpen(loop, listener, events);
  std::string sent;
  const auto chunk = randomBytes(65536, 11);
  bool accepted = true;
  for (int i = 0; i < 2000 && accepted; ++i) {
    accepted = sock.send(chunk);
    sent += asString(chunk);
  }
  ASSERT_FALSE(accepted) << "the test needs a full buffer at halfClose()";
  sock.halfClose();
  ASSERT_TRUE(runUntil(loop, [&] {
    peer.pump();
    return peer.eof();
  }));
  EXPECT_EQ(peer.received(), sent);
  EXPECT_EQ(sock.readyState(), ts::ReadyState::Open);
  EXPECT_TRUE(events.has("drain")) << "the drain a false send() promised still comes";
  peer.close();
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  EXPECT_EQ(events.events, (std::vector<std::string>{"open", "drain", "close"}));
}

TEST_F(HalfClose, SendAfterHalfCloseThrowsAndSendsNothing) {
  Pair p(loop);
  p.waitConnected();
  p.client.halfClose();
  EXPECT_THROW(p.client.send(std::string_view("late")), ts::InvalidStateError);
  ASSERT_TRUE(runUntil(loop, [&] { return p.serverEvents->closed(); }));
  EXPECT_EQ(p.serverEvents->received, "");
}

TEST_F(HalfClose, IsIdempotentWhileOpen) {
  Pair p(loop);
  p.waitConnected();
  p.client.halfClose();
  EXPECT_NO_THROW(p.client.halfClose());
  ASSERT_TRUE(runUntil(loop, [&] { return p.clientEvents.closed() && p.serverEvents->closed(); }));
  EXPECT_EQ(p.clientEvents.count("close"), 1);
}

TEST_F(HalfClose, ThrowsUnlessOpen) {
  RawListener listener;
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port());
  EXPECT_THROW(sock.halfClose(), ts::InvalidStateError) << "connecting";
  Recorder events(sock);
  RawConn peer = acceptWhenOpen(loop, listener, events);
  sock.close();
  EXPECT_THROW(sock.halfClose(), ts::InvalidStateError) << "closing";
  peer.close();
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  EXPECT_THROW(sock.halfClose(), ts::InvalidStateError) << "closed";
}

// Our own server: a half-closed client is answered in full, then both ends close.
TEST_F(HalfClose, AcceptedSocketAnswersAHalfClosedClient) {
  Pair p(loop);
  p.waitConnected();
  p.server.ondata(
      [&](const ts::TCPSocketEvent& e) { p.server.send(std::get<ts::ArrayBuffer>(e.data)); });
  const auto payload = randomBytes(300000, 12);
  p.client.send(payload);
  p.client.halfClose();
  ASSERT_TRUE(runUntil(loop, [&] { return p.clientEvents.closed() && p.serverEvents->closed(); }));
  EXPECT_EQ(p.clientEvents.received, asString(payload));
  EXPECT_FALSE(p.clientEvents.has("error:NetworkError:Network"));
  EXPECT_EQ(p.clientEvents.events.back(), "close");
}

TEST_F(HalfClose, CloseAfterHalfCloseStillEndsWithOneClose) {
  RawListener listener;
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port());
  Recorder events(sock);
  RawConn peer = acceptWhenOpen(loop, listener, events);
  sock.halfClose();
  sock.close();
  ASSERT_TRUE(runUntil(loop, [&] {
    peer.pump();
    return peer.eof() && events.closed();
  }));
  EXPECT_EQ(events.events, (std::vector<std::string>{"open", "close"}));
}

TEST_F(HalfClose, FdIsReleasedWhenBothSidesAreDone) {
  ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"})
      .close();  // the reactor's own fds
  runFor(loop, 10ms);
  const int baseline = openFdCount();
  {
    Pair p(loop);
    p.waitConnected();
    p.client.halfClose();
    ASSERT_TRUE(
        runUntil(loop, [&] { return p.clientEvents.closed() && p.serverEvents->closed(); }));
    p.listener.close();
  }
  EXPECT_TRUE(runUntil(
      loop, [&] { return openFdCount() == baseline; }, 5000ms))
      << "open fds: " << openFdCount() << " baseline: " << baseline;
}

}  // namespace
}  // namespace test
