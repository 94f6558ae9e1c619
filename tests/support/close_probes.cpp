#include "support/close_probes.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <variant>

namespace test {

void echoWithBackpressure(ts::TCPServerSocket& server) {
  server.onconnect([](const ts::TCPServerSocketEvent& e) {
    e.socket.ondata([](const ts::TCPSocketEvent& d) {
      if (!d.target.send(std::get<std::string_view>(d.data))) d.target.suspend();
    });
    e.socket.ondrain([](const ts::TCPSocketEvent& d) { d.target.resume(); });
  });
}

RawConn connectSmallWindow(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int rcvbuf = 2048;
  const int mss = 536;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  ::setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof mss);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error("connect failed");
  }
  ::fcntl(fd, F_SETFL, O_NONBLOCK);
  return RawConn(fd);
}

int socketsOnPort(std::uint16_t port, const std::string& state) {
  std::ifstream table("/proc/net/tcp");
  std::string line;
  std::getline(table, line);
  // The kernel fills the listing a chunk at a time, not as one snapshot: a socket whose state
  // changes between two chunks can be listed twice (seen: 11 rows for 4 LAST_ACK sockets), so
  // each connection counts once.
  std::set<std::string> peers;
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, st;
    fields >> slot >> local >> remote >> st;
    if (std::stoi(local.substr(local.find(':') + 1), nullptr, 16) == port && st == state) {
      peers.insert(remote);
    }
  }
  return static_cast<int>(peers.size());
}

int awaitReset(ts::EventLoop& loop, int fd) {
  int error = 0;
  runUntil(
      loop,
      [&] {
        socklen_t len = sizeof error;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);  // reading it clears it
        return error != 0;
      },
      10000ms);
  return error;
}

}  // namespace test
