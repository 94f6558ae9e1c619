// The signals of a server process, taken by the loop itself (EventLoop::watchSignals): no
// watcher thread.
//
// - SIGINT, SIGTERM, SIGQUIT: a graceful stop. The first one calls `onStop` on the loop; later
//   ones change nothing, so a repeated SIGTERM never cuts the drain short.
// - SIGUSR2: `onHandover` (handover.hpp), if given; else ignored as the next.
// - SIGHUP, SIGUSR1: ignored (logged with --verbose). A closed terminal or a stray signal never
//   stops the server, and never disables the ones above.
//
// Only the thread that made it takes them, and only inside a Delivery: they are blocked in that
// thread from construction (before anything slow, and before other threads start: those inherit
// the mask), so a signal that arrives early waits for the loop, and one that arrives while the
// process exits changes nothing.
#pragma once

#include <functional>
#include <tcpsocket/event_loop.hpp>

#include "messages.hpp"

namespace tcpsocket::cli {

class ShutdownSignal {
 public:
  /// Must be constructed on the thread that will run `loop`, before any other thread starts.
  ShutdownSignal(EventLoop& loop, std::function<void()> onStop, VerboseLog log,
                 std::function<void()> onHandover = {});
  ~ShutdownSignal();
  ShutdownSignal(const ShutdownSignal&) = delete;
  ShutdownSignal& operator=(const ShutdownSignal&) = delete;

  /// While one lives, this thread takes the signals: make it around the loop's runs, once the
  /// other threads (which must not take them) have started.
  class Delivery {
   public:
    Delivery();
    ~Delivery();
    Delivery(const Delivery&) = delete;
    Delivery& operator=(const Delivery&) = delete;
  };

 private:
  EventLoop::Watch watch_;
  bool stopping_ = false;
};

/// Blocks the signals ShutdownSignal takes, and SIGCHLD, in the calling thread (the supervisor of
/// --workers, which takes them with sigwait()).
void blockServerSignals();
/// True for SIGINT, SIGTERM and SIGQUIT.
bool isStopSignal(int signal);

}  // namespace tcpsocket::cli
