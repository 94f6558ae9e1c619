// What lets a host's event loop (libuv under Node, GLib, Qt, a game loop) drive an EventLoop:
// one descriptor that is readable exactly when the loop has something to do.
#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <atomic>

namespace tcpsocket::detail {

/// An epoll set of two descriptors: the io_context's own epoll descriptor (readable when a socket
/// or a timer is ready) and an eventfd that wake() writes. The eventfd covers what Asio queues
/// without any descriptor becoming ready: handlers posted from other threads, and completions that
/// socket calls made between two runs queue (Asio wakes only a thread blocked inside run() for
/// those, and a hosted loop never blocks there).
class HostLink {
 public:
  /// Throws std::system_error if a descriptor cannot be made, std::logic_error if Asio was built
  /// without its epoll reactor (the io_uring backend).
  explicit HostLink(asio::io_context& io);
  ~HostLink();
  HostLink(const HostLink&) = delete;
  HostLink& operator=(const HostLink&) = delete;

  int descriptor() const noexcept { return epoll_; }
  /// Makes descriptor() readable until the next clear(). Thread-safe, and cheap when repeated.
  void wake() noexcept;
  /// Called by the run that is about to do the work a wake() announced.
  void clear() noexcept;

 private:
  int epoll_ = -1;
  int event_ = -1;
  std::atomic<bool> woken_{false};
  // A hosted io_context must never run out of work: run dry, Asio stops itself and leaves its
  // interrupter ready in the epoll set, which no later poll would consume (the host would spin).
  asio::executor_work_guard<asio::io_context::executor_type> keepRunning_;
};

}  // namespace tcpsocket::detail
