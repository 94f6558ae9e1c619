// An echo server in one page: every byte a client sends comes back, and a client that stops
// reading cannot make the server buffer without bound.
//
//   build/default/examples/echo_server 7000      then:  nc 127.0.0.1 7000
#include <cstdio>
#include <cstdlib>
#include <tcpsocket/tcpsocket.hpp>

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 0);
  tcpsocket::EventLoop loop;

  tcpsocket::ServerSocketOptions options;
  options.binaryType = tcpsocket::BinaryType::ArrayBuffer;
  options.localAddress = "127.0.0.1";
  auto server = tcpsocket::TCPServerSocket::listen(loop, port, options);

  server.onconnect([](const tcpsocket::TCPServerSocketEvent& event) {
    tcpsocket::TCPSocket socket = event.socket;  // already open; keep using it from its events

    socket.ondata([](const tcpsocket::TCPSocketEvent& e) {
      // send() returns false once more than 64 KiB wait to be written: stop reading until
      // `drain`. suspendUntilDrain() brakes once per episode and resumes by itself, so it stays
      // right for a handler that sends several replies per `data` (suspend() is counted).
      if (!e.target.send(std::get<tcpsocket::ArrayBuffer>(e.data))) e.target.suspendUntilDrain();
    });
    socket.onclose([](const tcpsocket::TCPSocketEvent& e) {
      std::printf("%s:%u left\n", e.target.host().c_str(), e.target.port());
    });
    std::printf("%s:%u joined\n", socket.host().c_str(), socket.port());
  });

  std::printf("echo server on 127.0.0.1:%u\n", server.localPort());
  std::fflush(stdout);
  loop.run();  // the socket handles above were dropped: open sockets keep themselves alive
}
