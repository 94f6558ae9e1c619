// A line-based chat server: each line a client writes goes to every other client.
//
//   build/default/examples/chat_server 7001      then, in two terminals:  nc 127.0.0.1 7001
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <tcpsocket/tcpsocket.hpp>

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 0);
  tcpsocket::EventLoop loop;

  struct Member {
    tcpsocket::TCPSocket socket;
    std::string pending;  // the part of a line not yet ended by '\n'
  };
  std::map<int, Member> members;
  int nextId = 0;

  auto broadcast = [&members](int from, const std::string& line) {
    for (auto& [id, member] : members) {
      // A reader more than 1 MiB behind is dropped rather than buffered forever.
      if (member.socket.bufferedAmount() > (1u << 20))
        member.socket.closeImmediately();
      else if (id != from)
        member.socket.send(line);
    }
  };

  tcpsocket::ServerSocketOptions options;
  options.localAddress = "127.0.0.1";  // binaryType "string": data arrives as std::string_view
  auto server = tcpsocket::TCPServerSocket::listen(loop, port, options);

  server.onconnect([&](const tcpsocket::TCPServerSocketEvent& event) {
    const int id = nextId++;
    members[id] = Member{event.socket, {}};
    broadcast(id, "* someone joined\n");

    event.socket.ondata([&, id](const tcpsocket::TCPSocketEvent& e) {
      std::string& pending = members[id].pending;
      pending += std::get<std::string_view>(e.data);
      for (auto end = pending.find('\n'); end != std::string::npos; end = pending.find('\n')) {
        broadcast(id, pending.substr(0, end + 1));
        pending.erase(0, end + 1);
      }
    });
    event.socket.onclose([&, id](const tcpsocket::TCPSocketEvent&) {
      members.erase(id);
      broadcast(id, "* someone left\n");
    });
  });

  std::printf("chat server on 127.0.0.1:%u\n", server.localPort());
  std::fflush(stdout);
  loop.run();
}
