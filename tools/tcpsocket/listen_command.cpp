// `tcpsocket listen`: echo, discard and chat servers on the public API, with backpressure
// (send()'s false + suspend, drain + resume) and a bounded graceful shutdown on SIGINT/SIGTERM;
// and netcat's two: one connection relayed to stdin/stdout (stdio), a program per connection
// (--exec).
#include "listen_command.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tcpsocket/tcpsocket.hpp>
#include <thread>
#include <vector>

#include "app_manifest.hpp"
#include "chat_room.hpp"
#include "exec_programs.hpp"
#include "handover.hpp"
#include "messages.hpp"
#include "metrics.hpp"
#include "relay.hpp"
#include "shutdown_signal.hpp"
#include "workers.hpp"

namespace tcpsocket::cli {
namespace {

using namespace std::chrono_literals;

// Whatever is still busy then is reset. An overloaded loop takes a while to apply the resets, and
// tearing thousands of connections down takes more: the process must still be gone within the 5 s
// an orchestrator typically grants after SIGTERM (and the supervisor of --workers, 4.8 s).
constexpr auto kShutdownDeadline = 3000ms;
constexpr auto kShutdownHardStop = 3400ms;  // then the loop is left: what is open is reset
constexpr auto kTrimInterval = 1000ms;
constexpr std::int64_t kTrimAfterConnections = 100;

class Server {
 public:
  /// `stopAll` ends every loop of this process (the listener died: the whole server stops).
  /// `board`: where to publish counters (--metrics), or null; this loop's slot is `index`.
  Server(EventLoop& loop, const ListenOptions& options, bool verbose, std::function<void()> stopAll,
         MetricsBoard* board, std::size_t index)
      : loop_(loop),
        options_(options),
        verbose_(verbose),
        log_(verbose),
        stopAll_(std::move(stopAll)),
        board_(board),
        index_(index) {}

  /// Listens on `port`, or on `inherited` (a listening descriptor, --systemd) if not -1.
  void start(std::uint16_t port, int inherited) {
    const bool sharedPort = options_.workers > 1 || options_.threads > 1;
    if (options_.mode == Mode::Chat) {
      chat_.emplace(loop_, ChatLimits{.budget = options_.chatBudget}, log_);
    }
    ServerSocketOptions serverOptions;
    serverOptions.binaryType = BinaryType::ArrayBuffer;
    serverOptions.localAddress = options_.host;
    serverOptions.maxConnections = options_.maxConnections;
    serverOptions.reusePort = sharedPort;
    serverOptions.connection.idleTimeout = options_.idleTimeout;
    // Each direction ends on its own where a Relay joins the connection to descriptors.
    serverOptions.connection.allowHalfOpen =
        options_.mode == Mode::Exec || options_.mode == Mode::Stdio;
    serverOptions.useSecureTransport = !options_.tlsCert.empty();
    serverOptions.tls.certificateChain.file = options_.tlsCert;
    serverOptions.tls.privateKey.file = options_.tlsKey;
    serverOptions.tls.trustedCertificates.file = options_.tlsClientCa;
    serverOptions.tls.requireClientCertificate = !options_.tlsClientCa.empty();
    serverOptions.tls.alpnProtocols = options_.alpn;
    serverOptions.proxyProtocol.mode = options_.proxyProtocol;
    serverOptions.proxyProtocol.trustedSources = options_.proxyTrusted;
    serverOptions.handlers = sharedHandlers();
    server_ = inherited >= 0
                  ? TCPServerSocket::adopt(loop_, inherited, serverOptions)
                  : TCPServerSocket::listen(loop_, port, serverOptions, options_.backlog);
    if (options_.mode == Mode::Exec) programs_.emplace(loop_, options_.exec, log_);
    server_.onconnect([this](const TCPServerSocketEvent& e) { accept(e.socket); });
    server_.onerror([this](const TCPServerSocketEvent& e) {
      printError(e.name, "the listener stopped unexpectedly");
      failed_ = true;
      stopAll_();
    });
    trimTimer_ = loop_.setInterval(kTrimInterval, [this] {
      trimAfterBurst();
      publish();
    });
  }

  const TCPServerSocket& listener() const { return server_; }

  std::uint16_t localPort() const { return server_.localPort(); }

  /// The listener died: the server did not serve to the end.
  bool failed() const { return failed_; }
  /// 1 if the listener died, or (stdio) the connection failed or stdin/stdout could not be used.
  int status() const {
    return failed_ || connectionFailed_ || (stdio_ && stdio_->failed()) ? 1 : 0;
  }

  /// Stop accepting; answer what has arrived until each connection is quiet, then FIN; reset
  /// what is still busy at the deadline (see TCPServerSocket::drain).
  void shutdown() {
    shuttingDown_ = true;
    trimTimer_.cancel();  // the loop must be able to run out of work below
    const auto deadline = std::chrono::steady_clock::now() + kShutdownHardStop;
    // Shared, not on this frame: if the hard stop comes first, the server still holds the callback.
    auto drained = std::make_shared<bool>(false);
    server_.drain(kShutdownDeadline, [drained] { *drained = true; });
    loop_.runUntil([drained] { return *drained; }, kShutdownHardStop);
    // A closed socket may still be draining its peer's input until that peer's FIN: exiting
    // before would close it with unread input, and the kernel would answer with a reset that can
    // destroy what the peer has not read yet. Programs (--exec) and stdout (stdio) finish too.
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() > 0) loop_.runUntil([this] { return !busy(); }, left);
    if (programs_) programs_->terminateAll();
  }

  /// Stdio mode: the one connection has ended and stdout has everything it sent.
  bool finished() const { return stdioDone_; }

 private:
  // Echo and discard keep nothing per connection: these listeners are shared by every accepted
  // socket (idle connections are many). Echo's brake needs no state either: a send() that returns
  // false suspends the socket, so no further `data` comes before the `drain` that resumes it.
  std::shared_ptr<const SocketHandlers> sharedHandlers() {
    auto h = std::make_shared<SocketHandlers>();
    if (options_.mode == Mode::Echo) {
      h->ondata = [](const TCPSocketEvent& e) {
        if (!e.target.send(std::get<ArrayBuffer>(e.data))) e.target.suspend();
      };
      h->ondrain = [](const TCPSocketEvent& e) { e.target.resume(); };
    }
    if (verbose_ || board_) {
      h->onerror = [this](const TCPSocketEvent& e) {
        log_(std::string(e.name) + " on " + hostPort(e.target.host(), e.target.port()));
        if (board_) ++errors_[std::string(e.name)];
      };
      h->onclose = [this](const TCPSocketEvent& e) {
        log_("closed " + hostPort(e.target.host(), e.target.port()) + ": " + byteCounts(e.target));
        endedReceived_ += e.target.bytesRead();
        endedSent_ += e.target.bytesWritten();
      };
    }
    return h;
  }

  // Ended connections were counted at their `close`; open ones are counted as they stand.
  void publish() {
    if (!board_) return;
    LoopCounters c;
    c.stats = server_.stats();
    c.bytesReceived = endedReceived_;
    c.bytesSent = endedSent_;
    for (const TCPSocket& s : server_.connections()) {
      c.bytesReceived += s.bytesRead();
      c.bytesSent += s.bytesWritten();
    }
    c.tls = !options_.tlsCert.empty();
    c.errors = errors_;
    board_->publish(index_, std::move(c));
  }

  void accept(TCPSocket socket) {
    if (log_.enabled()) log_("connection from " + hostPort(socket.host(), socket.port()));
    if (chat_) chat_->join(std::move(socket));
    if (programs_) programs_->start(std::move(socket));
    if (options_.mode == Mode::Stdio) relayStdio(std::move(socket));
  }

  // netcat's `-l`: the first connection is relayed to stdin/stdout; the listener closes, so later
  // clients are refused, and the server ends with the connection.
  void relayStdio(TCPSocket socket) {
    if (stdio_) {  // accepted in the same turn as the first
      socket.closeImmediately();
      return;
    }
    server_.close();
    stdio_.emplace(loop_, socket, Relay::End{STDIN_FILENO, "stdin"},
                   Relay::End{STDOUT_FILENO, "stdout"}, log_, [this] {
                     stdoutDone_ = true;
                     stdioEndedIfDone();
                   });
    // A transfer cut short must not look like a complete one: status 1, and a line saying so.
    socket.onerror([this](const TCPSocketEvent& e) {
      printError(e.name,
                 "the connection from " + hostPort(e.target.host(), e.target.port()) + " failed");
      connectionFailed_ = true;
    });
    socket.onclose([this](const TCPSocketEvent&) {
      stdio_->stopInput();
      stdio_->endOutput();
      stdioClosed_ = true;
      stdioEndedIfDone();
    });
    stdio_->startInput();
  }

  void stdioEndedIfDone() {
    if (!stdioClosed_ || !stdoutDone_ || stdioDone_) return;
    stdioDone_ = true;
    if (!shuttingDown_) stopAll_();  // else shutdown() is already waiting for this
  }

  bool busy() const {
    const ServerStats stats = server_.stats();
    return stats.open > 0 || stats.lingering > 0 || (programs_ && programs_->busy()) ||
           (stdio_ && !stdioDone_);
  }

  // glibc keeps the heap pages a burst of connections freed; once more connections have ended
  // since the last trim than are open now (checked every second, so a burst shorter than that
  // counts too), they are handed back, and RSS returns to what the survivors need.
  void trimAfterBurst() {
    const ServerStats now = server_.stats();
    const std::uint64_t arrived = now.accepted + now.handshakeFailures;
    const std::int64_t open = now.open;
    const std::int64_t ended =
        static_cast<std::int64_t>(arrived - arrivedAtTrim_) - (open - openAtTrim_);
    if (ended >= kTrimAfterConnections && ended > open) {
      ::malloc_trim(0);
      arrivedAtTrim_ = arrived;
      openAtTrim_ = open;
    }
  }

  EventLoop& loop_;
  ListenOptions options_;
  bool verbose_;
  VerboseLog log_;
  std::function<void()> stopAll_;
  bool failed_ = false;
  TCPServerSocket server_;
  std::optional<ChatRoom> chat_;
  std::optional<ExecPrograms> programs_;
  MetricsBoard* board_;
  std::size_t index_;
  std::map<std::string, std::uint64_t> errors_;  // with --metrics
  std::uint64_t endedReceived_ = 0;
  std::uint64_t endedSent_ = 0;
  std::optional<Relay> stdio_;
  bool stdioClosed_ = false;
  bool stdoutDone_ = false;
  bool stdioDone_ = false;
  bool connectionFailed_ = false;
  bool shuttingDown_ = false;
  EventLoop::Timer trimTimer_;
  std::uint64_t arrivedAtTrim_ = 0;  // connections accepted or failed in their handshake
  std::int64_t openAtTrim_ = 0;
};

}  // namespace

namespace {

// The listening descriptors --systemd takes: one per loop, or one shared by every loop.
std::vector<int> systemdListeners(std::uint32_t loops) {
  std::vector<int> fds = inheritedListeners();
  if (fds.empty()) {
    throw NetworkError("--systemd: no listening socket was passed (LISTEN_FDS, LISTEN_PID)");
  }
  if (fds.size() == 1) {
    while (fds.size() < loops) fds.push_back(::fcntl(fds.front(), F_DUPFD_CLOEXEC, 3));
  } else if (fds.size() != loops) {
    throw NetworkError("--systemd: " + std::to_string(fds.size()) +
                       " sockets were passed; --threads " + std::to_string(loops) + " takes 1 or " +
                       std::to_string(loops));
  }
  return fds;
}

// The address a listener is bound to, for the ready line (an inherited one was not given).
std::string boundHost(const TCPServerSocket& server, const std::string& fallback) {
  sockaddr_storage local{};
  socklen_t length = sizeof local;
  char text[64] = {};
  if (::getsockname(server.nativeHandle(), reinterpret_cast<sockaddr*>(&local), &length) != 0) {
    return fallback;
  }
  const void* address =
      local.ss_family == AF_INET6
          ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr)
          : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&local)->sin_addr);
  return ::inet_ntop(local.ss_family, address, text, sizeof text) ? std::string(text) : fallback;
}

}  // namespace

// One loop per thread (--threads), each with its own SO_REUSEPORT listener on the same port: the
// kernel spreads connections, and the loops share nothing.
int serve(const ListenOptions& options, bool verbose, const ReadyCallback& ready) {
  std::vector<std::unique_ptr<EventLoop>> loops;
  for (std::uint32_t i = 0; i < options.threads; ++i) {
    loops.push_back(std::make_unique<EventLoop>());
    applyManifest(*loops.back(), options.manifest);
  }
  // Posted, not called: a loop whose thread has not reached run() yet would forget a stop().
  auto stopAll = [&loops] {
    for (auto& loop : loops) loop->post([&loop] { loop->stop(); });
  };
  std::optional<Handover> handover;
  ShutdownSignal signal(
      *loops.front(),
      [&] {
        if (handover) handover->cancel();
        stopAll();
      },
      VerboseLog(verbose),
      [&handover] {
        if (handover) handover->start();
      });
  const std::vector<int> inherited =
      options.systemd ? systemdListeners(options.threads) : std::vector<int>();
  std::optional<MetricsBoard> board;
  if (!options.metrics.empty()) board.emplace(loops.size());
  std::vector<std::unique_ptr<Server>> servers;
  std::vector<int> listeners;
  std::uint16_t port = options.port;
  for (std::size_t i = 0; i < loops.size(); ++i) {  // not running yet: this thread sets them up
    servers.push_back(std::make_unique<Server>(*loops[i], options, verbose, stopAll,
                                               board ? &*board : nullptr, i));
    servers.back()->start(port, inherited.empty() ? -1 : inherited[i]);
    port = servers.back()->localPort();  // port 0: the others join the port the first got
    listeners.push_back(servers.back()->listener().nativeHandle());
  }
  std::optional<MetricsServer> metrics;
  if (board) metrics.emplace(*loops.front(), options.metrics, *board);
  // A restart that refuses nobody (handover.hpp): not for stdio, which serves one connection,
  // nor for a --workers worker, whose supervisor would lose track of its successor.
  if (options.mode != Mode::Stdio && options.workers == 1) {
    handover.emplace(*loops.front(), listeners, options.arguments, VerboseLog(verbose), stopAll);
  }
  ready(boundHost(servers.front()->listener(), options.host), port);
  if (metrics) {
    const VerboseLog log(verbose);
    log("metrics on " + metrics->address());
  }
  notifyReady();
  // Every loop on its own thread (the first on this one); then every server drains at once, so
  // that the whole stop stays within one deadline.
  auto onEach = [&](const std::function<void(std::size_t)>& work) {
    std::vector<std::thread> threads;
    for (std::size_t i = 1; i < loops.size(); ++i) threads.emplace_back(work, i);
    work(0);
    for (auto& t : threads) t.join();
  };
  onEach([&](std::size_t i) {
    loops[i]->run();
    if (i == 0 && metrics) metrics->close();
    if (!servers[i]->failed()) servers[i]->shutdown();
  });
  int status = 0;
  for (auto& server : servers) status = std::max(status, server->status());
  return status;
}

int runListen(const ListenOptions& options, bool verbose) {
  if (options.workers > 1) return runWorkers(options, verbose);
  // In stdio mode stdout carries the connection's bytes: the ready line goes to stderr.
  return serve(options, verbose, [&options](const std::string& host, std::uint16_t port) {
    announceListening(host, port, options.mode == Mode::Stdio);
  });
}

}  // namespace tcpsocket::cli
