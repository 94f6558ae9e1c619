#include "options.hpp"

#include <cctype>
#include <charconv>
#include <optional>
#include <utility>

namespace tcpsocket::cli {

const char* usageText() {
  return R"(tcpsocket - the Firefox OS TCP Socket API as a command-line server and client

Usage:
  tcpsocket listen [--host ADDR] [--port N] [--backlog N]
                   [--mode echo|discard|chat|stdio | --exec CMD]
                   [--max-connections N] [--idle-timeout SECONDS] [--workers N] [--threads N]
                   [--chat-budget MIB] [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]
                   [--alpn P1,P2]] [--proxy-protocol[=optional] [--proxy-trusted CIDR,...]]
                   [--systemd] [--metrics HOST:PORT] [--manifest FILE] [--verbose]
  tcpsocket connect HOST PORT [--timeout SECONDS] [--source ADDR] [--tls [--ca FILE]
                   [--servername NAME] [--cert FILE --key FILE] [--alpn P1,P2]
                   [--pin sha256/BASE64]... [--dangerously-accept-any-certificate]]
                   [--manifest FILE] [--verbose]
  tcpsocket --help | --version          (`tcpsocket listen --help` works too)

Flags take `--flag value` or `--flag=value`. netcat's short flags work: -l (as `listen`),
-p PORT, -s ADDR (--source), -k (ignored: listen keeps listening), -e CMD (--exec), -v,
-w SECONDS (--timeout), -h.

listen   Serves until SIGINT/SIGTERM. Prints "listening on HOST:PORT" once ready.
         SIGUSR2 restarts it refusing nobody: a new process (same binary and arguments)
         takes the listening sockets over, then this one drains and exits.
         --host     address to bind (default 127.0.0.1; "::" for IPv6 and IPv4); also --source
         --port     port to bind (default 0: the system picks one, shown in the line above)
         --backlog  listen queue length (default 0: the system's maximum)
         --mode     echo: send every byte back; discard: drop input; chat: relay each line
                    to every other client; stdio: relay the first connection to stdin and
                    stdout, refuse others, and exit when it ends (netcat -l; the ready line
                    then goes to stderr)
         --exec     run `/bin/sh -c CMD` for each connection, its stdin and stdout joined to
                    the connection (ncat -e); TCPSOCKET_REMOTE_ADDR, TCPSOCKET_REMOTE_PORT and
                    TCPSOCKET_LOCAL_PORT tell it who called
         --max-connections  accept at most N at once (default 10000 per process);
                    others wait in the backlog
         --chat-budget  MiB of lines a chat room may hold for slow readers (default 16):
                    senders wait for readers that fall behind; readers that do not catch up
                    within 2 s, or fall a quarter of it behind, are reset
         --idle-timeout     reset a connection silent for this many seconds
         --workers  N processes share the port (SO_REUSEPORT), each with its own loop
         --threads  N loops, one per thread, each with its own listener on the port
         --tls-cert/--tls-key  serve TLS with this PEM certificate chain and key
         --proxy-protocol  behind a load balancer: each connection starts with a PROXY
                    header (v1 or v2) naming the real client; =optional takes one if present
         --proxy-trusted   who may send that header (addresses or CIDR blocks, comma-
                    separated or repeated; default loopback); others are reset
         --systemd  take the listening socket from systemd (LISTEN_FDS; --host/--port are
                    then ignored)
         --metrics  serve the server's counters in Prometheus' text format on HOST:PORT
         --tls-client-ca  require a client certificate issued by a CA in this PEM file
         --alpn     ALPN protocols, comma-separated, in preference order (TLS: the client
                    must offer one of them)
connect  Copies stdin to the socket and the socket to stdout, like netcat; at the end of
         stdin it half-closes and waits for the peer to close, then exits 0.
         --timeout  give up connecting after this many seconds (default 30), and as long
                    again on a TLS handshake that does not complete
         --tls      speak TLS; the server's certificate is verified against the system's
                    CAs (or --ca FILE) and HOST (or --servername NAME). Nothing from stdin
                    is sent before the handshake has completed.
         --cert/--key  present this PEM client certificate chain and key
         --alpn     offer these ALPN protocols, comma-separated
         --pin      also require the server's public key to match sha256/BASE64 (curl's
                    --pinnedpubkey form; repeat for several)
         --dangerously-accept-any-certificate  skip that verification (tests only)
         --source   connect from this local address (an IP literal)
--manifest run under the policy of a Firefox OS app manifest (manifest.webapp): its type,
           its tcp-socket permission and allowlists (see docs/permissions.md)
--verbose  log connections and errors to stderr

Examples:
  tcpsocket listen --port 7000            # then: nc 127.0.0.1 7000
  tcpsocket listen --host :: --mode chat
  echo hello | tcpsocket connect 127.0.0.1 7000
  tcpsocket connect ::1 7000 < request.bin > reply.bin

Exit status: 0 success, 1 runtime error, 2 usage error. Errors are one line on stderr:
  tcpsocket: <ErrorName>: <what happened>
)";
}

std::uint16_t parsePort(const std::string& flag, const std::string& text) {
  unsigned value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value > 65535) {
    throw UsageError(flag + " expects a number from 0 to 65535, got '" + text + "'");
  }
  return static_cast<std::uint16_t>(value);
}

std::chrono::milliseconds parseSeconds(const std::string& flag, const std::string& text) {
  double value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || !(value >= 0.001 && value <= 86400)) {
    throw UsageError(flag + " expects seconds from 0.001 to 86400, got '" + text + "'");
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(value * 1000 + 0.5));
}

namespace {

std::uint32_t parseCount(const std::string& flag, const std::string& text,
                         std::uint32_t max = 1000000) {
  std::uint32_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value == 0 || value > max) {
    throw UsageError(flag + " expects a number from 1 to " + std::to_string(max) + ", got '" +
                     text + "'");
  }
  return value;
}

// An empty value would silently mean "not given" (the library's default for an empty name).
const std::string& nonEmpty(const std::string& flag, const std::string& value) {
  if (value.empty()) throw UsageError(flag + " needs a non-empty value");
  return value;
}

Mode parseMode(const std::string& text) {
  if (text == "echo") return Mode::Echo;
  if (text == "discard") return Mode::Discard;
  if (text == "chat") return Mode::Chat;
  if (text == "stdio") return Mode::Stdio;
  throw UsageError("--mode expects echo, discard, chat or stdio, got '" + text + "'");
}

// "h2,http/1.1" -> {"h2", "http/1.1"}; no empty names.
std::vector<std::string> parseList(const std::string& flag, const std::string& text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? comma : comma - start);
    if (item.empty() || item.size() > 255) {
      throw UsageError(flag + " expects a comma-separated list of names of 1 to 255 bytes, got '" +
                       text + "'");
    }
    items.push_back(std::move(item));
    if (comma == std::string::npos) return items;
    start = comma + 1;
  }
}

// The short flags netcat users type, as our long ones. -k (keep listening) and -l (listen) are
// what `listen` always does: accepted and ignored there.
std::string longFlag(const std::string& arg) {
  static const std::pair<const char*, const char*> kShort[] = {
      {"-p", "--port"}, {"-s", "--source"}, {"-v", "--verbose"}, {"-w", "--timeout"},
      {"-h", "--help"}, {"-k", "-k"},       {"-l", "-l"},        {"-e", "--exec"},
  };
  for (const auto& [shortName, longName] : kShort) {
    if (arg == shortName) return longName;
  }
  return arg;
}

// Walks the arguments, handing each flag its value: `--flag value` or `--flag=value`.
class Cursor {
 public:
  explicit Cursor(const std::vector<std::string>& args) : args_(args) {}
  bool done() {
    checkValueTaken();
    return i_ >= args_.size();
  }
  /// The next argument as a flag (a short one as its long name) or a positional argument.
  std::string next() {
    checkValueTaken();
    const std::string& arg = args_[i_++];
    const auto equals = arg.find('=');
    if (arg.starts_with("--") && equals != std::string::npos) {
      inlineValue_ = arg.substr(equals + 1);
      flag_ = arg.substr(0, equals);
      return flag_;
    }
    return longFlag(arg);
  }
  std::string valueOf(const std::string& flag) {
    if (inlineValue_) {
      std::string value = std::move(*inlineValue_);
      inlineValue_.reset();
      return value;
    }
    if (i_ >= args_.size()) throw UsageError(flag + " needs a value");
    return args_[i_++];
  }
  /// The value of a flag whose value is optional: only `--flag=value` gives one.
  std::optional<std::string> inlineValue() {
    auto value = std::move(inlineValue_);
    inlineValue_.reset();
    return value;
  }

 private:
  void checkValueTaken() const {
    if (inlineValue_) throw UsageError(flag_ + " takes no value");
  }

  const std::vector<std::string>& args_;
  std::size_t i_ = 0;
  std::optional<std::string> inlineValue_;  // from --flag=value, until the flag takes it
  std::string flag_;
};

bool isHelp(const std::string& flag) { return flag == "--help"; }

void parseListen(Cursor& c, Command& cmd) {
  auto& o = cmd.listen;
  bool modeGiven = false;
  while (!c.done()) {
    const std::string arg = c.next();
    if (isHelp(arg)) {
      cmd.kind = Command::Kind::Help;
      return;
    }
    if (arg == "-k" || arg == "-l") continue;  // netcat's keep-listening and listen: always so
    if (arg == "--host" || arg == "--source")  // --source (-s): netcat's name for it
      o.host = c.valueOf(arg);
    else if (arg == "--port")
      o.port = parsePort(arg, c.valueOf(arg));
    else if (arg == "--backlog")
      o.backlog = parsePort(arg, c.valueOf(arg));
    else if (arg == "--mode") {
      o.mode = parseMode(c.valueOf(arg));
      modeGiven = true;
    } else if (arg == "--exec")
      o.exec = nonEmpty(arg, c.valueOf(arg));
    else if (arg == "--proxy-protocol") {
      const auto value = c.inlineValue();
      if (!value || *value == "required") {
        o.proxyProtocol = ProxyProtocolOptions::Mode::Required;
      } else if (*value == "optional") {
        o.proxyProtocol = ProxyProtocolOptions::Mode::Optional;
      } else {
        throw UsageError("--proxy-protocol takes =required or =optional, got '" + *value + "'");
      }
    } else if (arg == "--proxy-trusted") {
      for (auto& block : parseList(arg, c.valueOf(arg))) o.proxyTrusted.push_back(std::move(block));
    } else if (arg == "--systemd")
      o.systemd = true;
    else if (arg == "--metrics")
      o.metrics = nonEmpty(arg, c.valueOf(arg));
    else if (arg == "--tls-client-ca")
      o.tlsClientCa = nonEmpty(arg, c.valueOf(arg));
    else if (arg == "--alpn")
      o.alpn = parseList(arg, c.valueOf(arg));
    else if (arg == "--tls-cert")
      o.tlsCert = c.valueOf(arg);
    else if (arg == "--tls-key")
      o.tlsKey = c.valueOf(arg);
    else if (arg == "--manifest")
      o.manifest = c.valueOf(arg);
    else if (arg == "--max-connections")
      o.maxConnections = parseCount(arg, c.valueOf(arg));
    else if (arg == "--chat-budget")
      o.chatBudget = std::uint64_t{parseCount(arg, c.valueOf(arg), 65536)} << 20;
    else if (arg == "--idle-timeout")
      o.idleTimeout = parseSeconds(arg, c.valueOf(arg));
    else if (arg == "--workers")
      o.workers = parseCount(arg, c.valueOf(arg), 64);
    else if (arg == "--threads")
      o.threads = parseCount(arg, c.valueOf(arg), 64);
    else if (arg == "--verbose")
      cmd.verbose = true;
    else
      throw UsageError("unknown argument '" + arg + "' for listen");
  }
  if (o.tlsCert.empty() != o.tlsKey.empty()) {
    throw UsageError("--tls-cert and --tls-key go together");
  }
  if (o.tlsCert.empty() && (!o.tlsClientCa.empty() || !o.alpn.empty())) {
    throw UsageError("--tls-client-ca and --alpn need --tls-cert and --tls-key");
  }
  if (!o.exec.empty()) {
    if (modeGiven) throw UsageError("--exec is a mode of its own: no --mode with it");
    o.mode = Mode::Exec;
  }
  if (!o.proxyTrusted.empty() && o.proxyProtocol == ProxyProtocolOptions::Mode::Off) {
    throw UsageError("--proxy-trusted needs --proxy-protocol");
  }
  if (o.workers > 1 && (o.systemd || !o.metrics.empty())) {
    throw UsageError("--systemd and --metrics serve one process: use --threads, not --workers");
  }
  if ((o.mode == Mode::Chat || o.mode == Mode::Stdio) && (o.workers > 1 || o.threads > 1)) {
    throw UsageError(std::string("--mode ") + (o.mode == Mode::Chat ? "chat" : "stdio") +
                     " serves the clients of one loop: no --workers or --threads");
  }
}

void parseConnect(Cursor& c, Command& cmd) {
  auto& o = cmd.connect;
  std::vector<std::string> positional;
  while (!c.done()) {
    const std::string arg = c.next();
    if (isHelp(arg)) {
      cmd.kind = Command::Kind::Help;
      return;
    }
    if (arg == "--tls")
      o.tls = true;
    else if (arg == "--ca")
      o.caFile = c.valueOf(arg);
    else if (arg == "--servername")
      o.serverName = nonEmpty(arg, c.valueOf(arg));
    else if (arg == "--cert")
      o.certFile = nonEmpty(arg, c.valueOf(arg));
    else if (arg == "--key")
      o.keyFile = nonEmpty(arg, c.valueOf(arg));
    else if (arg == "--alpn")
      o.alpn = parseList(arg, c.valueOf(arg));
    else if (arg == "--pin")
      o.pins.push_back(nonEmpty(arg, c.valueOf(arg)));
    else if (arg == "--dangerously-accept-any-certificate")
      o.acceptAnyCertificate = true;
    else if (arg == "--timeout")
      o.timeout = parseSeconds(arg, c.valueOf(arg));
    else if (arg == "--manifest")
      o.manifest = c.valueOf(arg);
    else if (arg == "--source")
      o.source = nonEmpty(arg, c.valueOf(arg));
    else if (arg == "--verbose")
      cmd.verbose = true;
    else if (arg.starts_with("-") && arg.size() > 1 &&
             !std::isdigit(static_cast<unsigned char>(arg[1])))
      throw UsageError("unknown argument '" + arg + "' for connect");
    else
      positional.push_back(arg);
  }
  if (positional.size() != 2) throw UsageError("connect needs HOST and PORT");
  if (!o.tls && (!o.caFile.empty() || !o.serverName.empty() || o.acceptAnyCertificate ||
                 !o.certFile.empty() || !o.alpn.empty() || !o.pins.empty())) {
    throw UsageError(
        "--ca, --servername, --cert, --key, --alpn, --pin and "
        "--dangerously-accept-any-certificate need --tls");
  }
  if (o.certFile.empty() != o.keyFile.empty()) throw UsageError("--cert and --key go together");
  o.host = positional[0];
  o.port = parsePort("PORT", positional[1]);
}

}  // namespace

Command parse(const std::vector<std::string>& args) {
  Command cmd;
  if (args.empty()) throw UsageError("missing command (listen or connect); see --help");
  Cursor c(args);
  const std::string first = c.next();
  if (first == "--help" || first == "help") {
    cmd.kind = Command::Kind::Help;
  } else if (first == "--version") {
    cmd.kind = Command::Kind::Version;
  } else if (first == "listen" || first == "-l") {  // `tcpsocket -l -p 7000`, as with nc
    cmd.kind = Command::Kind::Listen;
    parseListen(c, cmd);
    cmd.listen.arguments = args;
  } else if (first == "connect") {
    cmd.kind = Command::Kind::Connect;
    parseConnect(c, cmd);
  } else {
    throw UsageError("unknown command '" + first + "'; see --help");
  }
  return cmd;
}

}  // namespace tcpsocket::cli
