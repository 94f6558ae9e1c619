// AppPolicy: who may open sockets and listen on which ports — the Firefox OS `tcp-socket`
// permission model, made enforceable for hosts that run untrusted app logic.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tcpsocket/export.hpp"

namespace tcpsocket {

/// The Firefox OS app types of a manifest's "type" field.
enum class AppType { Web, Privileged, Certified };
TCPSOCKET_API std::string_view toString(
    AppType type) noexcept;  ///< "web" / "privileged" / "certified"

/// One allowlist entry, in the shape of Chrome Apps' `sockets.tcp.connect` /
/// `sockets.tcpServer.listen` manifest patterns: `HOST:PORTS`.
///  - HOST: `*` (any host), a name (`mail.example.com`, matched case-insensitively), a domain
///    wildcard (`*.example.com`: names under it, not the bare domain), or an IPv4/IPv6 literal
///    (IPv6 in brackets: `[::1]:8080`).
///  - PORTS: `*`, a port `993`, or a range `8000-8100` (1–65535).
struct TCPSOCKET_API SocketRule {
  std::string host;  ///< as written, names lower-cased; IPv6 without brackets
  std::uint16_t firstPort = 1;
  std::uint16_t lastPort = 65535;

  /// Parses `HOST:PORTS`; throws ManifestError naming `text` and the problem.
  static SocketRule parse(std::string_view text);
};

/// What an app may do with TCP sockets. Immutable once built; share it with
/// `std::make_shared<const AppPolicy>(...)`.
///
/// @par The rules (checked on every TCPSocket::open and TCPServerSocket::listen made under it)
/// - No `tcp-socket` permission, or a `web` app: open() and listen() throw SecurityError.
/// - listen() on a port from 1 to 1023 by an app that is not `certified`: SecurityError (the rule
///   Firefox OS documented but never enforced). Port 0 (the system picks) is always allowed.
/// - With a `listen` allowlist: listen() must match one entry (HOST against the local address).
/// - With a `connect` allowlist: every address a connection is attempted to must be allowed, and
///   this is checked *after* name resolution, so a name cannot smuggle a forbidden address:
///   an address is allowed if an entry names that address (an IP literal entry), or an entry names
///   the very host given to open(); wildcard entries (`*`, `*.example.com`) allow only public
///   addresses — never loopback, private, link-local or unspecified ones. Denied addresses are
///   skipped; if none is left the socket gets `error` (name "SecurityError", message
///   "SecurityPolicy") then `close`.
/// - Accepted sockets belong to a server that was allowed to listen; they are not checked again.
///
/// Without a policy (the default), native code has full trust: nothing is checked. When the
/// operating system itself refuses (a port below 1024 without CAP_NET_BIND_SERVICE), the error is
/// PermissionDeniedError, distinct from the policy's SecurityError.
class TCPSOCKET_API AppPolicy {
 public:
  AppPolicy(AppType type, bool tcpSocketPermission,
            std::optional<std::vector<SocketRule>> connectAllowlist = std::nullopt,
            std::optional<std::vector<SocketRule>> listenAllowlist = std::nullopt);

  /// Builds the policy from a Firefox OS app manifest (`manifest.webapp`):
  /// @code
  ///   { "type": "privileged",
  ///     "permissions": { "tcp-socket": { "description": "IMAP",
  ///                                      "connect": ["mail.example.com:993", "*:443"],
  ///                                      "listen": "*:8000-8100" } } }
  /// @endcode
  /// "type" defaults to "web"; "connect"/"listen" (a string or an array of strings) are optional
  /// and absent means unrestricted. Other fields are ignored. Throws ManifestError whose what()
  /// names `source`, the line and column, and the field: `app.webapp:4:30: permissions.tcp-socket
  /// .connect[1]: port 70000 is out of range`. Never allows anything by default on bad input.
  static AppPolicy fromManifest(std::string_view json, std::string_view source = "manifest");
  /// Reads and parses a manifest file; a file that cannot be read is a ManifestError too.
  static AppPolicy fromManifestFile(const std::string& path);

  AppType type() const noexcept { return type_; }
  bool hasTcpSocketPermission() const noexcept { return permission_; }
  const std::optional<std::vector<SocketRule>>& connectAllowlist() const noexcept {
    return connect_;
  }
  const std::optional<std::vector<SocketRule>>& listenAllowlist() const noexcept { return listen_; }

  /// Throws SecurityError unless the app may use TCP sockets at all.
  void checkPermission() const;
  /// Throws SecurityError unless the app may listen on `localAddress`:`port`.
  void checkListen(std::string_view localAddress, std::uint16_t port) const;
  /// Whether a connection to `address` (an IP literal that `host` resolved to, or `host` itself
  /// when it is a literal) on `port` is allowed; on denial, the reason.
  std::optional<std::string> connectDenial(std::string_view host, std::string_view address,
                                           std::uint16_t port) const;

 private:
  AppType type_;
  bool permission_;
  std::optional<std::vector<SocketRule>> connect_;
  std::optional<std::vector<SocketRule>> listen_;
};

}  // namespace tcpsocket
