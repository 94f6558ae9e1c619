// How TLS connections end on the wire: a reset where the API promises one (abort() even in the
// middle of a handshake), and no reset after a clean two-way shutdown, where the peer's
// close_notify answers ours (found by the attack on the redesigned core).
#include <gtest/gtest.h>

#include "support/tls_fixture.hpp"
#include "support/tls_peer.hpp"

namespace test {
namespace {

using TlsEndings = TlsFixture;

TEST_F(TlsEndings, AbortDuringTheHandshakeResetsThePeer) {
  RawListener listener;
  auto options = tlsClient(true, ts::BinaryType::String);
  options.tls.handshakeTimeout = std::chrono::seconds(30);  // far beyond the waits below
  auto socket = ts::TCPSocket::open(loop, "127.0.0.1", listener.port(), options);
  Recorder events(socket);
  RawConn silent;  // takes the ClientHello and never answers
  ASSERT_TRUE(runUntil(loop, [&] {
    if (!silent.valid()) silent = RawConn(listener.tryAccept());
    return silent.valid();
  }));
  runFor(loop, std::chrono::milliseconds(50));
  ASSERT_EQ(socket.readyState(), ts::ReadyState::Connecting);
  socket.abort();
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  EXPECT_TRUE(runUntil(loop, [&] {
    silent.pump();
    return silent.eof() || silent.failed();
  }));
  EXPECT_TRUE(silent.failed()) << "the peer saw a FIN, not a reset";
}

TEST_F(TlsEndings, CloseNotifyAnsweredByThePeerEndsWithoutAReset) {
  RawListener listener;
  auto socket = ts::TCPSocket::open(loop, "127.0.0.1", listener.port(),
                                    tlsClient(true, ts::BinaryType::String));
  Recorder events(socket);
  std::unique_ptr<TlsPeer> peer;
  ASSERT_TRUE(runUntil(loop, [&] {
    if (!peer) {
      const int fd = listener.tryAccept();
      if (fd >= 0) peer = std::make_unique<TlsPeer>(fd, *leaf);
    }
    if (peer) peer->pump();
    return events.has("open");
  }));
  socket.send(std::string_view("bye"));
  socket.close();
  ASSERT_TRUE(runUntil(loop, [&] {
    peer->pump();
    return peer->eof();
  }));
  EXPECT_EQ(peer->received(), "bye");
  // The answer TLS expects: its own close_notify. The TCP connection stays open on its side, as
  // many peers leave it (Python's unwrap()), so a reset from us would be an error it sees.
  peer->shutdownWrite(false);
  peer->pump();
  runFor(loop, std::chrono::milliseconds(300));  // our side reads it while it lingers
  EXPECT_TRUE(events.closed());
  EXPECT_EQ(peer->pendingError(), 0) << "the peer was reset after a clean TLS shutdown";
}

}  // namespace
}  // namespace test
