// The PROXY protocol (HAProxy's doc/proxy-protocol.txt): the parser on its own (every version,
// command, family and TLV; every way a header can be malformed; every prefix of a good header
// asks for more), and a server taking headers from raw clients: the client's address reported,
// the application's bytes untouched, untrusted sources, missing, slow and oversized headers
// refused and counted.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "proxy_header.hpp"
#include "support/loop_fixture.hpp"
#include "sys_ops.hpp"

namespace test {
namespace {

using tcpsocket::detail::parseProxyHeader;
using Status = tcpsocket::detail::ProxyParse::Status;

std::vector<std::uint8_t> bytesOf(const std::string& text) { return {text.begin(), text.end()}; }

// 192.0.2.1:56324 -> 198.51.100.7:443
constexpr std::array<std::uint8_t, 12> kIpv4Block = {192, 0, 2,    1,    198,  51,
                                                     100, 7, 0xDC, 0x04, 0x01, 0xBB};

// A v2 header: command (0 LOCAL, 1 PROXY), family/protocol byte, address block, TLVs.
struct V2 {
  std::uint8_t command = 1;
  std::uint8_t family = 0x11;
  std::vector<std::uint8_t> addresses{kIpv4Block.begin(), kIpv4Block.end()};
  std::vector<std::uint8_t> tlvs;

  V2& tlv(std::uint8_t type, const std::vector<std::uint8_t>& value) {
    tlvs.push_back(type);
    tlvs.push_back(static_cast<std::uint8_t>(value.size() >> 8));
    tlvs.push_back(static_cast<std::uint8_t>(value.size()));
    tlvs.insert(tlvs.end(), value.begin(), value.end());
    return *this;
  }
  std::vector<std::uint8_t> build() const {
    std::vector<std::uint8_t> h = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                   0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    h.push_back(static_cast<std::uint8_t>(0x20 | command));
    h.push_back(family);
    const std::size_t length = addresses.size() + tlvs.size();
    h.push_back(static_cast<std::uint8_t>(length >> 8));
    h.push_back(static_cast<std::uint8_t>(length));
    h.insert(h.end(), addresses.begin(), addresses.end());
    h.insert(h.end(), tlvs.begin(), tlvs.end());
    return h;
  }
};

std::uint32_t crc32c(const std::vector<std::uint8_t>& bytes) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (const std::uint8_t b : bytes) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return ~crc;
}

TEST(ProxyHeader, Version1Tcp4AndTcp6) {
  const auto v4 = bytesOf("PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\nGET /");
  auto p = parseProxyHeader(v4);
  ASSERT_EQ(p.status, Status::Complete) << p.error;
  EXPECT_EQ(p.length, v4.size() - 5) << "the header only, not the application's bytes";
  EXPECT_EQ(p.info.version, 1);
  EXPECT_FALSE(p.local);
  EXPECT_EQ(p.source.address().to_string(), "192.0.2.1");
  EXPECT_EQ(p.source.port(), 56324);
  EXPECT_EQ(p.destination.address().to_string(), "198.51.100.7");
  EXPECT_EQ(p.destination.port(), 443);
  p = parseProxyHeader(bytesOf("PROXY TCP6 2001:db8::1 2001:db8::2 65535 0\r\n"));
  ASSERT_EQ(p.status, Status::Complete) << p.error;
  EXPECT_EQ(p.source.address().to_string(), "2001:db8::1");
  EXPECT_EQ(p.source.port(), 65535);
  p = parseProxyHeader(bytesOf("PROXY UNKNOWN whatever follows\r\n"));
  ASSERT_EQ(p.status, Status::Complete);
  EXPECT_TRUE(p.local);
}

TEST(ProxyHeader, Version1MalformedIsInvalid) {
  for (const char* bad : {
           "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\n",      // LF without CR
           "PROXY TCP4 192.0.2.1 198.51.100.7 56324\r\n",        // a field missing
           "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443 9\r\n",  // one too many
           "PROXY TCP4 2001:db8::1 198.51.100.7 1 2\r\n",        // v6 address in TCP4
           "PROXY TCP6 192.0.2.1 2001:db8::2 1 2\r\n",           // v4 address in TCP6
           "PROXY TCP4 192.0.2.1 198.51.100.7 65536 443\r\n",    // port out of range
           "PROXY TCP4 192.0.2.1 198.51.100.7 0443 443\r\n",     // leading zero
           "PROXY TCP4 192.0.2.1 198.51.100.7 -1 443\r\n",       // sign
           "PROXY UDP4 192.0.2.1 198.51.100.7 1 2\r\n",          // protocol
           "PROXY TCP4 192.0.2.1\x01 198.51.100.7 1 2\r\n",      // control byte
           "PROXY TCP4  192.0.2.1 198.51.100.7 1 2\r\n",         // double space
       }) {
    EXPECT_EQ(parseProxyHeader(bytesOf(bad)).status, Status::Invalid) << bad;
  }
  const std::string longLine = "PROXY TCP6 " + std::string(120, 'a');  // no CRLF in 107 bytes
  EXPECT_EQ(parseProxyHeader(bytesOf(longLine)).status, Status::Invalid);
}

TEST(ProxyHeader, Version2AddressesAndTlvs) {
  V2 v2;
  v2.tlv(0x01, bytesOf("h2")).tlv(0x02, bytesOf("example.test")).tlv(0x05, bytesOf("id-42"));
  // PP2_TYPE_SSL: client SSL|CERT_CONN, verify 0, then version, CN and cipher sub-TLVs.
  std::vector<std::uint8_t> ssl = {0x03, 0, 0, 0, 0};
  for (const auto& [type, text] : std::vector<std::pair<std::uint8_t, std::string>>{
           {0x21, "TLSv1.3"}, {0x22, "client-cn"}, {0x23, "TLS_AES_128_GCM_SHA256"}}) {
    ssl.push_back(type);
    ssl.push_back(0);
    ssl.push_back(static_cast<std::uint8_t>(text.size()));
    ssl.insert(ssl.end(), text.begin(), text.end());
  }
  v2.tlv(0x20, ssl).tlv(0x04, {0, 0, 0}).tlv(0xEE, {1});  // NOOP and an unknown type: ignored
  const auto header = v2.build();
  auto p = parseProxyHeader(header);
  ASSERT_EQ(p.status, Status::Complete) << p.error;
  EXPECT_EQ(p.length, header.size());
  EXPECT_EQ(p.info.version, 2);
  EXPECT_EQ(p.source.address().to_string(), "192.0.2.1");
  EXPECT_EQ(p.source.port(), 0xDC04);
  EXPECT_EQ(p.destination.port(), 443);
  EXPECT_EQ(p.info.alpn, "h2");
  EXPECT_EQ(p.info.authority, "example.test");
  EXPECT_EQ(p.info.uniqueId, "id-42");
  EXPECT_TRUE(p.info.ssl);
  EXPECT_TRUE(p.info.clientCertificateVerified);
  EXPECT_EQ(p.info.sslVersion, "TLSv1.3");
  EXPECT_EQ(p.info.sslCommonName, "client-cn");
  EXPECT_EQ(p.info.sslCipher, "TLS_AES_128_GCM_SHA256");

  V2 six;
  six.family = 0x21;
  six.addresses.assign(36, 0);
  six.addresses[15] = 1;  // ::1
  six.addresses[31] = 2;  // ::2
  six.addresses[32] = 0x30;
  six.addresses[33] = 0x39;  // port 12345
  p = parseProxyHeader(six.build());
  ASSERT_EQ(p.status, Status::Complete) << p.error;
  EXPECT_EQ(p.source.address().to_string(), "::1");
  EXPECT_EQ(p.source.port(), 12345);
}

TEST(ProxyHeader, Version2LocalUnspecAndUnixAreTheBalancersOwn) {
  V2 local;
  local.command = 0;
  EXPECT_TRUE(parseProxyHeader(local.build()).local);
  V2 unspec;
  unspec.family = 0x00;
  unspec.addresses.clear();
  const auto p = parseProxyHeader(unspec.build());
  ASSERT_EQ(p.status, Status::Complete);
  EXPECT_TRUE(p.local);
  V2 unix;
  unix.family = 0x31;
  unix.addresses.assign(216, 'x');
  EXPECT_TRUE(parseProxyHeader(unix.build()).local);
}

// Found by an attack: a LOCAL header whose family says IPv4 but carries no addresses was refused;
// the spec has the receiver ignore a LOCAL header's family.
TEST(ProxyHeader, ALocalHeaderWithAFamilyButNoAddressesIsTaken) {
  V2 local;
  local.command = 0;
  local.family = 0x11;
  local.addresses.clear();
  const auto p = parseProxyHeader(local.build());
  ASSERT_EQ(p.status, Status::Complete) << p.error;
  EXPECT_TRUE(p.local);
}

TEST(ProxyHeader, Version2Crc32cIsChecked) {
  V2 v2;
  v2.tlv(0x03, {0, 0, 0, 0});
  auto header = v2.build();
  const std::uint32_t crc = crc32c(header);  // over the header with the field zeroed
  const std::size_t at = header.size() - 4;
  for (int i = 0; i < 4; ++i) header[at + i] = static_cast<std::uint8_t>(crc >> (24 - 8 * i));
  EXPECT_EQ(parseProxyHeader(header).status, Status::Complete);
  header[at + 3] ^= 1;
  EXPECT_EQ(parseProxyHeader(header).status, Status::Invalid);
}

TEST(ProxyHeader, Version2MalformedIsInvalid) {
  auto withByte = [](std::size_t index, std::uint8_t value) {
    auto h = V2().build();
    h[index] = value;
    return h;
  };
  EXPECT_EQ(parseProxyHeader(withByte(12, 0x11)).status, Status::Invalid) << "version 1 in v2";
  EXPECT_EQ(parseProxyHeader(withByte(12, 0x22)).status, Status::Invalid) << "command 2";
  EXPECT_EQ(parseProxyHeader(withByte(13, 0x12)).status, Status::Invalid) << "UDP";
  EXPECT_EQ(parseProxyHeader(withByte(13, 0x21)).status, Status::Invalid) << "too short for v6";
  V2 overflow;
  overflow.tlvs = {0x01, 0x00, 0x10, 'h'};  // claims 16 bytes, has 1
  EXPECT_EQ(parseProxyHeader(overflow.build()).status, Status::Invalid);
  V2 cut;
  cut.tlvs = {0x01, 0x00};  // a TLV header cut short
  EXPECT_EQ(parseProxyHeader(cut.build()).status, Status::Invalid);
  V2 badSsl;
  badSsl.tlv(0x20, {0x01, 0, 0});  // shorter than client + verify
  EXPECT_EQ(parseProxyHeader(badSsl.build()).status, Status::Invalid);
  V2 longId;
  longId.tlv(0x05, std::vector<std::uint8_t>(129, 'i'));
  EXPECT_EQ(parseProxyHeader(longId.build()).status, Status::Invalid);
}

TEST(ProxyHeader, EveryPrefixOfAGoodHeaderAsksForMore) {
  for (const auto& header : {bytesOf("PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n"),
                             V2().tlv(0x01, bytesOf("h2")).build()}) {
    for (std::size_t n = 0; n < header.size(); ++n) {
      EXPECT_EQ(parseProxyHeader(std::span(header).first(n)).status, Status::NeedMore) << n;
    }
  }
}

TEST(ProxyHeader, OtherBytesAreNotAHeader) {
  for (const char* direct : {"GET / HTTP/1.1\r\n", "\x16\x03\x01", "PROXZ", "\r\n\r\nX"}) {
    EXPECT_EQ(parseProxyHeader(bytesOf(direct)).status, Status::NotProxy) << direct;
  }
}

// ---- a server taking headers ----

using ProxyServer = LoopFixture;

struct Accepted {
  std::vector<ts::TCPSocket> sockets;
  std::vector<std::unique_ptr<Recorder>> events;
};

ts::TCPServerSocket proxyServer(ts::EventLoop& loop, Accepted& accepted,
                                ts::ProxyProtocolOptions proxy,
                                std::chrono::milliseconds deadline = 5s) {
  ts::ServerSocketOptions options;
  options.localAddress = "127.0.0.1";
  options.proxyProtocol = std::move(proxy);
  options.tls.handshakeTimeout = deadline;
  auto server = ts::TCPServerSocket::listen(loop, 0, options);
  server.onconnect([&accepted](const ts::TCPServerSocketEvent& e) {
    accepted.sockets.push_back(e.socket);
    accepted.events.push_back(std::make_unique<Recorder>(accepted.sockets.back()));
  });
  return server;
}

constexpr auto kRequired = ts::ProxyProtocolOptions::Mode::Required;
constexpr auto kOptional = ts::ProxyProtocolOptions::Mode::Optional;

// Waits until the raw client has been reset or closed by the server.
bool refused(ts::EventLoop& loop, RawConn& client) {
  return runUntil(loop, [&] {
    client.pump();
    return client.eof() || client.failed();
  });
}

TEST_F(ProxyServer, AVersion1HeaderNamesTheClientAndLeavesTheApplicationsBytes) {
  Accepted accepted;
  auto server = proxyServer(loop, accepted, {.mode = kRequired});
  RawConn client = RawConn::connectTo("127.0.0.1", server.localPort());
  client.writeAll("PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\nhello");
  ASSERT_TRUE(runUntil(loop, [&] {
    return accepted.sockets.size() == 1 && accepted.events[0]->received == "hello";
  }));
  const ts::TCPSocket& s = accepted.sockets[0];
  EXPECT_EQ(s.host(), "192.0.2.1");
  EXPECT_EQ(s.port(), 56324);
  EXPECT_EQ(s.remoteAddress(), "192.0.2.1");
  const auto info = s.proxyInfo();
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->version, 1);
  EXPECT_EQ(info->proxyAddress, "127.0.0.1");
  EXPECT_NE(info->proxyPort, 0);
  EXPECT_EQ(info->destinationAddress, "198.51.100.7");
  EXPECT_EQ(info->destinationPort, 443);
  EXPECT_EQ(server.stats().proxyHeadersAccepted, 1u);
  accepted.sockets[0].send(std::string_view("world"));
  ASSERT_TRUE(runUntil(loop, [&] {
    client.pump();
    return client.received() == "world";
  }));
}

TEST_F(ProxyServer, AVersion2HeaderTrickledOneByteAtATimeIsTaken) {
  Accepted accepted;
  auto server = proxyServer(loop, accepted, {.mode = kRequired});
  RawConn client = RawConn::connectTo("127.0.0.1", server.localPort());
  auto header = V2().tlv(0x01, bytesOf("h2")).build();
  for (const std::uint8_t b : header) {
    client.writeAll(std::string(1, static_cast<char>(b)));
    runFor(loop, 1ms);
    ASSERT_TRUE(accepted.sockets.empty()) << "handed out before the whole header";
  }
  client.writeAll("payload");
  ASSERT_TRUE(runUntil(loop, [&] {
    return accepted.sockets.size() == 1 && accepted.events[0]->received == "payload";
  }));
  EXPECT_EQ(accepted.sockets[0].host(), "192.0.2.1");
  EXPECT_EQ(accepted.sockets[0].proxyInfo()->alpn, "h2");
}

// Found in review: every byte of a trickled header made the server peek everything queued so
// far (up to 64 KiB), so one client sending a large v2 header a byte at a time cost the loop
// gigabytes of copying. Once the header's length is known, it waits until that much is queued.
std::size_t peekedBytes = 0;
ssize_t countingRecv(int fd, void* buf, size_t len, int flags) {
  const ssize_t n = tcpsocket::sys::realOps().recv(fd, buf, len, flags);
  if ((flags & MSG_PEEK) != 0 && n > 0) peekedBytes += static_cast<std::size_t>(n);
  return n;
}

TEST_F(ProxyServer, ATrickledLargeHeaderIsPeekedOnlyAFewTimes) {
  tcpsocket::sys::Ops counting = tcpsocket::sys::realOps();
  counting.recv = countingRecv;
  tcpsocket::sys::ScopedOps inject(counting);
  peekedBytes = 0;
  Accepted accepted;
  auto server = proxyServer(loop, accepted, {.mode = kRequired});
  RawConn client = RawConn::connectTo("127.0.0.1", server.localPort());
  const auto header = V2().tlv(0x04, std::vector<std::uint8_t>(20000, 0)).build();
  for (std::size_t at = 0; at < header.size(); at += 100) {  // 200 pieces
    const std::size_t n = std::min<std::size_t>(100, header.size() - at);
    client.writeAll(std::string(header.begin() + static_cast<std::ptrdiff_t>(at),
                                header.begin() + static_cast<std::ptrdiff_t>(at + n)));
    runFor(loop, 1ms);
  }
  client.writeAll("x");
  ASSERT_TRUE(runUntil(
      loop, [&] { return accepted.sockets.size() == 1 && accepted.events[0]->received == "x"; }));
  EXPECT_LT(peekedBytes, 4 * header.size())
      << "peeked " << peekedBytes << " bytes for a header of " << header.size();
}

TEST_F(ProxyServer, ALocalHeaderIsTheBalancersOwnConnection) {
  Accepted accepted;
  auto server = proxyServer(loop, accepted, {.mode = kRequired});
  RawConn client = RawConn::connectTo("127.0.0.1", server.localPort());
  V2 local;
  local.command = 0;
  const auto header = local.build();
  client.writeAll(std::string(header.begin(), header.end()));
  ASSERT_TRUE(runUntil(loop, [&] { return accepted.sockets.size() == 1; }));
  EXPECT_EQ(accepted.sockets[0].host(), "127.0.0.1");
  EXPECT_TRUE(accepted.sockets[0].proxyInfo()->local);
}

TEST_F(ProxyServer, RequiredRefusesAConnectionWithoutAHeader) {
  Accepted accepted;
  auto server = proxyServer(loop, accepted, {.mode = kRequired});
  RawConn client = RawConn::connectTo("127.0.0.1", server.localPort());
  client.writeAll("GET / HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(refused(loop, client));
  EXPECT_TRUE(accepted.sockets.empty());
  EXPECT_EQ(server.stats().proxyHeadersRefused, 1u);
  EXPECT_EQ(server.stats().open, 0u);
}

TEST_F(ProxyServer, AHeaderFromAnUntrustedSourceIsNeverBelieved) {
  Accepted accepted;
  auto required =
      proxyServer(loop, accepted, {.mode = kRequired, .trustedSources = {"10.0.0.0/8", "::1"}});
  RawConn forged = RawConn::connectTo("127.0.0.1", required.localPort());
  ASSERT_TRUE(refused(loop, forged)) << "Required: reset at once, before any byte";
  auto optional =
      proxyServer(loop, accepted, {.mode = kOptional, .trustedSources = {"10.0.0.0/8"}});
  RawConn forged2 = RawConn::connectTo("127.0.0.1", optional.localPort());
  forged2.writeAll("PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n");
  ASSERT_TRUE(refused(loop, forged2)) << "Optional: reset when it starts with a header";
  RawConn direct = RawConn::connectTo("127.0.0.1", optional.localPort());
  direct.writeAll("just bytes");
  ASSERT_TRUE(runUntil(loop, [&] {
    return accepted.sockets.size() == 1 && accepted.events[0]->received == "just bytes";
  })) << "Optional: a connection without a header is the client's own";
  EXPECT_EQ(accepted.sockets[0].host(), "127.0.0.1");
  EXPECT_FALSE(accepted.sockets[0].proxyInfo().has_value());
  EXPECT_EQ(required.stats().proxyHeadersRefused + optional.stats().proxyHeadersRefused, 2u);
}

TEST_F(ProxyServer, OptionalTakesAHeaderFromATrustedSource) {
  Accepted accepted;
  auto server =
      proxyServer(loop, accepted, {.mode = kOptional, .trustedSources = {"127.0.0.1/32"}});
  RawConn client = RawConn::connectTo("127.0.0.1", server.localPort());
  client.writeAll("PROXY TCP6 2001:db8::1 2001:db8::2 4000 443\r\nx");
  ASSERT_TRUE(runUntil(loop, [&] { return accepted.sockets.size() == 1; }));
  EXPECT_EQ(accepted.sockets[0].host(), "2001:db8::1");
  EXPECT_EQ(accepted.sockets[0].port(), 4000);
}

TEST_F(ProxyServer, ASlowOrEndlessHeaderIsResetAtTheDeadline) {
  Accepted accepted;
  auto server = proxyServer(loop, accepted, {.mode = kRequired}, 300ms);
  RawConn slow = RawConn::connectTo("127.0.0.1", server.localPort());
  slow.writeAll("PROXY TCP4 192.0.2.1 ");  // and nothing more
  V2 huge;
  huge.tlv(0x04, std::vector<std::uint8_t>(60000, 0));
  auto big = huge.build();
  big.resize(1000);  // claims 60 KB, sends 1 KB
  RawConn endless = RawConn::connectTo("127.0.0.1", server.localPort());
  endless.writeAll(std::string(big.begin(), big.end()));
  RawConn silent = RawConn::connectTo("127.0.0.1", server.localPort());
  ASSERT_TRUE(refused(loop, slow));
  ASSERT_TRUE(refused(loop, endless));
  ASSERT_TRUE(refused(loop, silent));
  EXPECT_TRUE(accepted.sockets.empty());
  EXPECT_EQ(server.stats().proxyHeadersRefused, 3u);
}

TEST_F(ProxyServer, ALineLongerThanAVersion1HeaderIsRefusedAtOnce) {
  Accepted accepted;
  auto server = proxyServer(loop, accepted, {.mode = kRequired}, 10s);
  RawConn client = RawConn::connectTo("127.0.0.1", server.localPort());
  client.writeAll("PROXY TCP4 " + std::string(200, '1'));
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(refused(loop, client));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "not left to the 10 s deadline";
}

TEST_F(ProxyServer, PerAddressLimitsCountTheClientsNotTheBalancer) {
  Accepted accepted;
  ts::ServerSocketOptions options;
  options.localAddress = "127.0.0.1";
  options.proxyProtocol.mode = kRequired;
  options.maxConnectionsPerAddress = 1;
  auto server = ts::TCPServerSocket::listen(loop, 0, options);
  server.onconnect(
      [&](const ts::TCPServerSocketEvent& e) { accepted.sockets.push_back(e.socket); });
  RawConn a = RawConn::connectTo("127.0.0.1", server.localPort());
  RawConn b = RawConn::connectTo("127.0.0.1", server.localPort());
  RawConn c = RawConn::connectTo("127.0.0.1", server.localPort());
  a.writeAll("PROXY TCP4 192.0.2.1 198.51.100.7 1000 443\r\n");
  b.writeAll("PROXY TCP4 192.0.2.2 198.51.100.7 1000 443\r\n");
  ASSERT_TRUE(runUntil(loop, [&] { return accepted.sockets.size() == 2; }))
      << "two clients behind one balancer address";
  c.writeAll("PROXY TCP4 192.0.2.1 198.51.100.7 1001 443\r\n");
  ASSERT_TRUE(refused(loop, c)) << "a second connection of 192.0.2.1";
  EXPECT_EQ(server.stats().refusedPerAddress, 1u);
}

// Found by an attack: a drain (the old process of a restart) reset connections whose header
// had not all arrived yet. They may finish it, and are then drained like the others.
TEST_F(ProxyServer, ADrainLetsAHeaderUnderWayFinishAndServesTheConnection) {
  Accepted accepted;
  auto server = proxyServer(loop, accepted, {.mode = kRequired});
  RawConn client = RawConn::connectTo("127.0.0.1", server.localPort());
  client.writeAll("PROXY TCP4 192.0.2.1 ");
  runFor(loop, 50ms);
  bool drained = false;
  server.drain(3s, [&] { drained = true; });
  runFor(loop, 300ms);  // longer than the quiet period: the header is not a quiet connection
  client.writeAll("198.51.100.7 56324 443\r\nhello");
  ASSERT_TRUE(runUntil(loop, [&] { return accepted.sockets.size() == 1; }));
  accepted.events[0]->received.clear();
  ASSERT_TRUE(runUntil(loop, [&] {
    client.pump();
    return drained && client.eof();
  })) << "drained, then closed with a FIN";
  EXPECT_FALSE(client.failed()) << "reset";
  EXPECT_EQ(server.stats().proxyHeadersRefused, 0u);
}

TEST_F(ProxyServer, ClosingTheServerEndsConnectionsStillInTheirHeader) {
  const int fdsBefore = openFdCount();
  {
    Accepted accepted;
    auto server = proxyServer(loop, accepted, {.mode = kRequired});
    RawConn waiting = RawConn::connectTo("127.0.0.1", server.localPort());
    waiting.writeAll("PROXY ");
    runFor(loop, 50ms);
    server.close();
    ASSERT_TRUE(refused(loop, waiting));
  }
  runFor(loop, 20ms);
  EXPECT_EQ(openFdCount(), fdsBefore);
}

TEST_F(ProxyServer, AMalformedTrustedSourceIsRefusedByListen) {
  ts::ServerSocketOptions options;
  options.localAddress = "127.0.0.1";
  options.proxyProtocol = {.mode = kRequired, .trustedSources = {"10.0.0.0/33"}};
  EXPECT_THROW(ts::TCPServerSocket::listen(loop, 0, options), ts::InvalidAddressError);
  options.proxyProtocol.trustedSources = {"not-an-address"};
  EXPECT_THROW(ts::TCPServerSocket::listen(loop, 0, options), ts::InvalidAddressError);
}

}  // namespace
}  // namespace test
