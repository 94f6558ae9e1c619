// What lets a host's event loop (libuv under Node, GLib, Qt, a game loop) drive an EventLoop:
// one descriptor that is readable exactly when the loop has something to do.
#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <atomic>

namespace tcpsocket::detail {

/// The descriptor is the io_context's own epoll set: readable when a socket or a timer is ready.
/// An eventfd in that set covers what Asio queues without any descriptor becoming ready —
/// handlers posted from other threads, and completions that socket calls made between two runs
/// queue (Asio wakes only a thread blocked inside run() for those, and a hosted loop never blocks
/// there): wake() writes it, and a wait on it, always pending, reads it back.
///
/// One epoll set and not a set of our own around Asio's: each level of nesting adds a wake-up
/// chain to every packet's arrival.
class HostLink {
 public:
  /// Throws std::system_error if the eventfd cannot be made, std::logic_error if Asio was built
  /// without its epoll reactor (the io_uring backend).
  explicit HostLink(asio::io_context& io);
  HostLink(const HostLink&) = delete;
  HostLink& operator=(const HostLink&) = delete;

  int descriptor() const noexcept { return epoll_; }
  /// Makes descriptor() readable until the loop has run. Thread-safe, and cheap when repeated.
  void wake() noexcept;
  /// The same, even if a wake-up is already under way: for work left queued by a run that spent
  /// its budget, after the reactor has already taken the pending wake-up's edge.
  void wakeAgain() noexcept;
  /// True once after the handler that consumes a wake-up has run: it is the loop's own
  /// bookkeeping and must not count toward a run's budget (with a budget of 1 it would use it up
  /// every time, and every run would end by waking the next).
  bool takeRanWakeUp() noexcept;

 private:
  void awaitWake();

  int epoll_;
  std::atomic<bool> woken_{false};
  bool ranWakeUp_ = false;  // loop thread only
  asio::posix::stream_descriptor event_;
  // A hosted io_context must never run out of work: run dry, Asio stops itself and leaves its
  // interrupter ready in the epoll set, which no later poll would consume (the host would spin).
  asio::executor_work_guard<asio::io_context::executor_type> keepRunning_;
};

}  // namespace tcpsocket::detail
