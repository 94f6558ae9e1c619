// SocketRule: parsing `HOST:PORTS` allowlist entries.
#include <asio/ip/address.hpp>
#include <charconv>

#include "lower_case.hpp"
#include "tcpsocket/app_policy.hpp"
#include "tcpsocket/errors.hpp"

namespace tcpsocket {
namespace {

[[noreturn]] void bad(std::string_view text, const std::string& why) {
  throw ManifestError("'" + std::string(text) + "': " + why);
}

std::uint16_t parsePortNumber(std::string_view whole, std::string_view digits) {
  unsigned value = 0;
  const auto* end = digits.data() + digits.size();
  const auto [ptr, ec] = std::from_chars(digits.data(), end, value);
  if (digits.empty() || ec != std::errc() || ptr != end) {
    bad(whole, "'" + std::string(digits) + "' is not a port number");
  }
  if (value < 1 || value > 65535) {
    bad(whole, "port " + std::string(digits) + " is out of range (1-65535)");
  }
  return static_cast<std::uint16_t>(value);
}

bool validName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  for (const char c : name) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return name.front() != '.' && name.back() != '.' && name.find("..") == std::string_view::npos;
}

}  // namespace

SocketRule SocketRule::parse(std::string_view text) {
  std::string_view host;
  std::string_view ports;
  if (text.starts_with("[")) {  // [IPv6]:PORTS
    const auto close = text.find("]:");
    if (close == std::string_view::npos) bad(text, "an IPv6 entry is written [ADDRESS]:PORTS");
    host = text.substr(1, close - 1);
    ports = text.substr(close + 2);
    std::error_code ec;
    asio::ip::make_address_v6(std::string(host), ec);
    if (ec) bad(text, "'" + std::string(host) + "' is not an IPv6 address");
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) bad(text, "an entry is written HOST:PORTS");
    host = text.substr(0, colon);
    ports = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) bad(text, "write IPv6 addresses in brackets");
  }
  SocketRule rule;
  rule.host = detail::lowerCase(host);  // a trailing dot stays, and is rejected below
  std::error_code ec;
  asio::ip::make_address(rule.host, ec);
  const bool literal = !ec;
  const bool wildcardDomain = rule.host.starts_with("*.") && validName(rule.host.substr(2));
  if (rule.host != "*" && !literal && !wildcardDomain && !validName(rule.host)) {
    bad(text, "'" + std::string(host) + "' is not *, a host name, *.domain or an IP address");
  }
  if (ports == "*") return rule;
  const auto dash = ports.find('-');
  if (dash == std::string_view::npos) {
    rule.firstPort = rule.lastPort = parsePortNumber(text, ports);
  } else {
    rule.firstPort = parsePortNumber(text, ports.substr(0, dash));
    rule.lastPort = parsePortNumber(text, ports.substr(dash + 1));
    if (rule.firstPort > rule.lastPort) bad(text, "the port range is reversed");
  }
  return rule;
}

}  // namespace tcpsocket
