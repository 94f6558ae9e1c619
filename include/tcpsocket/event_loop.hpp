// EventLoop: the thread of control every socket belongs to.
#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <initializer_list>
#include <memory>

#include "tcpsocket/export.hpp"

namespace tcpsocket {

class AppPolicy;

namespace detail {
class LoopCore;
struct Access;
class Registered;
}  // namespace detail

/// One event loop (one asio::io_context underneath). Every TCPSocket and TCPServerSocket belongs to
/// exactly one loop, and all of its listeners run on the thread that is running that loop.
///
/// @par Thread safety
/// `post()` and `stop()` may be called from any thread. Everything else — this loop's `run*`
/// and every method of its sockets — must be called from the thread running the loop (or from any
/// single thread while the loop is not running). A socket call made from another thread while the
/// loop runs throws WrongThreadError; the getters (readyState, bufferedAmount, host...) do not
/// check, and reading one from another thread while the loop runs is a data race: post() a
/// function that reads it instead.
///
/// @par Lifetime
/// Destroying the loop closes whatever sockets and servers are still open on it, without firing
/// events (there is no thread left to fire them on). Sockets outlive their handles while open: an
/// open socket whose handles were all dropped keeps working and is released after its `close`.
///
/// @par Example
/// @code
///   tcpsocket::EventLoop loop;
///   auto server = tcpsocket::TCPServerSocket::listen(loop, 0);
///   server.onconnect([](const tcpsocket::TCPServerSocketEvent& e) { e.socket.close(); });
///   loop.run();
/// @endcode
class TCPSOCKET_API EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  /// Runs until stop() is called or nothing is left that could fire an event. Returns the number
  /// of handlers run.
  std::size_t run();

  /// Runs for at most `duration`, then returns (earlier if stopped or out of work).
  std::size_t runFor(std::chrono::milliseconds duration);

  /// Runs until `done()` returns true (checked after each handler), `duration` has passed, or the
  /// loop is out of work. Returns `done()`.
  bool runUntil(const std::function<bool()>& done, std::chrono::milliseconds duration);

  /// Makes the current run()/runFor() return as soon as the handler in progress finishes.
  /// Thread-safe. A later run() starts afresh.
  void stop();

  /// Queues `fn` to run on the loop's thread. Thread-safe; this is how other threads talk to
  /// sockets.
  void post(std::function<void()> fn);

  /// Closes every socket and server still open on this loop, as each one's own close() would:
  /// sockets flush what they have queued, then FIN (a connecting one just ends), each firing
  /// `close`; servers stop listening. How to reach what no handle refers to any more, and a way
  /// to let run() return. Timers and watches are left alone (cancel those). Loop thread only.
  void closeAll();

  /// What a timer, a signal watch or a descriptor watch returns: copies refer to the same
  /// registration. Dropping every copy does not end it (as a JavaScript timer): only cancel()
  /// does. While registered it keeps run() going (a one-shot timer until it has run).
  class Registration {
   public:
    Registration() noexcept = default;  ///< refers to nothing
    /// Its callback will not run again, not even if it was already due. Idempotent; a no-op once
    /// a one-shot timer has run, or once the loop is gone. Call it on the loop's thread.
    void cancel() noexcept;

   private:
    friend class EventLoop;
    explicit Registration(std::weak_ptr<detail::Registered> state) noexcept
        : state_(std::move(state)) {}
    std::weak_ptr<detail::Registered> state_;
  };
  using Timer = Registration;
  using Watch = Registration;

  /// @name Timers, signals and descriptors
  /// Every callback runs on the loop's thread; an exception from one goes to the exception
  /// handler (setExceptionHandler) and the registration goes on. Loop thread only.
  /// @{

  /// Runs `fn` once after `delay`.
  Timer setTimeout(std::chrono::milliseconds delay, std::function<void()> fn);
  /// Runs `fn` every `period` (at least 1 ms) until cancelled; each run is scheduled `period` after
  /// the previous one was due, so a late run does not shift the ones after it.
  Timer setInterval(std::chrono::milliseconds period, std::function<void()> fn);

  /// Runs `fn(signal)` each time one of `signals` (SIGINT, SIGTERM, SIGHUP, SIGUSR1...) is
  /// delivered to the process, until cancelled; no helper thread, no sigwait(). While any loop
  /// watches a signal, its default action (for SIGTERM: terminating) is replaced; when the last
  /// watch of it is cancelled, the default action is back. A signal delivered twice before the
  /// loop runs the callback may be reported once. Throws std::invalid_argument for a signal that
  /// cannot be caught (SIGKILL, SIGSTOP) or does not exist.
  /// @code
  ///   EventLoop::Watch stop;
  ///   stop = loop.watchSignals({SIGINT, SIGTERM}, [&](int) {
  ///     server.drain(std::chrono::seconds(5), [&] { stop.cancel(); });
  ///   });
  /// @endcode
  Watch watchSignals(std::initializer_list<int> signals, std::function<void(int signal)> fn);

  /// What a descriptor watch waits for, and what fired.
  struct Ready {
    bool readable = false;  ///< data to read, end of file, or (a listening socket) a connection
    bool writable = false;  ///< room to write, or the reader is gone (the write will say EPIPE)
  };
  /// Calls `fn(ready)` whenever `fd` is ready for what `want` asks, until cancelled: a pipe,
  /// a terminal, an eventfd, another library's socket. Level-triggered: called again, on a later
  /// turn of the loop, for as long as the descriptor stays ready, so `fn` need not drain it. The
  /// descriptor stays the caller's: never closed, never made non-blocking by the loop; keep it
  /// open until cancel() (closed while watched, its number may be reused by another descriptor,
  /// which the watch would then report). At end of file or on a pipe whose writer is gone it
  /// stays readable: cancel the watch then, or it is called on every turn of the loop. Throws
  /// std::system_error where the kernel cannot watch it (EPERM for a regular file, EBADF,
  /// EEXIST if it is watched already), std::invalid_argument if `want` asks for nothing.
  Watch watchDescriptor(int fd, Ready want, std::function<void(Ready ready)> fn);
  /// @}

  /// While a KeepAlive lives, run() does not return for lack of work: for a loop that waits on
  /// other threads' post() (a stdin reader, a worker pool) while none of its sockets is armed —
  /// for instance every socket suspended. stop() still returns at once. Movable; may be released
  /// on any thread, also after the loop is gone (it then does nothing).
  class KeepAlive {
   public:
    KeepAlive() noexcept = default;  ///< holds nothing
    void reset() noexcept { token_.reset(); }

   private:
    friend class EventLoop;
    explicit KeepAlive(std::shared_ptr<void> token) noexcept : token_(std::move(token)) {}
    std::shared_ptr<void> token_;
  };
  [[nodiscard]] KeepAlive keepAlive();

  /// @name Driving the loop from another event loop
  /// For embedding in a program that already has a loop (libuv under Node.js, GLib, Qt, a game
  /// loop): instead of calling run(), watch hostDescriptor() for readability with the host's loop
  /// and call runReady() each time it is readable. Everything then runs on the host's thread, with
  /// no thread of the library's own in between (name lookups excepted: getaddrinfo runs on a
  /// thread of the loop's, and its answer wakes the descriptor like any other work).
  /// @{

  /// A descriptor that is readable whenever this loop has something to do: a socket or a timer is
  /// ready, a post() arrived from another thread, or a call made on one of its sockets outside a
  /// run queued work. Level-triggered: it stays readable until runReady() has done that work. The
  /// descriptor belongs to the loop (do not close it) and lives as long as the loop.
  ///
  /// The first call puts the loop in host mode for good: it no longer runs out of work by itself
  /// (run() would wait until stop()); the host decides when it stops watching, typically when
  /// the last socket it created has fired `close`. Loop thread only. Throws std::system_error if
  /// the descriptor cannot be made, std::logic_error with Asio's io_uring backend.
  int hostDescriptor();

  /// Runs what is ready now without waiting, as the thread running this loop, for at most
  /// `budget` handlers (at least 1), so that a busy loop cannot starve its host; if work is left
  /// (the budget ran out, or a handler called stop()) the descriptor stays readable. Returns the
  /// number of handlers run. Events fire from inside this call. Throws WrongThreadError if the
  /// loop is already running (on another thread, or this one: no runReady() from a handler).
  std::size_t runReady(std::size_t budget = 1024);
  /// @}

  /// Called with any exception that escapes a listener or a posted function. The default prints
  /// it to stderr and carries on: one faulty listener must not take down the other connections.
  void setExceptionHandler(std::function<void(std::exception_ptr)> handler);

  /// The app policy every open() and listen() on this loop is checked against, unless its options
  /// name another (see app_policy.hpp). Null (the default): native code, full trust.
  void setPolicy(std::shared_ptr<const AppPolicy> policy);
  const std::shared_ptr<const AppPolicy>& policy() const noexcept;

 private:
  friend struct detail::Access;
  std::unique_ptr<detail::LoopCore> core_;
};

}  // namespace tcpsocket
