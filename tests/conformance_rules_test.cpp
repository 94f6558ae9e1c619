// The extra conformance rules of docs/reference.md §7.6 and §2-§4 that Mozilla's own tests never
// checked: the full-buffer boundary, state preconditions, suspend/resume, string mode, event
// payloads and the error/close rule.
#include <gtest/gtest.h>

#include "support/loop_fixture.hpp"
#include "support/pair.hpp"

namespace test {
namespace {

using ConformanceRules = LoopFixture;

TEST_F(ConformanceRules, SendOfExactly65536ReturnsTrue) {
  Pair p(loop);
  p.waitConnected();
  EXPECT_TRUE(p.client.send(sequence(65536)));
  ASSERT_TRUE(runUntil(loop, [&] { return p.serverEvents->received.size() == 65536; }));
  runFor(loop, 20ms);
  EXPECT_FALSE(p.clientEvents.has("drain")) << "no drain without a false send";
}

TEST_F(ConformanceRules, OffsetPastEndSendsNothingButCountsLength) {
  Pair p(loop);
  p.waitConnected();
  const auto data = sequence(10);
  EXPECT_TRUE(p.client.send(data, 100));  // counts the whole length (10)
  EXPECT_FALSE(p.client.send(data, 100, 70000));
  EXPECT_EQ(p.client.bufferedAmount(), 0u);
  ASSERT_TRUE(runUntil(loop, [&] { return p.clientEvents.has("drain"); }));
  EXPECT_TRUE(p.client.send(data, 3, 2));
  ASSERT_TRUE(runUntil(loop, [&] { return p.serverEvents->received.size() == 2; }));
  EXPECT_EQ(p.serverEvents->received, std::string("\x03\x04"));
}

TEST_F(ConformanceRules, ExplicitZeroByteLengthSendsNothing) {
  Pair p(loop);
  p.waitConnected();
  EXPECT_TRUE(p.client.send(sequence(10), 0, 0));
  EXPECT_TRUE(p.client.send(std::string_view("x")));
  ASSERT_TRUE(runUntil(loop, [&] { return !p.serverEvents->received.empty(); }));
  runFor(loop, 20ms);
  EXPECT_EQ(p.serverEvents->received, "x");
}

TEST_F(ConformanceRules, SendCopiesTheCallersBuffer) {
  Pair p(loop);
  p.waitConnected();
  p.server.suspend();
  // Fill the kernel so that the next send has to be queued, then mutate the caller's buffer.
  std::size_t sent = 0;
  auto filler = sequence(65536);
  while (p.client.bufferedAmount() == 0 && sent < (64u << 20)) {
    p.client.send(filler);
    sent += filler.size();
  }
  std::vector<std::uint8_t> mutable_(100, 'a');
  p.client.send(mutable_);
  std::fill(mutable_.begin(), mutable_.end(), 'b');
  p.server.resume();
  ASSERT_TRUE(runUntil(loop, [&] { return p.serverEvents->received.size() == sent + 100; }));
  EXPECT_EQ(p.serverEvents->received.substr(sent), std::string(100, 'a'));
}

TEST_F(ConformanceRules, SendThrowsUnlessOpen) {
  RawListener listener;
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port());
  EXPECT_EQ(sock.readyState(), ts::ReadyState::Connecting);
  EXPECT_THROW(sock.send(std::string_view("x")), ts::InvalidStateError);
  Recorder events(sock);
  ASSERT_TRUE(runUntil(loop, [&] { return events.has("open"); }));
  sock.close();
  EXPECT_EQ(sock.readyState(), ts::ReadyState::Closing);
  EXPECT_THROW(sock.send(std::string_view("x")), ts::InvalidStateError);
  EXPECT_THROW(sock.send(sequence(3)), ts::InvalidStateError);
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  EXPECT_THROW(sock.send(std::string_view("x")), ts::InvalidStateError);
}

TEST_F(ConformanceRules, CloseIsIdempotentAndNeverThrows) {
  Pair p(loop);
  p.waitConnected();
  p.client.close();
  p.client.close();
  ASSERT_TRUE(runUntil(loop, [&] { return p.clientEvents.closed(); }));
  p.client.close();
  p.client.closeImmediately();
  runFor(loop, 20ms);
  EXPECT_EQ(p.clientEvents.count("close"), 1);
}

TEST_F(ConformanceRules, CloseWhileConnectingFiresOnlyClose) {
  RawListener listener;
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port());
  Recorder events(sock);
  sock.close();
  EXPECT_EQ(sock.readyState(), ts::ReadyState::Closing);
  EXPECT_TRUE(events.events.empty()) << "never fired synchronously";
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  runFor(loop, 20ms);
  EXPECT_EQ(events.events, std::vector<std::string>{"close"});
}

TEST_F(ConformanceRules, NoEventIsFiredInsideACall) {
  Pair p(loop);
  p.waitConnected();
  const std::size_t before = p.clientEvents.events.size();
  EXPECT_FALSE(p.client.send(sequence(70000)));  // the kernel takes it all at once on loopback
  p.client.close();
  EXPECT_EQ(p.clientEvents.events.size(), before);
  ASSERT_TRUE(runUntil(loop, [&] { return p.clientEvents.closed(); }));
  EXPECT_EQ(p.clientEvents.events, (std::vector<std::string>{"open", "drain", "close"}));
}

TEST_F(ConformanceRules, ResumeWithoutSuspendThrows) {
  Pair p(loop);
  EXPECT_THROW(p.client.resume(), ts::InvalidStateError);
  p.client.suspend();
  p.client.resume();
  EXPECT_THROW(p.client.resume(), ts::InvalidStateError);
}

TEST_F(ConformanceRules, SuspendIsCountedAndHoldsBackDataInOrder) {
  Pair p(loop);
  p.waitConnected();
  p.client.suspend();
  p.client.suspend();
  p.server.send(std::string_view("one,"));
  runFor(loop, 30ms);
  EXPECT_EQ(p.clientEvents.dataEvents, 0);
  p.client.resume();
  p.server.send(std::string_view("two,"));
  runFor(loop, 30ms);
  EXPECT_EQ(p.clientEvents.dataEvents, 0) << "one resume for two suspends is not enough";
  p.client.resume();
  p.server.send(std::string_view("three"));
  ASSERT_TRUE(runUntil(loop, [&] { return p.clientEvents.received == "one,two,three"; }));
}

TEST_F(ConformanceRules, SuspendBeforeOpenAppliesOnOpen) {
  auto server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  server.onconnect(
      [](const ts::TCPServerSocketEvent& e) { e.socket.send(std::string_view("hello")); });
  auto client = ts::TCPSocket::open(loop, "127.0.0.1", server.localPort());
  client.suspend();
  Recorder events(client);
  ASSERT_TRUE(runUntil(loop, [&] { return events.has("open"); }));
  runFor(loop, 50ms);
  EXPECT_EQ(events.dataEvents, 0);
  client.resume();
  ASSERT_TRUE(runUntil(loop, [&] { return events.received == "hello"; }));
}

TEST_F(ConformanceRules, SuspensionHoldsBackThePeersClose) {
  Pair p(loop);
  p.waitConnected();
  p.client.suspend();
  p.server.send(std::string_view("last words"));
  p.server.close();
  ASSERT_TRUE(runUntil(loop, [&] { return p.serverEvents->closed(); }));
  runFor(loop, 50ms);
  EXPECT_FALSE(p.clientEvents.closed());
  EXPECT_EQ(p.client.readyState(), ts::ReadyState::Open);
  p.client.resume();
  ASSERT_TRUE(runUntil(loop, [&] { return p.clientEvents.closed(); }));
  EXPECT_EQ(p.clientEvents.received, "last words");
  EXPECT_EQ(p.clientEvents.events, (std::vector<std::string>{"open", "close"}));
}

TEST_F(ConformanceRules, StringModeKeepsEveryByteIncludingNulAndHighBytes) {
  Pair p(loop, ts::BinaryType::String);
  p.waitConnected();
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_TRUE(p.client.send(all));
  ASSERT_TRUE(runUntil(loop, [&] { return p.serverEvents->received.size() >= 256; }));
  EXPECT_EQ(p.serverEvents->received, all);
  EXPECT_EQ(p.serverEvents->bufferData, 0);
}

TEST_F(ConformanceRules, Utf16SendIsByteStringConversion) {
  Pair p(loop, ts::BinaryType::String);
  p.waitConnected();
  EXPECT_TRUE(p.client.send(std::u16string_view(u"caf\u00e9\u0000!", 6)));
  ASSERT_TRUE(runUntil(loop, [&] { return p.serverEvents->received.size() >= 6; }));
  EXPECT_EQ(p.serverEvents->received, std::string("caf\xe9\0!", 6));
  EXPECT_THROW(p.client.send(std::u16string_view(u"\u20ac")), ts::TypeError);
}

TEST_F(ConformanceRules, NonDataEventsCarryNoData) {
  Pair p(loop);
  p.waitConnected();
  EXPECT_FALSE(p.client.send(sequence(70000)));
  p.client.close();
  ASSERT_TRUE(runUntil(loop, [&] { return p.clientEvents.closed() && p.serverEvents->closed(); }));
  EXPECT_EQ(p.clientEvents.events, (std::vector<std::string>{"open", "drain", "close"}));
  EXPECT_EQ(p.clientEvents.nonEmptyData, 0);
  EXPECT_EQ(p.serverEvents->nonEmptyData, 0);
}

TEST_F(ConformanceRules, ErrorIsFollowedByExactlyOneCloseAndStateIsAlreadyClosed) {
  std::uint16_t port;
  {
    RawListener gone;
    port = gone.port();
  }
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", port);
  Recorder events(sock);
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  runFor(loop, 20ms);
  ASSERT_EQ(events.events.size(), 2u);
  EXPECT_EQ(events.events[0], "error:ConnectionRefusedError:Network");
  EXPECT_EQ(events.events[1], "close");
  EXPECT_EQ(events.states[0], ts::ReadyState::Closed) << "readyState inside onerror";
}

TEST_F(ConformanceRules, ReadyStateIsOpenInsideOnopen) {
  Pair p(loop);
  p.waitConnected();
  EXPECT_EQ(p.clientEvents.states.front(), ts::ReadyState::Open);
}

// docs/reference.md §4.3: throws unless open; ssl is true at once; a second call is a no-op.
TEST_F(ConformanceRules, UpgradeToSecureThrowsUnlessOpenAndSetsSslAtOnce) {
  RawListener listener;
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port());
  EXPECT_THROW(sock.upgradeToSecure(), ts::InvalidStateError);
  Recorder events(sock);
  RawConn peer = acceptWhenOpen(loop, listener, events);
  EXPECT_FALSE(sock.ssl());
  sock.upgradeToSecure();
  EXPECT_TRUE(sock.ssl()) << "before the handshake has even started";
  EXPECT_NO_THROW(sock.upgradeToSecure());
  sock.close();
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  EXPECT_THROW(sock.upgradeToSecure(), ts::InvalidStateError);
  EXPECT_EQ(events.events, (std::vector<std::string>{"open", "close"}));
}

TEST_F(ConformanceRules, EnumsPrintAsTheReferenceNamesThem) {
  EXPECT_EQ(ts::toString(ts::ReadyState::Connecting), "connecting");
  EXPECT_EQ(ts::toString(ts::ReadyState::Closing), "closing");
  EXPECT_EQ(ts::toString(ts::BinaryType::ArrayBuffer), "arraybuffer");
  EXPECT_EQ(ts::toString(ts::BinaryType::String), "string");
  EXPECT_EQ(ts::toString(ts::SocketEventType::Drain), "drain");
  EXPECT_EQ(ts::toString(ts::ServerEventType::Connect), "connect");
}

}  // namespace
}  // namespace test
