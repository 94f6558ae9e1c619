// The fixture of the TLS suites: a private CA made once per suite, one leaf it issued for the tests
// that need just any good certificate, and the options a TLS server and client start from, so that
// each test states only what it changes.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "support/loop_fixture.hpp"
#include "support/test_certs.hpp"

namespace test {

class TlsFixture : public LoopFixture {
 protected:
  static void SetUpTestSuite() {
    ca = std::make_unique<TestCa>();
    leaf = std::make_unique<Credentials>(ca->issue());
  }
  static void TearDownTestSuite() {
    ca.reset();
    leaf.reset();
  }

  /// A server on 127.0.0.1 presenting `credentials`: TLS from the start when `secure`, otherwise
  /// plain, its credentials then serving upgradeToSecure().
  static ts::ServerSocketOptions tlsServer(const Credentials& credentials, bool secure,
                                           ts::BinaryType type) {
    ts::ServerSocketOptions options;
    options.binaryType = type;
    options.localAddress = "127.0.0.1";
    options.useSecureTransport = secure;
    options.tls.certificateChain.pem = credentials.certificatePem;
    options.tls.privateKey.pem = credentials.keyPem;
    return options;
  }
  /// A client trusting the suite's CA: TLS from the start when `secure`, otherwise ready to
  /// upgrade.
  static ts::SocketOptions tlsClient(bool secure, ts::BinaryType type) {
    ts::SocketOptions options;
    options.binaryType = type;
    options.useSecureTransport = secure;
    options.tls.trustedCertificates.pem = ca->certificatePem();
    return options;
  }

  // Opens a TLS client to a TLS server (TLS from the start) presenting `credentials`; returns the
  // client's events.
  std::vector<std::string> clientEventsAgainst(const Credentials& credentials,
                                               const ts::SocketOptions& options,
                                               const char* host = "127.0.0.1") {
    auto listener = ts::TCPServerSocket::listen(
        loop, 0, tlsServer(credentials, true, ts::BinaryType::ArrayBuffer));
    auto socket = ts::TCPSocket::open(loop, host, listener.localPort(), options);
    Recorder events(socket);
    EXPECT_TRUE(runUntil(loop, [&] { return events.closed() || events.has("open"); }));
    listener.close();
    socket.close();
    EXPECT_TRUE(runUntil(loop, [&] { return events.closed(); }));
    return events.events;
  }

  static inline std::unique_ptr<TestCa> ca;
  static inline std::unique_ptr<Credentials> leaf;  // issued by `ca` for 127.0.0.1 and localhost
};

}  // namespace test
