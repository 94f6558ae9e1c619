// `tcpsocket connect`: stdin → socket with send()'s false + drain as the brake on reading stdin;
// socket → stdout with suspend/resume as the brake on a slow consumer of our output. At the end of
// stdin the sending side is half-closed and the reply is read until the peer closes.
#include "connect_command.hpp"

#include <csignal>
#include <cstring>
#include <optional>
#include <tcpsocket/tcpsocket.hpp>

#include "app_manifest.hpp"
#include "messages.hpp"
#include "stdin_reader.hpp"
#include "stdout_writer.hpp"

namespace tcpsocket::cli {
namespace {

class Session {
 public:
  Session(EventLoop& loop, const ConnectOptions& options, bool verbose)
      : loop_(loop),
        keepAlive_(loop.keepAlive()),
        options_(options),
        log_(verbose),
        output_(
            loop, STDOUT_FILENO,
            {.low = [this] { outputDrained(); }, .error = [this](int err) { outputFailed(err); }}) {
    socket_ = TCPSocket::open(loop, options.host, options.port, socketOptions(options));
    socket_.onopen([this](const TCPSocketEvent&) { opened(); });
    socket_.ondata([this](const TCPSocketEvent& e) { received(std::get<ArrayBuffer>(e.data)); });
    socket_.ondrain([this](const TCPSocketEvent&) { socketDrained(); });
    socket_.onerror([this](const TCPSocketEvent& e) { failed(e.name, e.message); });
    socket_.onclose([this](const TCPSocketEvent&) {
      log_("connection closed");
      loop_.stop();
    });
  }

  /// After the loop has stopped: everything received is written out, stdin is let go.
  int finish() {
    input_.reset();
    if (const int err = output_.finish()) outputFailed(err);
    return status_;
  }

 private:
  // TLS is started by upgradeToSecure() at `open` rather than by useSecureTransport, whose `open`
  // waits for the handshake: that `open` is the only public sign that TCP is up, which tells a
  // silent server (handshake timeout) from an unreachable one (connect timeout).
  static SocketOptions socketOptions(const ConnectOptions& options) {
    SocketOptions o;
    o.binaryType = BinaryType::ArrayBuffer;
    o.connectTimeout = options.timeout;
    o.localAddress = options.source;
    if (options.tls) {  // else no TLS context: the system's trust store is costly to load
      o.tls.trustedCertificates.file = options.caFile;
      o.tls.serverName = options.serverName;
      o.tls.dangerouslyAcceptAnyCertificate = options.acceptAnyCertificate;
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
    input_.emplace(
        loop_, STDIN_FILENO,
        StdinReader::Handlers{.chunk = [this](std::string c) { inputChunk(std::move(c)); },
                              .end = [this] { inputEnded(); },
                              .error = [this](int err) { inputFailed(err); }});
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

  void inputChunk(std::string chunk) {
    if (socket_.readyState() != ReadyState::Open) return;
    if (socket_.send(std::string_view(chunk))) {
      input_->proceed();
    } else {
      waitingForDrain_ = true;  // read no more stdin until the socket has written this
    }
  }

  void socketDrained() {
    if (!waitingForDrain_ || !input_) return;
    waitingForDrain_ = false;
    input_->proceed();
  }

  void inputEnded() {
    log_("end of input: half-closing");
    if (socket_.readyState() == ReadyState::Open) socket_.halfClose();
  }

  void inputFailed(int err) {
    printError("InputError", std::string("reading stdin failed: ") + std::strerror(err));
    status_ = 1;
    inputEnded();
  }

  void received(ArrayBuffer bytes) {
    received_ = true;
    if (!output_.write(bytes) && !outputPaused_) {
      outputPaused_ = true;
      socket_.suspend();
    }
  }

  void outputDrained() {
    if (!outputPaused_) return;
    outputPaused_ = false;
    socket_.resume();
  }

  // A closed stdout (`| head`) ends the session quietly, as SIGPIPE would have.
  void outputFailed(int err) {
    if (outputFailed_) return;
    outputFailed_ = true;
    if (err != EPIPE) {
      printError("OutputError", std::string("writing stdout failed: ") + std::strerror(err));
      status_ = 1;
    }
    socket_.closeImmediately();
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

  EventLoop& loop_;
  // The loop may have nothing armed (socket suspended for stdout, stdin thread reading): keep run()
  // going until close stops it.
  EventLoop::KeepAlive keepAlive_;
  ConnectOptions options_;
  VerboseLog log_;
  StdoutWriter output_;
  std::optional<StdinReader> input_;
  TCPSocket socket_;
  bool connected_ = false;
  bool received_ = false;
  bool waitingForDrain_ = false;
  bool outputPaused_ = false;
  bool outputFailed_ = false;
  int status_ = 0;
};

}  // namespace

int runConnect(const ConnectOptions& options, bool verbose) {
  std::signal(SIGPIPE, SIG_IGN);  // a closed stdout is an error to report, not a silent death
  EventLoop loop;
  applyManifest(loop, options.manifest);
  Session session(loop, options, verbose);
  loop.run();
  return session.finish();
}

}  // namespace tcpsocket::cli
