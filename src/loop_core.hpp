// The state an EventLoop shares with its sockets: the io_context, the thread check, the read
// buffer every socket reads into, the DNS resolver seam, the link to a host loop, and the list of
// live sockets that the loop closes when it is destroyed.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "host_link.hpp"
#include "readiness.hpp"
#include "resolver_thread.hpp"

namespace tcpsocket {
class AppPolicy;
}

namespace tcpsocket::detail {

class LoopCore;

/// Something open on a loop (a socket or a server). The loop keeps an intrusive list of them so
/// that destroying the loop can close them all; membership costs two pointers and no allocation.
class LoopMember {
 public:
  LoopMember(const LoopMember&) = delete;
  LoopMember& operator=(const LoopMember&) = delete;

  /// Closes the descriptor at once and drops every listener and self-reference, firing nothing.
  /// Called when the loop is destroyed; afterwards the object is an inert "closed" shell.
  virtual void abandon() noexcept = 0;
  /// EventLoop::closeAll: closes it as its own close() would, events and all. Members that are not
  /// sockets or servers (descriptor watches) keep the default: nothing.
  virtual void closeByLoop() {}
  /// A strong reference that keeps it alive through closeAll's walk; null if it is already going.
  virtual std::shared_ptr<void> pin() noexcept { return nullptr; }

 protected:
  explicit LoopMember(LoopCore& loop) noexcept;
  virtual ~LoopMember();
  /// The loop, or nullptr once abandoned.
  LoopCore* loop() const noexcept { return loop_; }
  /// Leaves the loop's list (idempotent); loop() is nullptr afterwards.
  void detach() noexcept;
  /// Hands the exception being handled (one that escaped a listener) to the loop's handler.
  void reportCurrentException() const noexcept;

 private:
  friend class LoopCore;
  LoopCore* loop_;
  LoopMember* prev_ = nullptr;
  LoopMember* next_ = nullptr;
};

using Endpoints = std::vector<asio::ip::tcp::endpoint>;
using ResolveCallback = std::function<void(std::error_code, Endpoints)>;
/// Resolves `host` (never an IP literal: those skip the resolver) and calls back on the loop
/// thread.
using Resolver = std::function<void(const std::string& host, std::uint16_t port, ResolveCallback)>;

class LoopCore {
 public:
  // One per loop, shared by its sockets: an idle socket holds no read buffer. 256 KiB, not 64:
  // a bulk sender is drained in a quarter of the calls (docs/benchmarks.md, bulk CPU per GB).
  static constexpr std::size_t kReadBufferSize = 256 * 1024;

  LoopCore();
  ~LoopCore();

  asio::io_context& io() noexcept { return io_; }
  /// Where the loop's connected sockets learn of readiness (readiness.hpp).
  ReadinessSet& readiness() noexcept { return readiness_; }

  /// Throws WrongThreadError if another thread is running this loop. Every socket call starts
  /// here, which is also how a hosted loop learns that a call made between two runs queued work.
  void checkThread() const;
  /// For calls that queue work but cannot throw (Timer::cancel): wakes a hosted loop if the call
  /// came from outside a run.
  void touched() const noexcept;

  /// EventLoop::keepAlive: a token that keeps the io_context from running out of work while it
  /// lives. Released after the loop is gone, it touches nothing (the loop let go of it first).
  std::shared_ptr<void> holdWork();

  /// EventLoop::closeAll.
  void closeAll();

  /// Queues `fn` from any thread and wakes a hosted loop.
  void postFromAnyThread(std::function<void()> fn);

  /// EventLoop::hostDescriptor / runReady.
  int hostDescriptor();
  std::size_t runReady(std::size_t budget);
  /// Marks the calling thread as the one running the loop for the lifetime of the guard.
  class RunGuard {
   public:
    explicit RunGuard(LoopCore& core);
    ~RunGuard();
    RunGuard(const RunGuard&) = delete;
    RunGuard& operator=(const RunGuard&) = delete;

   private:
    LoopCore& core_;
  };

  /// The buffer every socket of this loop reads into; its contents live until the next read.
  std::uint8_t* readBuffer() noexcept { return readBuffer_.get(); }

  void resolve(const std::string& host, std::uint16_t port, ResolveCallback done);
  void setResolver(Resolver resolver) { resolver_ = std::move(resolver); }

  void setPolicy(std::shared_ptr<const AppPolicy> policy) { policy_ = std::move(policy); }
  const std::shared_ptr<const AppPolicy>& policy() const noexcept { return policy_; }

  void reportException(std::exception_ptr error) noexcept;
  void setExceptionHandler(std::function<void(std::exception_ptr)> handler) {
    exceptionHandler_ = std::move(handler);
  }

 private:
  friend class LoopMember;
  void link(LoopMember& member) noexcept;
  void unlink(LoopMember& member) noexcept;
  void unlinkLocked(LoopMember& member) noexcept;
  LoopMember* takeFirstMember() noexcept;

  // Before io_, so they outlive it: touched() reads them, and a handler destroyed with io_ may
  // cancel a registration, which calls touched() (~LoopCore has cleared host_ by then).
  std::atomic<std::thread::id> runner_{};
  std::atomic<HostLink*> host_{nullptr};  // hostLink_, readable from any thread once set
  asio::io_context io_{1};
  ReadinessSet readiness_{io_};  // after io_: gone before it
  std::unique_ptr<HostLink> hostLink_;
  struct WorkHold;
  std::mutex holdsMutex_;
  std::vector<std::weak_ptr<WorkHold>> holds_;
  std::unique_ptr<std::uint8_t[]> readBuffer_;
  Resolver resolver_;
  std::shared_ptr<const AppPolicy> policy_;
  std::function<void(std::exception_ptr)> exceptionHandler_;
  // Locked because the last handle of a closed socket may be dropped on any thread.
  std::mutex membersMutex_;
  LoopMember* members_ = nullptr;
  // Last: it is joined before anything its answers are posted to goes away.
  ResolverThread resolverThread_;
};

}  // namespace tcpsocket::detail
