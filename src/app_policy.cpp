// AppPolicy: the permission, port and allowlist rules (the manifest parser is in manifest.cpp).
#include "tcpsocket/app_policy.hpp"

#include <asio/ip/address.hpp>

#include "address.hpp"
#include "lower_case.hpp"
#include "tcpsocket/errors.hpp"

namespace tcpsocket {
namespace {

// 'text', built by appending: g++ 12 at -O3 reports a false -Wrestrict in `"'" + string`.
std::string quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '\'';
  out += text;
  out += '\'';
  return out;
}

std::optional<asio::ip::address> literal(std::string_view text) {
  std::error_code ec;
  auto address = asio::ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return detail::unmapped(address);
}

bool inRange(std::uint32_t v, std::uint32_t network, int prefix) {
  const std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
  return (v & mask) == network;
}

// Public = reachable on the Internet: not loopback, private, shared, link-local, unspecified or
// multicast. Only these may be reached through a wildcard entry.
bool isPublic(const asio::ip::address& a) {
  if (a.is_loopback() || a.is_unspecified() || a.is_multicast()) return false;
  if (a.is_v4()) {
    const std::uint32_t v = a.to_v4().to_uint();
    // this network, private, shared (CGNAT), link-local, private, IETF protocol, TEST-NET-1,
    // private, benchmarking (and fake-IP proxies), TEST-NET-2, TEST-NET-3, reserved
    return !(inRange(v, 0x00000000, 8) || inRange(v, 0x0A000000, 8) || inRange(v, 0x64400000, 10) ||
             inRange(v, 0xA9FE0000, 16) || inRange(v, 0xAC100000, 12) ||
             inRange(v, 0xC0000000, 24) || inRange(v, 0xC0000200, 24) ||
             inRange(v, 0xC0A80000, 16) || inRange(v, 0xC6120000, 15) ||
             inRange(v, 0xC6336400, 24) || inRange(v, 0xCB007100, 24) || inRange(v, 0xF0000000, 4));
  }
  const auto v6 = a.to_v6();
  const auto b = v6.to_bytes();
  const bool uniqueLocal = (b[0] & 0xFE) == 0xFC;
  // Prefixes that carry an IPv4 address (NAT64 64:ff9b::/96 and 64:ff9b:1::/48, IPv4-compatible
  // ::/96, 6to4 2002::/16, Teredo 2001::/32) could lead to a private IPv4 host: never public.
  const bool nat64 = b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b;
  bool v4Compatible = true;
  for (std::size_t i = 0; i < 12; ++i) v4Compatible = v4Compatible && b[i] == 0;
  const bool sixToFour = b[0] == 0x20 && b[1] == 0x02;
  const bool teredo = b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x00 && b[3] == 0x00;
  return !(v6.is_link_local() || v6.is_site_local() || uniqueLocal || nat64 || v4Compatible ||
           sixToFour || teredo);
}

bool portMatches(const SocketRule& rule, std::uint16_t port) {
  return port >= rule.firstPort && port <= rule.lastPort;
}

bool isWildcard(const SocketRule& rule) { return rule.host == "*" || rule.host.starts_with("*."); }

bool wildcardMatches(const SocketRule& rule, const std::string& host) {
  if (rule.host == "*") return true;
  const std::string_view suffix = std::string_view(rule.host).substr(1);  // ".example.com"
  return host.size() > suffix.size() && host.ends_with(suffix);
}

}  // namespace

std::string_view toString(AppType type) noexcept {
  switch (type) {
    case AppType::Web:
      return "web";
    case AppType::Privileged:
      return "privileged";
    case AppType::Certified:
      return "certified";
  }
  return "web";
}

AppPolicy::AppPolicy(AppType type, bool tcpSocketPermission,
                     std::optional<std::vector<SocketRule>> connectAllowlist,
                     std::optional<std::vector<SocketRule>> listenAllowlist)
    : type_(type),
      permission_(tcpSocketPermission),
      connect_(std::move(connectAllowlist)),
      listen_(std::move(listenAllowlist)) {}

void AppPolicy::checkPermission() const {
  if (type_ == AppType::Web) {
    throw SecurityError(
        "a web app may not use TCP sockets (the tcp-socket permission is only "
        "granted to privileged and certified apps)");
  }
  if (!permission_)
    throw SecurityError("the app's manifest does not request the tcp-socket permission");
}

void AppPolicy::checkListen(std::string_view localAddress, std::uint16_t port) const {
  checkPermission();
  if (port == 0) return;  // the system picks a free, unprivileged port
  if (port < 1024 && type_ != AppType::Certified) {
    throw SecurityError("listening on port " + std::to_string(port) +
                        " needs a certified app: ports below 1024 are reserved to certified apps, "
                        "and this app is " +
                        std::string(toString(type_)));
  }
  if (!listen_) return;
  const auto local = literal(localAddress);
  for (const SocketRule& rule : *listen_) {
    if (!portMatches(rule, port)) continue;
    if (rule.host == "*" || (local && literal(rule.host) == local)) return;
  }
  throw SecurityError("no entry of the manifest's listen allowlist allows " +
                      std::string(localAddress) + ":" + std::to_string(port));
}

std::optional<std::string> AppPolicy::connectDenial(std::string_view host, std::string_view address,
                                                    std::uint16_t port) const {
  if (type_ == AppType::Web || !permission_) return "the app lacks the tcp-socket permission";
  if (!connect_) return std::nullopt;
  std::string name = detail::lowerCase(host);
  if (!name.empty() && name.back() == '.') name.pop_back();  // "example.com." is "example.com"
  const auto target = literal(address);
  if (!target) return quoted(address) + " is not an address";
  for (const SocketRule& rule : *connect_) {
    if (!portMatches(rule, port)) continue;
    if (const auto ruleAddress = literal(rule.host)) {
      if (*ruleAddress == *target) return std::nullopt;
    } else if (isWildcard(rule)) {
      if (wildcardMatches(rule, name) && isPublic(*target)) return std::nullopt;
    } else if (rule.host == name) {
      return std::nullopt;
    }
  }
  std::string why = "no entry of the manifest's connect allowlist allows " + std::string(host);
  if (name != address) why += " (" + std::string(address) + ")";
  why += " port " + std::to_string(port);
  if (!isPublic(*target)) why += "; wildcard entries never allow loopback or private addresses";
  return why;
}

}  // namespace tcpsocket
