// SIGINT/SIGTERM delivered to an EventLoop as a posted call, through public API only: the signals
// are blocked in every thread and one watcher thread sigwait()s for them.
#pragma once

#include <functional>
#include <tcpsocket/event_loop.hpp>
#include <thread>

namespace tcpsocket::cli {

class ShutdownSignal {
 public:
  /// Must be constructed before any other thread starts (threads inherit the signal mask).
  ShutdownSignal(EventLoop& loop, std::function<void()> onSignal);
  ~ShutdownSignal();
  ShutdownSignal(const ShutdownSignal&) = delete;
  ShutdownSignal& operator=(const ShutdownSignal&) = delete;

 private:
  std::thread watcher_;
};

}  // namespace tcpsocket::cli
