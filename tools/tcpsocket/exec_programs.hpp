// `listen --exec CMD`: for each connection, `/bin/sh -c CMD` with the connection as its stdin and
// stdout (ncat -e, inetd). The program's stdout and stdin are pipes relayed to the socket
// (relay.hpp), so backpressure holds both ways; its stderr is the server's. It learns who called
// from TCPSOCKET_REMOTE_ADDR, TCPSOCKET_REMOTE_PORT and TCPSOCKET_LOCAL_PORT.
//
// Each direction ends on its own (the server's connections allow half-open for this): the
// program ending its stdout half-closes the connection; the peer's FIN ends the program's stdin;
// a program that stops reading ends only that direction. A connection that closes stops reading
// the program's stdout, and a program still running 5 s later is sent SIGTERM. Each program has
// its own process group, which SIGTERM reaches as a whole (also at shutdown). Programs are reaped
// through a SIGCHLD watch.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <tcpsocket/tcpsocket.hpp>

#include "messages.hpp"
#include "relay.hpp"

namespace tcpsocket::cli {

class ExecPrograms {
 public:
  ExecPrograms(EventLoop& loop, std::string command, VerboseLog log);
  ~ExecPrograms();
  ExecPrograms(const ExecPrograms&) = delete;
  ExecPrograms& operator=(const ExecPrograms&) = delete;

  /// Starts the program for `socket`; if it cannot be started, says why and resets the socket.
  void start(TCPSocket socket);
  /// Programs still running, or connections still writing to them.
  bool busy() const noexcept { return !programs_.empty(); }
  /// SIGTERM to every program still running (the server's deadline has passed).
  void terminateAll() noexcept;

 private:
  struct Program;
  void connectionClosed(Program& program);
  void terminate(pid_t pid) noexcept;
  void reap();
  void forgetIfDone(pid_t pid);

  EventLoop& loop_;
  std::string command_;
  VerboseLog log_;
  EventLoop::Watch childWatch_;
  std::map<pid_t, std::unique_ptr<Program>> programs_;
};

}  // namespace tcpsocket::cli
