// Command-line parsing of the tcpsocket tool. Pure: no I/O, so it is unit-tested directly.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <tcpsocket/proxy_protocol.hpp>
#include <vector>

namespace tcpsocket::cli {

/// A bad command line; main prints "tcpsocket: UsageError: <what>" and exits 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// What `listen` does with a connection: echo it, drop its input, relay lines between clients,
/// relay the one connection to stdin/stdout (netcat's -l), or run a program for each (--exec).
enum class Mode { Echo, Discard, Chat, Stdio, Exec };

struct ListenOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::uint16_t backlog = 0;
  Mode mode = Mode::Echo;
  std::string tlsCert;
  std::string tlsKey;
  std::string tlsClientCa;        ///< --tls-client-ca: require client certificates it issued
  std::vector<std::string> alpn;  ///< --alpn: protocols to agree on, in preference order
  std::string manifest;           ///< run under this app manifest's policy (empty: full trust)
  std::string exec;               ///< --exec: the shell command run per connection (Mode::Exec)
  ProxyProtocolOptions::Mode proxyProtocol = ProxyProtocolOptions::Mode::Off;
  std::vector<std::string> proxyTrusted;  ///< --proxy-trusted (empty: loopback)
  bool systemd = false;                   ///< --systemd: the listener comes from LISTEN_FDS
  std::string metrics;                    ///< --metrics HOST:PORT (empty: none)
  std::vector<std::string> arguments;     ///< the whole command line, for a handover (SIGUSR2)
  /// Per process (each worker, each --threads loop): at the limit, new clients wait in the
  /// backlog. A default, not "unlimited": each connection has a worst-case cost (see
  /// docs/reliability.md), so an unbounded count is unbounded memory.
  std::uint32_t maxConnections = 10000;
  std::uint64_t chatBudget = 16u << 20;      ///< --chat-budget: bytes of lines a chat room may hold
  std::uint32_t workers = 1;                 ///< processes sharing the port (SO_REUSEPORT)
  std::uint32_t threads = 1;                 ///< loops (one per thread) in each process, same port
  std::chrono::milliseconds idleTimeout{0};  ///< 0: none
};

struct ConnectOptions {
  std::string host;
  std::uint16_t port = 0;
  bool tls = false;
  std::string caFile;                 ///< trust these CAs instead of the system's (with --tls)
  std::string serverName;             ///< the name to verify and send as SNI (default HOST)
  std::string certFile;               ///< --cert: our client certificate chain (PEM)
  std::string keyFile;                ///< --key: its private key
  std::vector<std::string> alpn;      ///< --alpn: protocols to offer, in preference order
  std::vector<std::string> pins;      ///< --pin sha256/BASE64, repeatable: one must match
  bool acceptAnyCertificate = false;  ///< --dangerously-accept-any-certificate
  std::chrono::milliseconds timeout{30000};  ///< for the whole connection attempt
  std::string manifest;                      ///< run under this app manifest's policy
  std::string source;                        ///< --source: the local address to connect from
};

struct Command {
  enum class Kind { Help, Version, Listen, Connect } kind = Kind::Help;
  bool verbose = false;
  ListenOptions listen;
  ConnectOptions connect;
};

/// Parses argv[1..]; throws UsageError naming the offending argument.
Command parse(const std::vector<std::string>& args);

/// Parses a port number "0".."65535".
std::uint16_t parsePort(const std::string& flag, const std::string& text);

/// Parses a duration in seconds ("2", "0.5") into milliseconds, at least 1 ms, at most a day.
std::chrono::milliseconds parseSeconds(const std::string& flag, const std::string& text);

const char* usageText();

}  // namespace tcpsocket::cli
