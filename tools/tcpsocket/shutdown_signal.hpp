// The signals of a server process, read on the loop from a signalfd that the loop watches
// (EventLoop::watchDescriptor): no watcher thread, and no asynchronous handler at all.
//
// - SIGINT, SIGTERM, SIGQUIT: a graceful stop. The first one calls `onStop` on the loop; later
//   ones change nothing, so a repeated SIGTERM never cuts the drain short.
// - SIGUSR2: `onHandover` (handover.hpp), if given; else ignored as the next.
// - SIGHUP, SIGUSR1: ignored (logged with --verbose). A closed terminal or a stray signal never
//   stops the server, and never disables the ones above.
//
// They stay blocked in every thread for the whole life of the process (main() blocks them before
// anything else, and threads inherit the mask): a signal is never delivered, only queued for the
// signalfd, so one that arrives early waits for the loop, and one that arrives while the process
// exits changes nothing.
#pragma once

#include <functional>
#include <tcpsocket/event_loop.hpp>

#include "messages.hpp"

namespace tcpsocket::cli {

class ShutdownSignal {
 public:
  /// The signals must be blocked already (blockServerSignals) in every thread.
  ShutdownSignal(EventLoop& loop, std::function<void()> onStop, VerboseLog log,
                 std::function<void()> onHandover = {});
  ~ShutdownSignal();
  ShutdownSignal(const ShutdownSignal&) = delete;
  ShutdownSignal& operator=(const ShutdownSignal&) = delete;

 private:
  void taken(int signal);

  std::function<void()> onStop_;
  VerboseLog log_;
  std::function<void()> onHandover_;
  int fd_;
  EventLoop::Watch watch_;
  bool stopping_ = false;
};

/// Blocks the signals ShutdownSignal takes in the calling thread (and the threads it starts
/// later). Call it first thing in a server process, and in the supervisor of --workers.
void blockServerSignals();
/// True for SIGINT, SIGTERM and SIGQUIT.
bool isStopSignal(int signal);

}  // namespace tcpsocket::cli
