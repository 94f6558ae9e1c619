// A program that uses tcpsocket the way a project depending on it would: only the installed
// headers, no C++ standard set by its own build (the library's target carries C++20). It echoes
// one message through a TCPServerSocket and catches one of the library's named exceptions, which
// must cross the shared library's boundary as its own type. Exits 0 only if all of that worked.
#include <iostream>
#include <string>
#include <tcpsocket/tcpsocket.hpp>

int main() {
  using namespace tcpsocket;
  EventLoop loop;
  ServerSocketOptions options;
  options.localAddress = "127.0.0.1";
  auto server = TCPServerSocket::listen(loop, 0, options);
  server.onconnect([](const TCPServerSocketEvent& e) {
    e.socket.ondata(
        [](const TCPSocketEvent& d) { d.target.send(std::get<std::string_view>(d.data)); });
  });

  std::string echoed;
  auto client = TCPSocket::open(loop, "127.0.0.1", server.localPort());
  client.onopen([&](const TCPSocketEvent&) { client.send("hello"); });
  client.ondata([&](const TCPSocketEvent& e) {
    echoed += std::get<std::string_view>(e.data);
    if (echoed.size() >= 5) {
      client.close();
      server.close();
    }
  });
  loop.runFor(std::chrono::seconds(10));

  bool caught = false;
  try {
    client.send("after close");  // readyState "closed": InvalidStateError
  } catch (const InvalidStateError& e) {
    caught = e.name() == "InvalidStateError";
  }
  std::cout << "tcpsocket " << kVersion << ": echoed '" << echoed << "', "
            << (caught ? "caught InvalidStateError" : "no InvalidStateError") << '\n';
  return echoed == "hello" && caught ? 0 : 1;
}
