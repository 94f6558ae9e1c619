// The signals of a server process, taken by one watcher thread through public API only: they are
// blocked in every thread, so none of them can kill the process behind the server's back.
//
// - SIGINT, SIGTERM, SIGQUIT: a graceful stop. The first one calls `onStop` (posted to the loop);
//   later ones change nothing, so a repeated SIGTERM never cuts the drain short.
// - SIGHUP, SIGUSR1, SIGUSR2: ignored (logged with --verbose). A closed terminal or a stray
//   signal never stops the server, and never disables the ones above.
#pragma once

#include <atomic>
#include <functional>
#include <tcpsocket/event_loop.hpp>
#include <thread>

#include "messages.hpp"

namespace tcpsocket::cli {

class ShutdownSignal {
 public:
  /// Must be constructed before any other thread starts (threads inherit the signal mask), and
  /// before anything slow (loading certificates): a signal that arrives early is kept until the
  /// loop runs.
  ShutdownSignal(EventLoop& loop, std::function<void()> onStop, VerboseLog log);
  ~ShutdownSignal();
  ShutdownSignal(const ShutdownSignal&) = delete;
  ShutdownSignal& operator=(const ShutdownSignal&) = delete;

 private:
  void watch(EventLoop& loop, const std::function<void()>& onStop, VerboseLog log);

  std::atomic<bool> leaving_{false};
  std::thread watcher_;
};

/// The signals ShutdownSignal takes, for a process that handles them itself (the supervisor of
/// --workers).
void blockServerSignals();
/// True for SIGINT, SIGTERM and SIGQUIT.
bool isStopSignal(int signal);

}  // namespace tcpsocket::cli
