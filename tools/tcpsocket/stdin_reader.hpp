// Reads a file descriptor (stdin) on its own thread and hands each chunk to an EventLoop. It reads
// one chunk at a time: the next read waits for proceed(), so input is never read faster than the
// consumer (the socket) takes it, and nothing is read before the reader exists.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <tcpsocket/event_loop.hpp>
#include <thread>

namespace tcpsocket::cli {

class StdinReader {
 public:
  struct Handlers {
    std::function<void(std::string)> chunk;  ///< bytes read; call proceed() for the next read
    std::function<void()> end;               ///< end of input
    std::function<void(int err)> error;      ///< a read failed (errno); no more reads
  };

  /// Starts reading `fd` at once. Every handler runs on `loop`'s thread, through loop.post(), and
  /// may run after the reader is destroyed (its captures must outlive the loop's last run).
  StdinReader(EventLoop& loop, int fd, Handlers handlers);
  /// Stops the thread, even while it waits for input.
  ~StdinReader();
  StdinReader(const StdinReader&) = delete;
  StdinReader& operator=(const StdinReader&) = delete;

  /// Allows the next read. Thread-safe.
  void proceed();

 private:
  void run();
  bool waitReadable();    // false once stopped (or the descriptor is unusable)
  bool waitForProceed();  // false once stopped

  EventLoop& loop_;
  const int fd_;
  Handlers handlers_;
  int stopFd_;  // an eventfd that wakes the thread out of poll()
  std::mutex mutex_;
  std::condition_variable wake_;
  bool mayRead_ = true;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace tcpsocket::cli
