// Port of the reference's test_tcpsocket_client_and_server_basics.js (docs/reference.md §7.1),
// scenario by scenario, against our own TCPServerSocket (port 0 instead of the fixed 8085).
#include <gtest/gtest.h>

#include "support/loop_fixture.hpp"
#include "support/pair.hpp"

namespace test {
namespace {

constexpr std::size_t kBig = 65539;

using ClientAndServerBasics = LoopFixture;

// Scenario 1: the client's first event is open; exactly one connect; both sides "open".
TEST_F(ClientAndServerBasics, Connect) {
  Pair p(loop);
  p.waitConnected();
  EXPECT_EQ(p.clientEvents.events, std::vector<std::string>{"open"});
  EXPECT_EQ(p.client.readyState(), ts::ReadyState::Open);
  EXPECT_EQ(p.server.readyState(), ts::ReadyState::Open);
  runFor(loop, 50ms);
  EXPECT_EQ(p.connects, 1);
  EXPECT_TRUE(p.serverEvents->events.empty()) << "an accepted socket gets no open event";
}

// Scenarios 2 and 3: 256 bytes each way, send returns true, bytes exact.
TEST_F(ClientAndServerBasics, SmallSendClientToServerAndBack) {
  Pair p(loop);
  p.waitConnected();
  const auto data = sequence(256);
  EXPECT_TRUE(p.client.send(data, 0, 256));
  ASSERT_TRUE(runUntil(loop, [&] { return p.serverEvents->received.size() >= 256; }));
  EXPECT_EQ(p.serverEvents->received, asString(data));
  EXPECT_TRUE(p.server.send(data, 0, 256));
  ASSERT_TRUE(runUntil(loop, [&] { return p.clientEvents.received.size() >= 256; }));
  EXPECT_EQ(p.clientEvents.received, asString(data));
  EXPECT_GT(p.clientEvents.bufferData, 0) << "payload is ArrayBuffer";
  EXPECT_EQ(p.clientEvents.stringData, 0);
}

// Scenarios 4 and 5: sliced sends arrive in order.
TEST_F(ClientAndServerBasics, SlicedSendsBothDirections) {
  Pair p(loop);
  p.waitConnected();
  const auto data = sequence(256);
  EXPECT_TRUE(p.client.send(data, 0, 7));
  EXPECT_TRUE(p.client.send(data, 7, 249));
  ASSERT_TRUE(runUntil(loop, [&] { return p.serverEvents->received.size() >= 256; }));
  EXPECT_EQ(p.serverEvents->received, asString(data));
  EXPECT_TRUE(p.server.send(data, 0, 7));
  EXPECT_TRUE(p.server.send(data, 7, 249));
  ASSERT_TRUE(runUntil(loop, [&] { return p.clientEvents.received.size() >= 256; }));
  EXPECT_EQ(p.clientEvents.received, asString(data));
}

// Scenario 6: big sends and drain, twice per direction; the unclamped byteLength counts.
TEST_F(ClientAndServerBasics, BigSendAndDrainTwicePerDirection) {
  Pair p(loop);
  p.waitConnected();
  const auto big = sequence(kBig);
  for (int iteration = 0; iteration < 2; ++iteration) {
    for (int direction = 0; direction < 2; ++direction) {
      ts::TCPSocket& sender = direction == 0 ? p.client : p.server;
      Recorder& senderEvents = direction == 0 ? p.clientEvents : *p.serverEvents;
      Recorder& receiverEvents = direction == 0 ? *p.serverEvents : p.clientEvents;
      const int drainsBefore = senderEvents.count("drain");
      receiverEvents.received.clear();
      if (iteration == 0) {
        EXPECT_TRUE(sender.send(big, 0, 65536));
        EXPECT_FALSE(sender.send(big, 65536, kBig)) << "3 bytes sent, 65539 counted";
      } else {
        EXPECT_FALSE(sender.send(big, 0, kBig));
      }
      ASSERT_TRUE(runUntil(loop, [&] {
        return senderEvents.count("drain") > drainsBefore && receiverEvents.received.size() >= kBig;
      }));
      EXPECT_EQ(senderEvents.count("drain"), drainsBefore + 1);
      EXPECT_EQ(receiverEvents.received, asString(big));
    }
  }
  EXPECT_EQ(p.clientEvents.events, (std::vector<std::string>{"open", "drain", "drain"}));
  EXPECT_EQ(p.serverEvents->events, (std::vector<std::string>{"drain", "drain"}));
}

// Scenario 7: the accepted socket closes; "closing" at once; both sides get close, no error.
TEST_F(ClientAndServerBasics, ServerSideClose) {
  Pair p(loop);
  p.waitConnected();
  p.server.close();
  EXPECT_EQ(p.server.readyState(), ts::ReadyState::Closing);
  ASSERT_TRUE(runUntil(loop, [&] { return p.clientEvents.closed() && p.serverEvents->closed(); }));
  EXPECT_EQ(p.clientEvents.events, (std::vector<std::string>{"open", "close"}));
  EXPECT_EQ(p.serverEvents->events, std::vector<std::string>{"close"});
  EXPECT_EQ(p.client.readyState(), ts::ReadyState::Closed);
  EXPECT_EQ(p.server.readyState(), ts::ReadyState::Closed);
}

// Scenario 8: the client closes.
TEST_F(ClientAndServerBasics, ClientSideClose) {
  Pair p(loop);
  p.waitConnected();
  p.client.close();
  EXPECT_EQ(p.client.readyState(), ts::ReadyState::Closing);
  ASSERT_TRUE(runUntil(loop, [&] { return p.clientEvents.closed() && p.serverEvents->closed(); }));
  EXPECT_EQ(p.clientEvents.events, (std::vector<std::string>{"open", "close"}));
  EXPECT_EQ(p.serverEvents->events, std::vector<std::string>{"close"});
  EXPECT_EQ(p.client.readyState(), ts::ReadyState::Closed);
  EXPECT_EQ(p.server.readyState(), ts::ReadyState::Closed);
}

// Scenario 9: close with pending data: drain then close, and every byte arrives.
TEST_F(ClientAndServerBasics, CloseWithPendingData) {
  Pair p(loop);
  p.waitConnected();
  const auto big = sequence(kBig);
  EXPECT_FALSE(p.client.send(big, 0, kBig));
  p.client.close();
  ASSERT_TRUE(runUntil(loop, [&] { return p.clientEvents.closed() && p.serverEvents->closed(); }));
  EXPECT_EQ(p.clientEvents.events, (std::vector<std::string>{"open", "drain", "close"}));
  EXPECT_EQ(p.serverEvents->received, asString(big));
  EXPECT_EQ(p.serverEvents->events, std::vector<std::string>{"close"});
}

// Scenario 10: on a "string" socket, a non-binary argument is sent as its byte string. JavaScript
// turned the Uint8Array into "[object Uint8Array]"; the C++ equivalent is the byte-string overload.
TEST_F(ClientAndServerBasics, NonArrayBufferArgumentOnStringSocket) {
  Pair p(loop, ts::BinaryType::String);
  p.waitConnected();
  EXPECT_TRUE(p.client.send(std::string_view("[object Uint8Array]")));
  p.client.close();
  ASSERT_TRUE(runUntil(loop, [&] { return p.clientEvents.closed() && p.serverEvents->closed(); }));
  EXPECT_EQ(p.serverEvents->received, "[object Uint8Array]");
  EXPECT_GT(p.serverEvents->stringData, 0);
}

// Scenario 11: closeImmediately discards what is queued; the peer sees less than was sent, then
// close. The peer does not read at first, so data is still queued when we close.
TEST_F(ClientAndServerBasics, CloseImmediately) {
  Pair p(loop);
  p.waitConnected();
  p.server.suspend();
  const auto big = sequence(kBig);
  std::size_t sent = 0;
  while (p.client.bufferedAmount() == 0 && sent < (64u << 20)) {
    p.client.send(big, 0, kBig);
    sent += kBig;
  }
  EXPECT_FALSE(p.client.send(big, 0, kBig));
  EXPECT_FALSE(p.client.send(big, 0, kBig));
  sent += 2 * kBig;
  p.client.closeImmediately();
  EXPECT_EQ(p.client.bufferedAmount(), 0u);
  p.server.resume();
  ASSERT_TRUE(runUntil(loop, [&] { return p.clientEvents.closed() && p.serverEvents->closed(); }));
  EXPECT_LT(p.serverEvents->received.size(), sent);
  EXPECT_FALSE(p.clientEvents.has("drain")) << "discarded data owes no drain";
  EXPECT_FALSE(p.clientEvents.has("error"));
}

// Scenario 12: a client to a closed listener gets error first, then close, readyState "closed".
TEST_F(ClientAndServerBasics, ListeningServerClose) {
  auto listener = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  const auto port = listener.localPort();
  listener.close();
  auto client = ts::TCPSocket::open(loop, "127.0.0.1", port);
  Recorder events(client);
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  EXPECT_EQ(events.events,
            (std::vector<std::string>{"error:ConnectionRefusedError:Network", "close"}));
  EXPECT_EQ(client.readyState(), ts::ReadyState::Closed);
}

// Scenario 13: IPv6 loopback.
TEST_F(ClientAndServerBasics, Ipv6) {
  Pair p(loop, ts::BinaryType::ArrayBuffer, "::1");
  p.waitConnected();
  EXPECT_EQ(p.clientEvents.events, std::vector<std::string>{"open"});
  EXPECT_EQ(p.server.host(), "::1");
}

// Era-B addition: the listening server's onerror never fires in normal use.
TEST_F(ClientAndServerBasics, ListenerErrorNeverFiresInNormalUse) {
  Pair p(loop);
  int errors = 0;
  p.listener.onerror([&](const ts::TCPServerSocketEvent&) { ++errors; });
  p.waitConnected();
  p.client.close();
  ASSERT_TRUE(runUntil(loop, [&] { return p.serverEvents->closed(); }));
  EXPECT_EQ(errors, 0);
}

}  // namespace
}  // namespace test
