// TLS from the start: useSecureTransport clients, TLS servers, certificate verification and its
// error names (docs/reference.md §6.1), pins, ALPN, client certificates, handshake deadlines, and
// bulk data with backpressure. Certificates are made at test time (support/test_certs.hpp).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "support/pair.hpp"
#include "support/tls_fixture.hpp"
#include "support/tls_peer.hpp"

namespace test {
namespace {

class Tls : public TlsFixture {
 protected:
  static ts::ServerSocketOptions server(const Credentials& credentials) {
    return tlsServer(credentials, true, ts::BinaryType::ArrayBuffer);
  }
  static ts::SocketOptions client() { return tlsClient(true, ts::BinaryType::ArrayBuffer); }
};

TEST_F(Tls, OpenFiresAfterTheHandshakeAndBothSidesAreSsl) {
  Pair p(loop, server(ca->issue()), client(), "127.0.0.1");
  EXPECT_TRUE(p.client.ssl()) << "ssl is true from the start";
  EXPECT_EQ(p.client.readyState(), ts::ReadyState::Connecting);
  p.waitConnected();
  EXPECT_EQ(p.clientEvents.events, std::vector<std::string>{"open"});
  EXPECT_TRUE(p.server.ssl());
  EXPECT_EQ(p.server.readyState(), ts::ReadyState::Open);

  const auto data = randomBytes(100000, 7);
  p.client.send(asString(data));
  ASSERT_TRUE(runUntil(loop, [&] { return p.serverEvents->received.size() >= data.size(); }));
  EXPECT_EQ(p.serverEvents->received, asString(data));
  p.server.send("reply");
  ASSERT_TRUE(runUntil(loop, [&] { return p.clientEvents.received.size() >= 5; }));
  EXPECT_EQ(p.clientEvents.received, "reply");

  p.client.close();
  ASSERT_TRUE(runUntil(loop, [&] { return p.clientEvents.closed() && p.serverEvents->closed(); }));
  EXPECT_FALSE(p.serverEvents->has("error")) << "close_notify ends the stream cleanly";
  EXPECT_FALSE(p.clientEvents.has("error"));
}

// A peer that ends with a bare FIN (no close_notify) after the handshake: a close, not an error.
TEST_F(Tls, BareFinAfterTheHandshakeIsAClose) {
  Pair p(loop, server(ca->issue()), client(), "127.0.0.1");
  p.waitConnected();
  p.server.send("last");
  ASSERT_TRUE(runUntil(loop, [&] { return p.clientEvents.received == "last"; }));
  ASSERT_EQ(::shutdown(p.server.nativeHandle(), SHUT_WR), 0);  // FIN under TLS's feet
  ASSERT_TRUE(runUntil(loop, [&] { return p.clientEvents.closed(); }));
  EXPECT_EQ(p.clientEvents.events, (std::vector<std::string>{"open", "close"}));
}

// A FIN in the middle of a record is a truncated stream, not a close.
TEST_F(Tls, FinInTheMiddleOfARecordIsNetworkInterrupt) {
  RawListener rawServer;
  auto socket = ts::TCPSocket::open(loop, "127.0.0.1", rawServer.port(), client());
  Recorder events(socket);
  std::unique_ptr<TlsPeer> peer;
  const Credentials leaf = ca->issue();
  ASSERT_TRUE(runUntil(loop, [&] {
    if (!peer) {
      const int fd = rawServer.tryAccept();
      if (fd >= 0) peer = std::make_unique<TlsPeer>(fd, leaf);
    }
    if (peer) peer->pump();
    return events.has("open");
  }));
  peer->write("whole record");
  ASSERT_TRUE(runUntil(loop, [&] {
    peer->pump();
    return events.received == "whole record";
  }));
  peer->truncateMidRecord(std::string(1000, 'x'));
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  EXPECT_EQ(events.events,
            (std::vector<std::string>{"open", "error:NetworkInterruptError:Network", "close"}));
  EXPECT_EQ(events.received, "whole record") << "nothing of the cut record is delivered";
}

TEST_F(Tls, HostNamesAreVerifiedToo) {
  auto options = client();
  EXPECT_EQ(clientEventsAgainst(ca->issue(), options, "localhost"),
            (std::vector<std::string>{"open", "close"}));
}

TEST_F(Tls, WrongHostNameIsDomainMismatch) {
  CertSpec spec;
  spec.dnsNames = {"elsewhere.test"};
  spec.ipAddresses = {"192.0.2.1"};
  EXPECT_EQ(clientEventsAgainst(ca->issue(spec), client()),
            (std::vector<std::string>{"error:SecurityCertificateDomainMismatchError:"
                                      "SecurityCertificate",
                                      "close"}));
}

TEST_F(Tls, ServerNameOverridesTheCheckedName) {
  CertSpec spec;
  spec.dnsNames = {"service.test"};
  spec.ipAddresses = {};
  auto options = client();
  options.tls.serverName = "service.test";
  EXPECT_EQ(clientEventsAgainst(ca->issue(spec), options),
            (std::vector<std::string>{"open", "close"}));
}

// Regression: a scoped IPv6 literal was taken for an address by Asio but refused by OpenSSL, so no
// name at all was checked and any trusted certificate passed.
TEST_F(Tls, ScopedAddressIsCheckedWithoutItsZone) {
  auto options = client();
  options.tls.serverName = "fe80::1%lo";
  EXPECT_EQ(clientEventsAgainst(ca->issue(), options),
            (std::vector<std::string>{"error:SecurityCertificateDomainMismatchError:"
                                      "SecurityCertificate",
                                      "close"}));
  CertSpec spec;
  spec.ipAddresses = {"fe80::1"};
  EXPECT_EQ(clientEventsAgainst(ca->issue(spec), options),
            (std::vector<std::string>{"open", "close"}));
}

// Regression: with verification off, OpenSSL still records chain problems; a later, unrelated
// failure (no common ALPN) was reported as a certificate error.
TEST_F(Tls, UnrelatedFailureIsNotNamedAfterAnUncheckedChain) {
  auto serverOptions = server(TestCa::selfSigned());
  serverOptions.tls.alpnProtocols = {"imap"};
  auto options = client();
  options.tls.dangerouslyAcceptAnyCertificate = true;
  options.tls.alpnProtocols = {"h2"};
  Pair p(loop, serverOptions, options, "127.0.0.1");
  ASSERT_TRUE(runUntil(loop, [&] { return p.clientEvents.closed(); }));
  EXPECT_EQ(p.clientEvents.events,
            (std::vector<std::string>{"error:SecurityError:SecurityProtocol", "close"}));
}

TEST_F(Tls, ExpiredCertificate) {
  CertSpec spec;
  spec.validFromDays = -10;
  spec.validToDays = -1;
  EXPECT_EQ(clientEventsAgainst(ca->issue(spec), client()),
            (std::vector<std::string>{"error:SecurityExpiredCertificateError:SecurityCertificate",
                                      "close"}));
}

TEST_F(Tls, SelfSignedWithoutItsCaIsUntrustedIssuer) {
  EXPECT_EQ(clientEventsAgainst(TestCa::selfSigned(), client()),
            (std::vector<std::string>{
                "error:SecurityUntrustedCertificateIssuerError:SecurityCertificate", "close"}));
}

TEST_F(Tls, SystemStoreDoesNotTrustATestCa) {
  auto options = client();
  options.tls.trustedCertificates = {};  // the system's store
  EXPECT_EQ(clientEventsAgainst(ca->issue(), options),
            (std::vector<std::string>{
                "error:SecurityUntrustedCertificateIssuerError:SecurityCertificate", "close"}));
}

TEST_F(Tls, TrustedCertificateDirectory) {
  char pattern[] = "/tmp/tcpsocket-ca-XXXXXX";
  const std::string dir = ::mkdtemp(pattern);
  auto options = client();
  options.tls.trustedCertificates = {};
  options.tls.trustedCertificateDirectory = dir;
  EXPECT_EQ(clientEventsAgainst(ca->issue(), options),
            (std::vector<std::string>{
                "error:SecurityUntrustedCertificateIssuerError:SecurityCertificate", "close"}))
      << "an empty directory trusts nothing";
  const std::string path = dir + "/" + hashedFileName(ca->certificatePem());
  std::ofstream(path) << ca->certificatePem();
  options.tls.serverName = "localhost";  // another context: OpenSSL caches directory lookups
  EXPECT_EQ(clientEventsAgainst(ca->issue(), options), (std::vector<std::string>{"open", "close"}));
  std::remove(path.c_str());
  ::rmdir(dir.c_str());
  options.tls.trustedCertificateDirectory = dir + "-missing";
  EXPECT_THROW(ts::TCPSocket::open(loop, "127.0.0.1", 1, options), ts::TlsConfigurationError);
}

TEST_F(Tls, DangerousOptOutAcceptsAnything) {
  auto options = client();
  options.tls.trustedCertificates = {};
  options.tls.dangerouslyAcceptAnyCertificate = true;
  CertSpec spec;
  spec.dnsNames = {"elsewhere.test"};
  spec.ipAddresses = {};
  spec.validToDays = -1;
  EXPECT_EQ(clientEventsAgainst(TestCa::selfSigned(spec), options),
            (std::vector<std::string>{"open", "close"}));
}

TEST_F(Tls, PinnedPublicKey) {
  const Credentials good = ca->issue();
  auto options = client();
  options.tls.pinnedPublicKeys = {publicKeyPin(ca->issue().certificatePem),
                                  publicKeyPin(good.certificatePem)};
  EXPECT_EQ(clientEventsAgainst(good, options), (std::vector<std::string>{"open", "close"}));
  options.tls.pinnedPublicKeys = {publicKeyPin(ca->issue().certificatePem)};
  EXPECT_EQ(
      clientEventsAgainst(good, options),
      (std::vector<std::string>{"error:SecurityBadCertificateError:SecurityCertificate", "close"}));
}

TEST_F(Tls, MinimumVersionTls13) {
  auto serverOptions = server(ca->issue());
  serverOptions.tls.minVersion = ts::TlsVersion::Tls1_3;
  auto options = client();
  options.tls.minVersion = ts::TlsVersion::Tls1_3;
  Pair p(loop, serverOptions, options, "127.0.0.1");
  p.waitConnected();
  EXPECT_TRUE(p.server.ssl());
}

TEST_F(Tls, AlpnServerPicksItsPreferenceAmongOffered) {
  auto serverOptions = server(ca->issue());
  serverOptions.tls.alpnProtocols = {"imap", "http/1.1"};
  auto options = client();
  options.tls.alpnProtocols = {"h2", "http/1.1", "imap"};
  Pair p(loop, serverOptions, options, "127.0.0.1");
  p.waitConnected();
  EXPECT_EQ(p.client.alpnProtocol(), "imap");
  EXPECT_EQ(p.server.alpnProtocol(), "imap");
}

TEST_F(Tls, AlpnWithNothingInCommonFailsTheHandshake) {
  auto serverOptions = server(ca->issue());
  serverOptions.tls.alpnProtocols = {"imap"};
  auto options = client();
  options.tls.alpnProtocols = {"h2"};
  Pair p(loop, serverOptions, options, "127.0.0.1");
  ASSERT_TRUE(runUntil(loop, [&] { return p.clientEvents.closed(); }));
  ASSERT_EQ(p.clientEvents.events.size(), 2u);
  EXPECT_EQ(p.clientEvents.events[0].rfind("error:Security", 0), 0u) << p.clientEvents.events[0];
  EXPECT_EQ(p.connects, 0);
  EXPECT_TRUE(runUntil(loop, [&] { return p.listener.stats().handshakeFailures == 1; }));
}

// docs/tls.md: a client that fails the handshake is dropped without an event. The server's
// shared handlers (ServerSocketOptions::handlers) fired `error` and `close` for it although no
// `connect` had handed it out, so a server counting connections with them drifted.
TEST_F(Tls, AClientThatFailsTheHandshakeFiresNoSharedHandler) {
  auto serverOptions = server(ca->issue());
  serverOptions.tls.alpnProtocols = {"imap"};
  int sharedEvents = 0;
  auto handlers = std::make_shared<ts::SocketHandlers>();
  handlers->onerror = [&](const ts::TCPSocketEvent&) { ++sharedEvents; };
  handlers->onclose = [&](const ts::TCPSocketEvent&) { ++sharedEvents; };
  serverOptions.handlers = handlers;
  auto options = client();
  options.tls.alpnProtocols = {"h2"};
  Pair p(loop, serverOptions, options, "127.0.0.1");
  ASSERT_TRUE(runUntil(loop, [&] { return p.clientEvents.closed(); }));
  ASSERT_TRUE(runUntil(loop, [&] { return p.listener.stats().handshakeFailures == 1; }));
  runFor(loop, 50ms);
  EXPECT_EQ(p.connects, 0);
  EXPECT_EQ(sharedEvents, 0) << "shared handlers ran for a connection never handed out";
}

TEST_F(Tls, ClientCertificateRequiredAndGiven) {
  auto serverOptions = server(ca->issue());
  serverOptions.tls.requireClientCertificate = true;
  serverOptions.tls.trustedCertificates.pem = ca->certificatePem();
  CertSpec clientSpec;
  clientSpec.clientAuth = true;
  const Credentials mine = ca->issue(clientSpec);
  auto options = client();
  options.tls.certificateChain.pem = mine.certificatePem;
  options.tls.privateKey.pem = mine.keyPem;
  Pair p(loop, serverOptions, options, "127.0.0.1");
  p.waitConnected();
  p.client.send("authenticated");
  ASSERT_TRUE(runUntil(loop, [&] { return p.serverEvents->received.size() >= 13; }));
}

TEST_F(Tls, ClientCertificateRequiredAndMissing) {
  auto serverOptions = server(ca->issue());
  serverOptions.tls.requireClientCertificate = true;
  serverOptions.tls.trustedCertificates.pem = ca->certificatePem();
  Pair p(loop, serverOptions, client(), "127.0.0.1");
  // TLS 1.3: the client's handshake ends before the server has judged it, so the refusal
  // (certificate_required) arrives after `open`.
  ASSERT_TRUE(runUntil(loop, [&] { return p.clientEvents.closed(); }));
  EXPECT_TRUE(p.clientEvents.has("error:SecurityNoCertificateError:SecurityProtocol"))
      << ::testing::PrintToString(p.clientEvents.events);
  EXPECT_EQ(p.connects, 0) << "the server never hands out an unauthenticated client";
}

TEST_F(Tls, BackpressureCountsApplicationBytes) {
  Pair p(loop, server(ca->issue()), client(), "127.0.0.1");
  p.waitConnected();
  p.server.suspend();                       // nothing is read: the client's data piles up
  const std::string chunk(32u << 20, 'x');  // more than loopback buffers hold
  EXPECT_FALSE(p.client.send(chunk));
  EXPECT_GT(p.client.bufferedAmount(), 65536u);
  EXPECT_LE(p.client.bufferedAmount(), chunk.size()) << "application bytes, not TLS records";
  runFor(loop, 100ms);
  EXPECT_FALSE(p.clientEvents.has("drain"));
  p.server.resume();
  ASSERT_TRUE(runUntil(loop, [&] {
    return p.clientEvents.has("drain") && p.serverEvents->received.size() >= chunk.size();
  }));
  EXPECT_EQ(p.clientEvents.bufferedAtDrain, std::vector<std::uint64_t>{0});
  EXPECT_EQ(p.serverEvents->received, chunk);
}

// Records that wait in the kernel when reading resumes are all read, though no new data arrives
// to raise readiness: a TLS read returns at most one record, so a short read does not mean the
// kernel's queue is empty.
TEST_F(Tls, RecordsQueuedWhileSuspendedAreAllReadAfterResume) {
  Pair p(loop, server(ca->issue()), client(), "127.0.0.1");
  p.waitConnected();
  p.server.suspend();
  const std::string payload(60 * 1024, 'r');  // four records: fits in the receive queue
  p.client.send(payload);
  int pending = 0;
  ASSERT_TRUE(runUntil(loop, [&] {  // everything is in the server's receive queue, nothing moves
    ::ioctl(p.server.nativeHandle(), FIONREAD, &pending);
    return p.client.bufferedAmount() == 0 && pending > static_cast<int>(payload.size());
  }));
  p.server.resume();
  ASSERT_TRUE(runUntil(
      loop, [&] { return p.serverEvents->received.size() >= payload.size(); }, 5s))
      << p.serverEvents->received.size() << " of " << payload.size() << " bytes read";
  EXPECT_EQ(p.serverEvents->received, payload);
}

// 100 MiB through a TLS echo server and back, byte-exact, with send()/drain and suspend/resume
// backpressure on both sides.
TEST_F(Tls, HundredMebibytesEchoedByteExact) {
  constexpr std::size_t kTotal = 100u << 20;
  constexpr std::size_t kChunk = 64 * 1024;
  auto listener = ts::TCPServerSocket::listen(loop, 0, server(ca->issue()));
  listener.onconnect([](const ts::TCPServerSocketEvent& e) {
    ts::TCPSocket s = e.socket;
    s.ondata([s](const ts::TCPSocketEvent& d) mutable {
      if (!s.send(std::get<ts::ArrayBuffer>(d.data))) s.suspend();
    });
    s.ondrain([s](const ts::TCPSocketEvent&) mutable { s.resume(); });
    s.onclose([s](const ts::TCPSocketEvent&) mutable { s = {}; });  // break the cycle
  });
  auto socket = ts::TCPSocket::open(loop, "127.0.0.1", listener.localPort(), client());
  const auto pattern = randomBytes(kChunk * 3 + 1, 11);  // not a multiple of the chunk
  std::size_t sent = 0;
  std::size_t received = 0;
  bool mismatch = false;
  bool failed = false;
  std::function<void()> pump = [&] {
    while (sent < kTotal) {
      const std::size_t n = std::min(kChunk, kTotal - sent);
      const std::size_t at = sent % (pattern.size() - kChunk);
      sent += n;
      if (!socket.send(ts::ArrayBuffer(pattern.data() + at, n))) return;  // wait for drain
    }
  };
  socket.onopen([&](const ts::TCPSocketEvent&) { pump(); });
  socket.ondrain([&](const ts::TCPSocketEvent&) { pump(); });
  socket.onerror([&](const ts::TCPSocketEvent&) { failed = true; });
  // The expected byte at stream offset k is pattern[chunkStart % span + (k - chunkStart)].
  socket.ondata([&](const ts::TCPSocketEvent& e) {
    const auto& bytes = std::get<ts::ArrayBuffer>(e.data);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      const std::size_t k = received + i;
      const std::size_t chunkStart = k - k % kChunk;
      const std::size_t at = chunkStart % (pattern.size() - kChunk) + (k - chunkStart);
      if (bytes.data()[i] != pattern[at]) mismatch = true;
    }
    received += bytes.size();
  });
  ASSERT_TRUE(runUntil(
      loop, [&] { return received >= kTotal || failed || mismatch; }, 120s));
  EXPECT_FALSE(mismatch);
  EXPECT_FALSE(failed);
  EXPECT_EQ(received, kTotal);
  socket.close();
  listener.close();
  ASSERT_TRUE(runUntil(loop, [&] { return socket.readyState() == ts::ReadyState::Closed; }));
}

}  // namespace
}  // namespace test
