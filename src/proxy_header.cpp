#include "proxy_header.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <string_view>
#include <system_error>
#include <vector>

namespace tcpsocket::detail {
namespace {

using Status = ProxyParse::Status;

constexpr std::string_view kV1Signature = "PROXY ";
constexpr std::array<std::uint8_t, 12> kV2Signature = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                       0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr std::size_t kV2Fixed = 16;

// v2 TLV types (doc/proxy-protocol.txt, section 2.2).
constexpr std::uint8_t kTypeAlpn = 0x01, kTypeAuthority = 0x02, kTypeCrc32c = 0x03,
                       kTypeUniqueId = 0x05, kTypeSsl = 0x20, kSubtypeSslVersion = 0x21,
                       kSubtypeSslCn = 0x22, kSubtypeSslCipher = 0x23;
constexpr std::uint8_t kClientSsl = 0x01, kClientCertConn = 0x02, kClientCertSess = 0x04;

ProxyParse fail(const char* error) {
  ProxyParse p;
  p.status = Status::Invalid;
  p.error = error;
  return p;
}

ProxyParse needMore() { return {}; }

// True while `bytes` could still be the start of `signature`.
template <class Signature>
bool startsLike(std::span<const std::uint8_t> bytes, const Signature& signature) {
  const std::size_t n = std::min(bytes.size(), signature.size());
  return std::equal(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n),
                    reinterpret_cast<const std::uint8_t*>(signature.data()));
}

std::uint16_t bigEndian16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

std::uint32_t crc32c(std::span<const std::uint8_t> bytes) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (const std::uint8_t b : bytes) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return ~crc;
}

// ---- version 1: "PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n" ----

bool parsePort(std::string_view text, std::uint16_t& port) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return false;
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

bool parseAddress(std::string_view text, bool v6, asio::ip::address& address) {
  if (text.empty() || text.size() > 45) return false;
  std::error_code ec;
  address = asio::ip::make_address(std::string(text), ec);
  return !ec && address.is_v6() == v6 && !(v6 && address.to_v6().scope_id() != 0);
}

ProxyParse parseV1(std::span<const std::uint8_t> bytes) {
  const std::size_t limit = std::min(bytes.size(), kMaxProxyV1);
  const auto* begin = reinterpret_cast<const char*>(bytes.data());
  const std::string_view head(begin, limit);
  const std::size_t lf = head.find('\n');
  if (lf == std::string_view::npos) {
    return bytes.size() >= kMaxProxyV1 ? fail("a v1 header longer than 107 bytes") : needMore();
  }
  if (lf == 0 || head[lf - 1] != '\r') return fail("a v1 header not ended by CRLF");
  std::string_view line = head.substr(kV1Signature.size(), lf - 1 - kV1Signature.size());
  for (const char c : line) {
    if (c < 0x20 || c > 0x7e) return fail("a control byte in a v1 header");
  }
  std::string_view fields[6];
  std::size_t count = 0;
  while (!line.empty() && count < 6) {
    const std::size_t space = line.find(' ');
    fields[count++] = line.substr(0, space);
    line = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  }
  ProxyParse p;
  p.status = Status::Complete;
  p.length = lf + 1;
  p.info.version = 1;
  if (count >= 1 && fields[0] == "UNKNOWN") {  // the rest of the line is to be ignored
    p.local = true;
    return p;
  }
  if (count != 5 || !line.empty()) return fail("a v1 header without its five fields");
  const bool v6 = fields[0] == "TCP6";
  if (!v6 && fields[0] != "TCP4") return fail("a v1 header of an unknown protocol");
  asio::ip::address source, destination;
  std::uint16_t sourcePort = 0, destinationPort = 0;
  if (!parseAddress(fields[1], v6, source) || !parseAddress(fields[2], v6, destination)) {
    return fail("a v1 header with a malformed address");
  }
  if (!parsePort(fields[3], sourcePort) || !parsePort(fields[4], destinationPort)) {
    return fail("a v1 header with a malformed port");
  }
  p.source = {source, sourcePort};
  p.destination = {destination, destinationPort};
  return p;
}

// ---- version 2: 12-byte signature, version/command, family/protocol, length, addresses, TLVs ----

bool parseSsl(std::span<const std::uint8_t> value, ProxyInfo& info) {
  if (value.size() < 5) return false;
  const std::uint8_t client = value[0];
  const std::uint32_t verify = (std::uint32_t{value[1]} << 24) | (std::uint32_t{value[2]} << 16) |
                               (std::uint32_t{value[3]} << 8) | value[4];
  info.ssl = (client & kClientSsl) != 0;
  info.clientCertificateVerified =
      (client & (kClientCertConn | kClientCertSess)) != 0 && verify == 0;
  for (std::size_t at = 5; at < value.size();) {
    if (value.size() - at < 3) return false;
    const std::uint8_t type = value[at];
    const std::size_t length = bigEndian16(&value[at + 1]);
    if (value.size() - at - 3 < length) return false;
    const std::string text(reinterpret_cast<const char*>(&value[at + 3]), length);
    if (type == kSubtypeSslVersion) info.sslVersion = text;
    if (type == kSubtypeSslCn) info.sslCommonName = text;
    if (type == kSubtypeSslCipher) info.sslCipher = text;
    at += 3 + length;
  }
  return true;
}

const char* parseTlvs(std::span<const std::uint8_t> header, std::size_t at, ProxyInfo& info) {
  while (at < header.size()) {
    if (header.size() - at < 3) return "a v2 TLV cut short";
    const std::uint8_t type = header[at];
    const std::size_t length = bigEndian16(&header[at + 1]);
    if (header.size() - at - 3 < length) return "a v2 TLV longer than the header";
    const auto value = header.subspan(at + 3, length);
    const std::string text(reinterpret_cast<const char*>(value.data()), value.size());
    switch (type) {
      case kTypeAlpn:
        info.alpn = text;
        break;
      case kTypeAuthority:
        info.authority = text;
        break;
      case kTypeUniqueId:
        if (length > 128) return "a v2 unique ID longer than 128 bytes";
        info.uniqueId = text;
        break;
      case kTypeCrc32c: {
        if (length != 4) return "a v2 CRC32C TLV not of 4 bytes";
        std::vector<std::uint8_t> copy(header.begin(), header.end());
        std::fill_n(copy.begin() + static_cast<std::ptrdiff_t>(at + 3), 4, std::uint8_t{0});
        const std::uint32_t expected = (std::uint32_t{value[0]} << 24) |
                                       (std::uint32_t{value[1]} << 16) |
                                       (std::uint32_t{value[2]} << 8) | value[3];
        if (crc32c(copy) != expected) return "a v2 header whose CRC32C does not match";
        break;
      }
      case kTypeSsl:
        if (!parseSsl(value, info)) return "a malformed v2 SSL TLV";
        break;
      default:
        break;  // NOOP, NETNS and types of later versions: ignored, as the spec asks
    }
    at += 3 + length;
  }
  return nullptr;
}

ProxyParse parseV2(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < kV2Fixed) return needMore();
  const std::uint8_t versionCommand = bytes[12];
  if ((versionCommand >> 4) != 2) return fail("a v2 header of another version");
  const std::uint8_t command = versionCommand & 0x0F;
  if (command > 1) return fail("a v2 header with an unknown command");
  const std::size_t total = kV2Fixed + bigEndian16(&bytes[14]);
  if (bytes.size() < total) {
    ProxyParse more;
    more.length = total;  // the intake waits until that much has arrived
    return more;
  }
  const auto header = bytes.first(total);
  const std::uint8_t familyProtocol = bytes[13];
  std::size_t addressLength = 0;
  switch (familyProtocol) {
    case 0x00:
      break;  // UNSPEC
    case 0x11:
      addressLength = 12;
      break;  // TCP over IPv4
    case 0x21:
      addressLength = 36;
      break;  // TCP over IPv6
    case 0x31:
      addressLength = 216;
      break;  // a UNIX stream socket: nothing we can route
    default:
      if (command == 1) return fail("a v2 header for a protocol other than a stream");
      addressLength = 0;  // LOCAL: the family does not matter
  }
  if (total - kV2Fixed < addressLength) {
    // LOCAL: the spec has the receiver ignore the family and its addresses, even when absent.
    if (command != 0) return fail("a v2 header too short for its addresses");
    ProxyParse local;
    local.status = Status::Complete;
    local.length = total;
    local.local = true;
    local.info.version = 2;
    return local;
  }
  ProxyParse p;
  p.status = Status::Complete;
  p.length = total;
  p.info.version = 2;
  p.local = command == 0 || familyProtocol == 0x00 || familyProtocol == 0x31;
  const std::uint8_t* a = bytes.data() + kV2Fixed;
  if (!p.local && familyProtocol == 0x11) {
    asio::ip::address_v4::bytes_type s, d;
    std::memcpy(s.data(), a, 4);
    std::memcpy(d.data(), a + 4, 4);
    p.source = {asio::ip::address_v4(s), bigEndian16(a + 8)};
    p.destination = {asio::ip::address_v4(d), bigEndian16(a + 10)};
  } else if (!p.local && familyProtocol == 0x21) {
    asio::ip::address_v6::bytes_type s, d;
    std::memcpy(s.data(), a, 16);
    std::memcpy(d.data(), a + 16, 16);
    p.source = {asio::ip::address_v6(s), bigEndian16(a + 32)};
    p.destination = {asio::ip::address_v6(d), bigEndian16(a + 34)};
  }
  if (const char* error = parseTlvs(header, kV2Fixed + addressLength, p.info)) return fail(error);
  return p;
}

}  // namespace

ProxyParse parseProxyHeader(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return needMore();
  if (startsLike(bytes, kV2Signature)) {
    return bytes.size() < kV2Signature.size() ? needMore() : parseV2(bytes);
  }
  if (startsLike(bytes, kV1Signature)) {
    return bytes.size() < kV1Signature.size() ? needMore() : parseV1(bytes);
  }
  ProxyParse p;
  p.status = Status::NotProxy;
  return p;
}

}  // namespace tcpsocket::detail
