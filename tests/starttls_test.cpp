// STARTTLS (upgradeToSecure, docs/reference.md §4.3) on both sides, the plaintext-injection rule,
// and how a TLS server survives clients that send garbage or stall; TLS settings that cannot work.
#include <gtest/gtest.h>

#include "support/pair.hpp"
#include "support/tls_fixture.hpp"

namespace test {
namespace {

class StartTls : public TlsFixture {
 protected:
  // A plain server that can upgrade (its credentials serve upgradeToSecure()).
  static ts::ServerSocketOptions server(bool secure = false) {
    return tlsServer(*leaf, secure, ts::BinaryType::String);
  }
  static ts::SocketOptions client(bool secure = false) {
    return tlsClient(secure, ts::BinaryType::String);
  }
};

// An IMAP-like exchange: plaintext greeting and command, then both sides upgrade; the reply to
// STARTTLS is queued before the server's upgradeToSecure() and must still go out in plaintext.
TEST_F(StartTls, BothSidesUpgradeAfterAPlaintextPreamble) {
  Pair p(loop, server(), client(), "127.0.0.1");
  p.waitConnected();
  EXPECT_FALSE(p.client.ssl());
  EXPECT_FALSE(p.server.ssl());
  p.server.ondata([&](const ts::TCPSocketEvent& e) {
    if (std::get<std::string_view>(e.data) == "STARTTLS\r\n") {
      p.server.send("OK begin TLS\r\n");
      p.server.upgradeToSecure();
      EXPECT_TRUE(p.server.ssl()) << "ssl is true at once";
      p.server.send("secret from server");  // goes out encrypted, after the handshake
    }
  });
  p.client.ondata([&](const ts::TCPSocketEvent& e) {
    if (!p.client.ssl() && std::get<std::string_view>(e.data) == "OK begin TLS\r\n") {
      p.client.upgradeToSecure();
      p.client.send("secret from client");
    }
  });
  p.client.send("STARTTLS\r\n");
  ASSERT_TRUE(runUntil(loop, [&] {
    return p.serverEvents->received.find("secret from client") != std::string::npos &&
           p.clientEvents.received.find("secret from server") != std::string::npos;
  }));
  EXPECT_EQ(p.serverEvents->received, "STARTTLS\r\nsecret from client");
  EXPECT_EQ(p.clientEvents.received, "OK begin TLS\r\nsecret from server");
  EXPECT_TRUE(p.client.ssl());
  EXPECT_FALSE(p.clientEvents.has("error"));
  EXPECT_FALSE(p.serverEvents->has("error"));
}

// Data queued before upgradeToSecure() — even more than the kernel takes at once — goes out in
// plaintext ahead of the handshake; data sent after it goes out encrypted.
TEST_F(StartTls, QueuedPlaintextGoesOutBeforeTheHandshake) {
  RawListener rawServer;
  auto socket = ts::TCPSocket::open(loop, "127.0.0.1", rawServer.port(), client());
  Recorder events(socket);
  RawConn raw = acceptWhenOpen(loop, rawServer, events);
  const std::string plain(4 << 20, 'p');
  socket.send(plain);
  socket.upgradeToSecure();
  socket.send("after");
  ASSERT_TRUE(runUntil(loop, [&] {
    raw.pump();
    return raw.received().size() > plain.size() + 5 || raw.eof();
  }));
  EXPECT_EQ(raw.received().substr(0, plain.size()), plain);
  // What follows is the ClientHello (a handshake record: content type 22), not "after".
  EXPECT_EQ(raw.received()[plain.size()], '\x16');
  EXPECT_EQ(raw.received().find("after"), std::string::npos);
  socket.closeImmediately();
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
}

// RFC 3207 §6: plaintext the peer sends after the upgrade was asked for is never delivered.
TEST_F(StartTls, PlaintextInjectedAfterUpgradeIsNeverDelivered) {
  auto listener = ts::TCPServerSocket::listen(loop, 0, server());
  RawConn raw = RawConn::connectTo("127.0.0.1", listener.localPort());
  ts::TCPSocket accepted;
  std::unique_ptr<Recorder> events;
  listener.onconnect([&](const ts::TCPServerSocketEvent& e) {
    accepted = e.socket;
    events = std::make_unique<Recorder>(accepted);
    accepted.addEventListener(ts::SocketEventType::Data, [&](const ts::TCPSocketEvent&) {
      if (!accepted.ssl()) accepted.upgradeToSecure();
    });
  });
  ASSERT_TRUE(runUntil(loop, [&] { return events != nullptr; }));
  raw.writeAll("STARTTLS\r\n");
  ASSERT_TRUE(runUntil(loop, [&] { return accepted.ssl(); }));
  raw.writeAll("RSET\r\nMAIL FROM:<attacker@example.test>\r\n");
  ASSERT_TRUE(runUntil(loop, [&] { return events->closed(); }));
  EXPECT_EQ(events->received, "STARTTLS\r\n");
  ASSERT_EQ(events->events.size(), 2u);
  EXPECT_EQ(events->events[0].rfind("error:Security", 0), 0u) << events->events[0];
}

TEST_F(StartTls, UpgradeRules) {
  auto plainServer = server();
  plainServer.tls = {};
  Pair p(loop, plainServer, client(), "127.0.0.1");
  EXPECT_THROW(p.client.upgradeToSecure(), ts::InvalidStateError) << "not open yet";
  p.waitConnected();
  EXPECT_THROW(p.server.upgradeToSecure(), ts::NotSupportedError)
      << "an accepted socket needs the server's certificate";
  EXPECT_FALSE(p.server.ssl());
  p.client.upgradeToSecure();
  EXPECT_NO_THROW(p.client.upgradeToSecure()) << "a second call is a no-op";
  p.client.halfClose();
  RawListener otherServer;  // not p.listener: its connect handler keeps one socket only
  ts::TCPSocket other = ts::TCPSocket::open(loop, "127.0.0.1", otherServer.port());
  Recorder otherEvents(other);
  RawConn otherPeer = acceptWhenOpen(loop, otherServer, otherEvents);
  other.halfClose();
  EXPECT_THROW(other.upgradeToSecure(), ts::InvalidStateError) << "after halfClose()";
  other.close();
  p.client.close();
  ASSERT_TRUE(runUntil(loop, [&] { return otherEvents.closed() && p.clientEvents.closed(); }));
}

// A TLS server hands out only clients that finish the handshake: garbage and silence are dropped
// (within the handshake deadline) while a good client is served; nothing leaks.
TEST_F(StartTls, GarbageAndStalledClientsDoNotAffectOthers) {
  auto options = server(true);
  options.tls.handshakeTimeout = 300ms;
  auto listener = ts::TCPServerSocket::listen(loop, 0, options);
  int connects = 0;
  listener.onconnect([&](const ts::TCPServerSocketEvent& e) {
    ++connects;
    ts::TCPSocket s = e.socket;
    s.ondata(
        [s](const ts::TCPSocketEvent& d) mutable { s.send(std::get<std::string_view>(d.data)); });
    s.onclose([s](const ts::TCPSocketEvent&) mutable { s = {}; });
  });
  auto good = ts::TCPSocket::open(loop, "127.0.0.1", listener.localPort(), client(true));
  Recorder goodEvents(good);
  ASSERT_TRUE(runUntil(loop, [&] { return goodEvents.has("open"); }));
  const int fdsBefore = openFdCount();  // OpenSSL keeps a descriptor or two once it has run
  RawConn garbage = RawConn::connectTo("127.0.0.1", listener.localPort());
  RawConn silent = RawConn::connectTo("127.0.0.1", listener.localPort());
  garbage.writeAll(std::string(4096, '\x17'));
  good.send("ping");
  ASSERT_TRUE(runUntil(loop, [&] { return goodEvents.received == "ping"; }));
  ASSERT_TRUE(runUntil(loop, [&] {
    garbage.pump();
    silent.pump();
    return (garbage.eof() || garbage.failed()) && (silent.eof() || silent.failed());
  }));
  EXPECT_EQ(connects, 1);
  EXPECT_EQ(listener.stats().handshakeFailures, 2u);
  garbage.close();
  silent.close();
  EXPECT_TRUE(runUntil(loop, [&] { return openFdCount() == fdsBefore; }));
  good.close();
  listener.close();
  ASSERT_TRUE(runUntil(loop, [&] { return goodEvents.closed(); }));
}

// Regression: a server closed while a client was still in its handshake left that socket with no
// owner; it is now reset at once.
TEST_F(StartTls, ClosingTheServerResetsClientsStillInTheirHandshake) {
  auto options = server(true);
  options.tls.handshakeTimeout = 30s;  // far beyond the wait below
  auto listener = ts::TCPServerSocket::listen(loop, 0, options);
  RawConn silent = RawConn::connectTo("127.0.0.1", listener.localPort());
  runFor(loop, 50ms);  // accepted, handshake pending
  listener.close();
  EXPECT_TRUE(runUntil(
      loop,
      [&] {
        silent.pump();
        return silent.eof() || silent.failed();
      },
      5s));
  EXPECT_TRUE(silent.failed()) << "the peer saw a FIN, not a reset";
}

// Regression: the idle timer fired during a handshake and was never armed again.
TEST_F(StartTls, IdleTimeoutCoversTheHandshake) {
  RawListener silentServer;
  auto options = client(true);
  options.tls.handshakeTimeout = 30s;
  options.connection.idleTimeout = 200ms;
  auto socket = ts::TCPSocket::open(loop, "127.0.0.1", silentServer.port(), options);
  Recorder events(socket);
  RawConn peer;
  ASSERT_TRUE(runUntil(
      loop,
      [&] {
        if (!peer.valid()) peer = RawConn(silentServer.tryAccept());
        return events.closed();
      },
      5s));
  EXPECT_EQ(events.events,
            (std::vector<std::string>{"error:NetworkTimeoutError:Network", "close"}));
}

// Regression: close() right after upgradeToSecure(), with only plaintext queued, started a
// handshake nobody needed and waited for it.
TEST_F(StartTls, CloseWithOnlyPlaintextQueuedNeedsNoHandshake) {
  RawListener rawServer;
  auto socket = ts::TCPSocket::open(loop, "127.0.0.1", rawServer.port(), client());
  Recorder events(socket);
  RawConn raw = acceptWhenOpen(loop, rawServer, events);
  socket.send("221 bye\r\n");
  socket.upgradeToSecure();
  socket.close();
  ASSERT_TRUE(runUntil(
      loop,
      [&] {
        raw.pump();
        return events.closed() && raw.eof();
      },
      3s));
  EXPECT_EQ(events.events, (std::vector<std::string>{"open", "close"}));
  EXPECT_EQ(raw.received(), "221 bye\r\n") << "no ClientHello after the plaintext";
}

// A client whose server never answers the ClientHello gives up at its handshake deadline.
TEST_F(StartTls, ClientHandshakeDeadline) {
  RawListener silentServer;
  auto options = client(true);
  options.tls.handshakeTimeout = 200ms;
  auto socket = ts::TCPSocket::open(loop, "127.0.0.1", silentServer.port(), options);
  Recorder events(socket);
  RawConn peer;
  ASSERT_TRUE(runUntil(loop, [&] {
    if (!peer.valid()) peer = RawConn(silentServer.tryAccept());
    return events.closed();
  }));
  EXPECT_EQ(events.events,
            (std::vector<std::string>{"error:NetworkTimeoutError:Network", "close"}));
}

// TLS over a half-closed stream: close_notify then FIN, while reading goes on.
TEST_F(StartTls, HalfCloseSendsCloseNotifyAndKeepsReading) {
  auto options = server(true);
  options.connection.allowHalfOpen = true;
  auto clientOptions = client(true);
  clientOptions.connection.allowHalfOpen = true;
  Pair p(loop, options, clientOptions, "127.0.0.1");
  p.waitConnected();
  p.client.send("last words");
  p.client.halfClose();
  ASSERT_TRUE(runUntil(loop, [&] { return p.serverEvents->has("end"); }));
  EXPECT_EQ(p.serverEvents->received, "last words");
  p.server.send("answer after end");
  p.server.close();
  ASSERT_TRUE(runUntil(loop, [&] { return p.clientEvents.closed(); }));
  EXPECT_EQ(p.clientEvents.received, "answer after end");
  EXPECT_FALSE(p.clientEvents.has("error"));
}

TEST_F(StartTls, UnusableSettingsThrowTlsConfigurationError) {
  auto noCertificate = server(true);
  noCertificate.tls.certificateChain = {};
  noCertificate.tls.privateKey = {};
  EXPECT_THROW(ts::TCPServerSocket::listen(loop, 0, noCertificate), ts::TlsConfigurationError);

  auto missingFile = server(true);
  missingFile.tls.certificateChain = {"/nonexistent/chain.pem", ""};
  EXPECT_THROW(ts::TCPServerSocket::listen(loop, 0, missingFile), ts::TlsConfigurationError);

  auto wrongKey = server(true);
  wrongKey.tls.privateKey.pem = ca->issue().keyPem;
  EXPECT_THROW(ts::TCPServerSocket::listen(loop, 0, wrongKey), ts::TlsConfigurationError);

  auto garbledPem = server(true);
  garbledPem.tls.certificateChain.pem = "-----BEGIN CERTIFICATE-----\nnot base64\n";
  EXPECT_THROW(ts::TCPServerSocket::listen(loop, 0, garbledPem), ts::TlsConfigurationError);

  auto clientCertsWithoutCa = server(true);
  clientCertsWithoutCa.tls.requireClientCertificate = true;
  EXPECT_THROW(ts::TCPServerSocket::listen(loop, 0, clientCertsWithoutCa),
               ts::TlsConfigurationError);

  auto serverPinsWithoutClientCertificates = server(true);
  serverPinsWithoutClientCertificates.tls.pinnedPublicKeys = {publicKeyPin(leaf->certificatePem)};
  EXPECT_THROW(ts::TCPServerSocket::listen(loop, 0, serverPinsWithoutClientCertificates),
               ts::TlsConfigurationError);

  auto noHandshakeTime = client(true);
  noHandshakeTime.tls.handshakeTimeout = 0ms;
  EXPECT_THROW(ts::TCPSocket::open(loop, "127.0.0.1", 1, noHandshakeTime),
               ts::TlsConfigurationError);

  auto badPin = client(true);
  badPin.tls.pinnedPublicKeys = {"sha256/short"};
  EXPECT_THROW(ts::TCPSocket::open(loop, "127.0.0.1", 1, badPin), ts::TlsConfigurationError);

  auto badAlpn = client(true);
  badAlpn.tls.alpnProtocols = {std::string(256, 'a')};
  EXPECT_THROW(ts::TCPSocket::open(loop, "127.0.0.1", 1, badAlpn), ts::TlsConfigurationError);

  auto missingCa = client(true);
  missingCa.tls.trustedCertificates = {"/nonexistent/ca.pem", ""};
  EXPECT_THROW(ts::TCPSocket::open(loop, "127.0.0.1", 1, missingCa), ts::TlsConfigurationError);
}

}  // namespace
}  // namespace test
