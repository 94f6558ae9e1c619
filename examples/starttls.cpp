// STARTTLS, as mail protocols speak it: a plaintext greeting and command, then TLS on the same
// connection. One program, two roles:
//
//   starttls server CERT.pem KEY.pem    prints "listening on PORT"; greets "220 ready", answers
//                                       "STARTTLS" with "220 go ahead" and upgrades, then echoes
//   starttls client HOST PORT CA.pem    reads the greeting, asks for STARTTLS, upgrades, sends
//                                       "hello over TLS", prints the reply and closes
#include <cstdio>
#include <iostream>
#include <string>
#include <tcpsocket/tcpsocket.hpp>

using namespace tcpsocket;

namespace {

int server(const char* certificate, const char* key) {
  EventLoop loop;
  ServerSocketOptions options;
  options.localAddress = "127.0.0.1";
  options.tls.certificateChain.file = certificate;  // used by upgradeToSecure() on accepted sockets
  options.tls.privateKey.file = key;
  auto listener = TCPServerSocket::listen(loop, 0, options);
  listener.onconnect([](const TCPServerSocketEvent& e) {
    TCPSocket s = e.socket;
    s.send("220 ready\r\n");
    s.ondata([s](const TCPSocketEvent& d) mutable {
      const auto text = std::get<std::string_view>(d.data);
      if (!s.ssl() && text == "STARTTLS\r\n") {
        s.send("220 go ahead\r\n");  // queued before the upgrade: still plaintext
        s.upgradeToSecure();
      } else if (s.ssl()) {
        s.send(text);  // only reached for data that came through TLS
      } else {
        s.send("530 STARTTLS first\r\n");
      }
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
    if (role == "server" && argc == 4) return server(argv[2], argv[3]);
    if (role == "client" && argc == 5) return client(argv[2], std::stoi(argv[3]), argv[4]);
  } catch (const Error& e) {
    std::cerr << e.name() << ": " << e.what() << "\n";
    return 1;
  }
  std::cerr << "usage: starttls server CERT KEY | starttls client HOST PORT CA\n";
  return 2;
}
