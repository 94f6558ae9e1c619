// The cause behind an error name (include/tcpsocket/events.hpp, errors.hpp): an `error` event
// and an exception say which system call, resolver answer or TLS verdict made them, so that a
// user who sees "NetworkError" can also see the ECONNRESET behind it. Errors no lower layer
// raised (a policy denial, BufferOverflowError) carry an empty cause.
#include <gtest/gtest.h>

#include <asio/error.hpp>
#include <optional>
#include <string>
#include <system_error>

#include "support/fake_resolver.hpp"
#include "support/tls_fixture.hpp"
#include "sys_ops.hpp"
#include "tcpsocket/app_policy.hpp"

namespace test {
namespace {

struct SeenError {
  std::string name;
  std::error_code cause;
};

// Records the first `error` event of `socket`.
std::shared_ptr<std::optional<SeenError>> watchError(ts::TCPSocket& socket) {
  auto seen = std::make_shared<std::optional<SeenError>>();
  socket.onerror([seen](const ts::TCPSocketEvent& e) {
    if (!*seen) *seen = SeenError{std::string(e.name), e.cause};
  });
  return seen;
}

using ErrorCauses = TlsFixture;

TEST_F(ErrorCauses, RefusedConnectionCarriesEconnrefused) {
  RawListener listener;
  const std::uint16_t port = listener.port();
  listener.close();  // nothing listens there any more
  auto socket = ts::TCPSocket::open(loop, "127.0.0.1", port);
  auto seen = watchError(socket);
  ASSERT_TRUE(runUntil(loop, [&] { return seen->has_value(); }));
  EXPECT_EQ((*seen)->name, "ConnectionRefusedError");
  EXPECT_EQ((*seen)->cause, std::errc::connection_refused);
  EXPECT_EQ((*seen)->cause.category(), std::system_category());
}

TEST_F(ErrorCauses, PeerResetCarriesEconnreset) {
  RawListener listener;
  auto socket = ts::TCPSocket::open(loop, "127.0.0.1", listener.port());
  Recorder events(socket);
  auto seen = watchError(socket);
  RawConn peer = acceptWhenOpen(loop, listener, events);
  peer.reset();
  ASSERT_TRUE(runUntil(loop, [&] { return seen->has_value(); }));
  EXPECT_EQ((*seen)->name, "NetworkError");
  EXPECT_EQ((*seen)->cause, std::errc::connection_reset);
}

TEST_F(ErrorCauses, UnknownHostCarriesTheResolversAnswer) {
  FakeResolver resolver(loop);
  resolver.answer("known.test", {"127.0.0.1"});
  auto socket = ts::TCPSocket::open(loop, "unknown.test", 80);
  auto seen = watchError(socket);
  ASSERT_TRUE(runUntil(loop, [&] { return seen->has_value(); }));
  EXPECT_EQ((*seen)->name, "DomainNotFoundError");
  EXPECT_EQ((*seen)->cause, asio::error::host_not_found);
}

TEST_F(ErrorCauses, UntrustedCertificateCarriesTheVerificationResult) {
  const Credentials stranger = TestCa::selfSigned();
  auto server =
      ts::TCPServerSocket::listen(loop, 0, tlsServer(stranger, true, ts::BinaryType::String));
  auto socket = ts::TCPSocket::open(loop, "127.0.0.1", server.localPort(),
                                    tlsClient(true, ts::BinaryType::String));
  auto seen = watchError(socket);
  ASSERT_TRUE(runUntil(loop, [&] { return seen->has_value(); }));
  EXPECT_EQ((*seen)->name, "SecurityUntrustedCertificateIssuerError");
  EXPECT_STREQ((*seen)->cause.category().name(), "x509");
  EXPECT_EQ((*seen)->cause.message(), "self-signed certificate");
}

// A plain server answering a ClientHello with text: OpenSSL's own reason comes through.
TEST_F(ErrorCauses, ProtocolFailureCarriesOpenSslsReason) {
  RawListener listener;
  auto socket = ts::TCPSocket::open(loop, "127.0.0.1", listener.port(),
                                    tlsClient(true, ts::BinaryType::String));
  auto seen = watchError(socket);
  RawConn peer;
  ASSERT_TRUE(runUntil(loop, [&] {
    if (!peer.valid()) peer = RawConn(listener.tryAccept());
    return peer.valid();
  }));
  peer.writeAll("HTTP/1.0 400 Bad Request\r\n\r\n");
  ASSERT_TRUE(runUntil(loop, [&] { return seen->has_value(); }));
  EXPECT_EQ((*seen)->name, "SecurityError");
  EXPECT_STREQ((*seen)->cause.category().name(), "openssl");
  EXPECT_EQ((*seen)->cause.message(), "wrong version number");
}

TEST_F(ErrorCauses, PolicyDenialHasNoCause) {
  ts::SocketOptions options;
  options.policy = std::make_shared<const ts::AppPolicy>(
      ts::AppType::Privileged, true,
      std::vector<ts::SocketRule>{ts::SocketRule::parse("example.com:80")});
  auto socket = ts::TCPSocket::open(loop, "127.0.0.1", 9, options);
  auto seen = watchError(socket);
  ASSERT_TRUE(runUntil(loop, [&] { return seen->has_value(); }));
  EXPECT_EQ((*seen)->name, "SecurityError");
  EXPECT_FALSE((*seen)->cause);
}

TEST_F(ErrorCauses, ListenExceptionCarriesTheErrno) {
  auto first = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  try {
    ts::TCPServerSocket::listen(loop, first.localPort(), {.localAddress = "127.0.0.1"});
    FAIL() << "listening twice on one port succeeded";
  } catch (const ts::AddressInUseError& e) {
    EXPECT_EQ(e.cause(), std::errc::address_in_use);
  }
}

TEST_F(ErrorCauses, ServerErrorCarriesAcceptsErrno) {
  tcpsocket::sys::Ops broken = tcpsocket::sys::realOps();
  broken.accept4 = [](int, sockaddr*, socklen_t*, int) -> int {
    errno = EINVAL;
    return -1;
  };
  tcpsocket::sys::ScopedOps inject(broken);
  auto server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  std::optional<std::error_code> cause;
  server.onerror([&cause](const ts::TCPServerSocketEvent& e) { cause = e.cause; });
  RawConn client = RawConn::connectTo("127.0.0.1", server.localPort());
  ASSERT_TRUE(runUntil(loop, [&] { return cause.has_value(); }));
  EXPECT_EQ(*cause, std::errc::invalid_argument);
}

}  // namespace
}  // namespace test
