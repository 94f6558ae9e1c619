// STARTTLS, as mail protocols speak it: a plaintext greeting and command, then TLS on the same
// connection. One program, two roles:
//
//   starttls server CERT.pem KEY.pem [SECONDS]
//       prints "listening on PORT"; greets "220 ready", answers "STARTTLS" with "220 go ahead"
//       and upgrades, then echoes. A client that has not asked for STARTTLS within SECONDS
//       (default 30) is dropped.
//   starttls client HOST PORT CA.pem
//       reads the greeting, asks for STARTTLS, upgrades, sends "hello over TLS", prints the reply
//       and closes
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <tcpsocket/tcpsocket.hpp>

using namespace tcpsocket;

namespace {

// RFC 5321 §4.5.3.1.4: a command line is at most 512 bytes with its CRLF.
constexpr std::size_t kMaxCommandLine = 512;

// The plaintext part of one server connection. TCP keeps no message boundaries: a command may
// arrive in pieces, so bytes are buffered until the line ends.
class PlaintextPhase {
 public:
  PlaintextPhase(EventLoop& loop, TCPSocket socket, std::chrono::milliseconds timeout)
      : socket_(socket) {
    // Without a deadline, a client that connects and says nothing holds its connection forever.
    deadline_ = loop.setTimeout(timeout, [s = socket]() mutable {
      if (s.readyState() != ReadyState::Open) return;
      s.send("421 timed out waiting for STARTTLS\r\n");
      s.close();
    });
  }
  ~PlaintextPhase() { deadline_.cancel(); }

  void received(std::string_view bytes) {
    if (socket_.readyState() != ReadyState::Open) return;  // dropped: send() would throw
    pending_ += bytes;
    for (auto end = pending_.find("\r\n"); end != std::string::npos && !socket_.ssl();
         end = pending_.find("\r\n")) {
      const std::string line = pending_.substr(0, end);
      pending_.erase(0, end + 2);
      command(line);
    }
    if (socket_.ssl()) {
      // Pipelined after STARTTLS, in plaintext: injected by someone in the path (RFC 3207 §6).
      pending_.clear();
    } else if (pending_.size() >= kMaxCommandLine) {
      socket_.send("500 line too long\r\n");
      socket_.close();
    }
  }

 private:
  void command(const std::string& line) {
    if (line == "STARTTLS") {
      deadline_.cancel();
      socket_.send("220 go ahead\r\n");  // queued before the upgrade: still plaintext
      socket_.upgradeToSecure();
    } else {
      socket_.send("530 STARTTLS first\r\n");
    }
  }

  TCPSocket socket_;
  EventLoop::Timer deadline_;
  std::string pending_;
};

int server(const char* certificate, const char* key, std::chrono::milliseconds timeout) {
  EventLoop loop;
  ServerSocketOptions options;
  options.localAddress = "127.0.0.1";
  options.tls.certificateChain.file = certificate;  // used by upgradeToSecure() on accepted sockets
  options.tls.privateKey.file = key;
  auto listener = TCPServerSocket::listen(loop, 0, options);
  listener.onconnect([&loop, timeout](const TCPServerSocketEvent& e) {
    TCPSocket s = e.socket;
    s.send("220 ready\r\n");
    auto plaintext = std::make_shared<PlaintextPhase>(loop, s, timeout);
    s.ondata([s, plaintext](const TCPSocketEvent& d) mutable {
      const auto text = std::get<std::string_view>(d.data);
      if (!plaintext) {
        s.send(text);  // only reached for data that came through TLS
        return;
      }
      plaintext->received(text);
      if (s.ssl()) plaintext.reset();  // the upgrade has begun: nothing more is plaintext
    });
    s.onerror([](const TCPSocketEvent& err) {
      std::cerr << "connection error: " << err.name << " (" << err.message << ")\n";
    });
    s.onclose([s](const TCPSocketEvent&) mutable { s = {}; });
  });
  std::cout << "listening on " << listener.localPort() << std::endl;
  loop.run();
  return 0;
}

int client(const char* host, int port, const char* ca) {
  EventLoop loop;
  SocketOptions options;
  options.tls.trustedCertificates.file = ca;
  auto socket = TCPSocket::open(loop, host, static_cast<std::uint16_t>(port), options);
  std::string pending;
  int status = 1;
  socket.ondata([&](const TCPSocketEvent& e) {
    pending += std::get<std::string_view>(e.data);
    if (!socket.ssl() && pending == "220 ready\r\n") {
      pending.clear();
      socket.send("STARTTLS\r\n");
    } else if (!socket.ssl() && pending == "220 go ahead\r\n") {
      pending.clear();
      socket.upgradeToSecure();
      socket.send("hello over TLS\r\n");  // waits for the handshake, then goes out encrypted
    } else if (socket.ssl() && pending.ends_with("\r\n")) {
      std::cout << pending << std::flush;
      status = 0;
      socket.close();
    }
  });
  socket.onerror([&](const TCPSocketEvent& e) {
    std::cerr << "error: " << e.name << " (" << e.message << ")\n";
    status = 1;
  });
  socket.onclose([&](const TCPSocketEvent&) { loop.stop(); });
  loop.run();
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string role = argc > 1 ? argv[1] : "";
  try {
    const double seconds = argc == 5 ? std::atof(argv[4]) : 30.0;
    if (role == "server" && (argc == 4 || argc == 5) && seconds > 0) {
      return server(argv[2], argv[3], std::chrono::milliseconds(static_cast<long>(seconds * 1000)));
    }
    if (role == "client" && argc == 5) return client(argv[2], std::stoi(argv[3]), argv[4]);
  } catch (const Error& e) {
    std::cerr << e.name() << ": " << e.what() << "\n";
    return 1;
  }
  std::cerr << "usage: starttls server CERT KEY [SECONDS] | starttls client HOST PORT CA\n";
  return 2;
}
