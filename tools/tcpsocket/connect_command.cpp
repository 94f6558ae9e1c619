// `tcpsocket connect`: stdin → socket and socket → stdout through a Relay (relay.hpp), with a
// brake each way. Each direction ends on its own: the end of stdin half-closes the connection,
// the peer's FIN ends stdout; the session is over when both are.
#include "connect_command.hpp"

#include <csignal>
#include <cstring>
#include <optional>
#include <tcpsocket/tcpsocket.hpp>

#include "app_manifest.hpp"
#include "messages.hpp"
#include "relay.hpp"

namespace tcpsocket::cli {
namespace {

class Session {
 public:
  Session(EventLoop& loop, const ConnectOptions& options, bool verbose)
      : options_(options), log_(verbose) {
    socket_ = TCPSocket::open(loop, options.host, options.port, socketOptions(options));
    relay_.emplace(loop, socket_, Relay::End{STDIN_FILENO, "stdin"},
                   Relay::End{STDOUT_FILENO, "stdout"}, log_);
    socket_.onopen([this](const TCPSocketEvent&) { opened(); });
    socket_.ondata([this](const TCPSocketEvent&) { received_ = true; });
    socket_.onerror([this](const TCPSocketEvent& e) { failed(e.name, e.message); });
    socket_.onclose([this](const TCPSocketEvent&) { closed(); });
  }

  /// After the loop has run out of work: the connection is over and stdout has everything.
  int status() const { return status_ != 0 || relay_->failed() ? 1 : 0; }

 private:
  // TLS is started by upgradeToSecure() at `open` rather than by useSecureTransport, whose `open`
  // waits for the handshake: that `open` is the only public sign that TCP is up, which tells a
  // silent server (handshake timeout) from an unreachable one (connect timeout).
  static SocketOptions socketOptions(const ConnectOptions& options) {
    SocketOptions o;
    o.binaryType = BinaryType::ArrayBuffer;
    o.connectTimeout = options.timeout;
    o.localAddress = options.source;
    // As OpenBSD netcat: the server's FIN ends stdout, and stdin is still sent until its end.
    o.connection.allowHalfOpen = true;
    if (options.tls) {  // else no TLS context: the system's trust store is costly to load
      o.tls.trustedCertificates.file = options.caFile;
      o.tls.serverName = options.serverName;
      o.tls.dangerouslyAcceptAnyCertificate = options.acceptAnyCertificate;
      o.tls.certificateChain.file = options.certFile;
      o.tls.privateKey.file = options.keyFile;
      o.tls.alpnProtocols = options.alpn;
      o.tls.pinnedPublicKeys = options.pins;
      o.tls.handshakeTimeout = options.timeout;
    }
    return o;
  }

  void opened() {
    connected_ = true;
    log_("connected to " + target());
    if (options_.tls && !startTls()) return;
    // Only now: nothing is read from stdin before the connection is up. With TLS, what is sent
    // waits in the socket's queue until the handshake (and verification) has completed.
    relay_->startInput();
  }

  // stdin is let go at once; the loop runs on until stdout has taken everything received.
  void closed() {
    log_("connection closed: " + byteCounts(socket_));
    relay_->stopInput();
    relay_->endOutput();
  }

  // A TLS setting that fails only now (settings equal to the defaults are loaded lazily) must
  // end the session: carrying on would send stdin in plaintext.
  bool startTls() {
    try {
      socket_.upgradeToSecure();
      return true;
    } catch (const Error& e) {
      printError(e.name(), e.what());
      status_ = 1;
      socket_.closeImmediately();
      return false;
    }
  }

  void failed(std::string_view name, std::string_view errorClass) {
    status_ = 1;
    if (errorClass == "SecurityCertificate" || errorClass == "SecurityProtocol") {
      printError(
          name, "the TLS handshake with " + target() + " failed (" + std::string(errorClass) + ")");
      return;
    }
    if (name == "ConnectionRefusedError") {
      printError(name, target() + " refused the connection");
    } else if (name == "DomainNotFoundError") {
      printError(name, "cannot resolve host '" + options_.host + "'");
    } else if (name == "SecurityError") {
      printError(name, "the app's connect allowlist does not allow " + target());
    } else if (name == "NetworkTimeoutError" && !connected_) {
      printError(name, target() + " did not answer within " + timeoutText());
    } else if (name == "NetworkTimeoutError" && handshaking()) {
      printError(
          name, "the TLS handshake with " + target() + " did not complete within " + timeoutText());
    } else {
      printError(name,
                 (connected_ ? "connection to " : "cannot connect to ") + target() + " failed");
    }
  }

  // No event marks the end of an upgrade's handshake; the first byte received proves it, since
  // nothing is delivered before it. So a timeout after a completed handshake but before any byte
  // (the kernel giving up on a vanished peer, minutes later) is reported as the handshake's too.
  bool handshaking() const { return options_.tls && connected_ && !received_; }

  std::string target() const { return hostPort(options_.host, options_.port); }
  std::string timeoutText() const { return std::to_string(options_.timeout.count()) + " ms"; }

  ConnectOptions options_;
  VerboseLog log_;
  TCPSocket socket_;
  std::optional<Relay> relay_;
  bool connected_ = false;
  bool received_ = false;
  int status_ = 0;
};

}  // namespace

int runConnect(const ConnectOptions& options, bool verbose) {
  std::signal(SIGPIPE, SIG_IGN);  // a closed stdout is an error to report, not a silent death
  EventLoop loop;
  applyManifest(loop, options.manifest);
  Session session(loop, options, verbose);
  loop.run();  // until closed, stdin let go and stdout flushed: then nothing is left to do
  return session.status();
}

}  // namespace tcpsocket::cli
