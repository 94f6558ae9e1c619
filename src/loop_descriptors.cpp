// EventLoop::watchDescriptor: a caller's descriptor in the loop's own epoll set (readiness.hpp).
//
// Not an Asio descriptor object: Asio makes a descriptor non-blocking before its first wait (on
// a shared stdin that reaches the shell and every other process holding it), and takes a regular
// file it cannot watch as "always ready". The epoll set changes no flag and refuses such a file.
//
// Level-triggered on top of the set's edges: after each callback the descriptor is polled (poll()
// with no timeout) and, while it is still ready, the next callback is posted, so a callback that
// reads only part of what is there is called again, after the loop's other work. Once it is no
// longer ready, the next edge calls again.
#include <poll.h>

#include <asio/post.hpp>
#include <memory>
#include <stdexcept>
#include <system_error>

#include "readiness.hpp"
#include "registered.hpp"
#include "tcpsocket/event_loop.hpp"

namespace tcpsocket {
namespace detail {
namespace {

class DescriptorWatch final : public Registered,
                              public LoopMember,
                              private ReadinessSet::Client,
                              public std::enable_shared_from_this<DescriptorWatch> {
 public:
  using Ready = EventLoop::Ready;

  DescriptorWatch(LoopCore& core, int fd, Ready want, std::function<void(Ready)> fn)
      : Registered(core), LoopMember(core), fd_(fd), want_(want), fn_(std::move(fn)) {}

  /// Registers and stays alive until cancelled or abandoned. Throws std::system_error.
  void start() {
    if (std::error_code ec = core_.readiness().add(fd_, *this, token_)) {
      throw std::system_error(ec, "watchDescriptor");
    }
    core_.readiness().waiterAdded();  // a watch keeps run() going
    self_ = shared_from_this();
    postCheck();  // it may be ready already
  }

  void abandon() noexcept override {
    detach();
    auto last = std::move(self_);  // the set goes with the loop: nothing to take out of it
  }

 private:
  void descriptorReady(bool, bool, bool) noexcept override {
    // Held for the call: the callback may cancel the watch, which drops self_, the last owner.
    const auto keep = shared_from_this();
    if (!checkPosted_) check();
  }

  void postCheck() {
    checkPosted_ = true;
    asio::post(core_.io(), [self = shared_from_this()] {
      self->checkPosted_ = false;
      self->check();
    });
  }

  void check() noexcept {
    if (cancelled()) return;
    pollfd p{fd_,
             static_cast<short>((want_.readable ? POLLIN : 0) | (want_.writable ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, 0) < 0) {  // EINTR, ENOMEM: look again later, or a level might be lost
      retryLater();
      return;
    }
    if ((p.revents & POLLNVAL) != 0) {
      core_.reportException(std::make_exception_ptr(
          std::system_error(EBADF, std::generic_category(),
                            "watchDescriptor: the descriptor was closed while watched")));
      cancel();
      return;
    }
    const bool failed = (p.revents & (POLLERR | POLLHUP)) != 0;  // the next call will say why
    const Ready ready{want_.readable && ((p.revents & POLLIN) != 0 || failed),
                      want_.writable && ((p.revents & POLLOUT) != 0 || failed)};
    if (!ready.readable && !ready.writable) return;  // the next edge calls again
    invoke([&] { fn_(ready); });
    if (!cancelled()) retryLater();
  }

  void retryLater() noexcept {
    try {
      postCheck();
    } catch (...) {  // out of memory: the next edge calls again
    }
  }

  void stopWaiting() noexcept override {
    if (!self_) return;  // abandoned
    core_.readiness().remove(token_, fd_);
    core_.readiness().waiterRemoved();
    detach();
    auto last = std::move(self_);  // may free this
  }

  int fd_;
  Ready want_;
  std::function<void(Ready)> fn_;
  ReadinessSet::Token token_;
  bool checkPosted_ = false;
  std::shared_ptr<DescriptorWatch> self_;  // registered: alive without handles
};

}  // namespace
}  // namespace detail

EventLoop::Watch EventLoop::watchDescriptor(int fd, Ready want, std::function<void(Ready)> fn) {
  core_->checkThread();
  if (!want.readable && !want.writable) {
    throw std::invalid_argument("watchDescriptor: asks for neither readable nor writable");
  }
  auto watch = std::make_shared<detail::DescriptorWatch>(*core_, fd, want, std::move(fn));
  watch->start();
  return Watch(watch);
}

}  // namespace tcpsocket
