// Listening sockets that outlive a process: systemd's socket-activation convention
// (LISTEN_FDS/LISTEN_PID, descriptors from 3, as sd_listen_fds(3) reads them), both ways.
//
// - `listen --systemd` takes its listeners from systemd, or from the process it replaces.
// - SIGUSR2 hands this process's listeners to a new one: the same binary and arguments plus
//   --systemd (the binary now at the path this one started from: an upgrade), started with them
//   as descriptors 3.. and TCPSOCKET_READY_FD, a pipe on which it says READY once it listens. Only
//   then does this process drain and exit; connections that arrive meanwhile wait in the kernel's
//   queue of the shared socket, so none is refused. If the new process fails, this one says so and
//   goes on serving.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <tcpsocket/event_loop.hpp>
#include <vector>

#include "messages.hpp"

namespace tcpsocket::cli {

/// The descriptors passed to this process (LISTEN_PID is ours), in order; the variables are then
/// unset, so that programs we start do not take them too. Empty if none were passed.
std::vector<int> inheritedListeners();

/// Tells the process we replace (TCPSOCKET_READY_FD) that we are listening; nothing if none.
void notifyReady();

class Handover {
 public:
  /// `listeners`: the listening descriptors to pass, in order. `arguments`: the command line
  /// after the program's name. `tookOver` runs once the new process listens.
  Handover(EventLoop& loop, std::vector<int> listeners, std::vector<std::string> arguments,
           VerboseLog log, std::function<void()> tookOver);
  ~Handover();
  Handover(const Handover&) = delete;
  Handover& operator=(const Handover&) = delete;

  /// Starts the new process (SIGUSR2); ignored while one is starting or once one took over.
  void start();
  /// The server is stopping: a new process that has not taken over yet is stopped too.
  void cancel() noexcept;

 private:
  void answered();

  EventLoop& loop_;
  std::vector<int> listeners_;
  std::vector<std::string> arguments_;
  VerboseLog log_;
  std::function<void()> tookOver_;
  std::string program_;  // the binary's path when this process started
  pid_t child_ = -1;
  int readyFd_ = -1;
  EventLoop::Watch readyWatch_;
  bool done_ = false;
};

}  // namespace tcpsocket::cli
