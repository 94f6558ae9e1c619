// Readiness of a loop's connected sockets: one epoll set of the loop's own, which the io_context
// sees as a single descriptor (Asio still runs timers, the acceptor, connects, posts and the
// resolver's answers).
//
// Why not an Asio socket per connection: Asio re-arms a wait with one epoll_ctl(EPOLL_CTL_MOD)
// every time (one per message in an echo server) and keeps per-descriptor state plus an
// allocated wait operation for every idle connection. Here each descriptor is registered once,
// edge-triggered for both directions, and an idle connection costs one 16-byte slot.
// docs/benchmarks.md has the before and after.
//
// Edge-triggered means a readiness change is reported once: a client waits only after the kernel
// refused it (EAGAIN, or a short read that emptied the receive queue), so that the change it
// waits for is still to come and raises a fresh edge. The one exception is the peer's FIN that
// came in the same edge as the last bytes: `hangup` says so, and the reader reads on to it.
//
// The set's own wait is outstanding work for the io_context only while some client waits, as an
// Asio socket's wait was: a loop whose sockets wait for nothing runs out of work and returns.
#pragma once

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <system_error>
#include <vector>

namespace tcpsocket::detail {

class ReadinessSet {
 public:
  /// Told of readiness changes of one registered descriptor, on the loop thread. The call may
  /// close any descriptor of the set, its own included.
  class Client {
   public:
    virtual void descriptorReady(bool readable, bool writable, bool hangup) noexcept = 0;

   protected:
    ~Client() = default;
  };

  /// Names a registration; stale once removed (events still queued for it are dropped).
  struct Token {
    std::uint32_t slot = 0;
    std::uint32_t generation = 0;  // 0: not registered
  };

  explicit ReadinessSet(asio::io_context& io);
  ~ReadinessSet();
  ReadinessSet(const ReadinessSet&) = delete;
  ReadinessSet& operator=(const ReadinessSet&) = delete;

  /// Registers `fd` for both directions until remove(). Fails only as epoll_ctl does (ENOMEM,
  /// ENOSPC at the kernel's max_user_watches).
  std::error_code add(int fd, Client& client, Token& token);
  /// Forgets a registration. Call it before closing the descriptor (closing takes it out of the
  /// kernel's set; this drops what was already fetched for it). A descriptor that stays open
  /// (someone else's) is named as `keptOpen`, and taken out of the kernel's set here.
  void remove(Token& token, int keptOpen = -1) noexcept;

  /// A client started or stopped waiting (each client counts once, however many directions).
  void waiterAdded();
  void waiterRemoved() noexcept;

 private:
  struct Slot {
    Client* client = nullptr;
    std::uint32_t generation = 1;
  };
  void waitForEvents();
  void dispatchEvents();
  void eventsOrCancelled(const std::error_code& ec);

  int epollFd_;
  asio::posix::stream_descriptor watch_;  // epollFd_, as the io_context sees it
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> freeSlots_;
  std::size_t waiters_ = 0;
  bool armed_ = false;        // the wait on epollFd_ is outstanding (or its cancel is)
  bool dispatching_ = false;  // waiters_ may pass through 0 while clients re-arm
};

}  // namespace tcpsocket::detail
