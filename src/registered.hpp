// What an EventLoop::Registration refers to: a timer (loop_timer.cpp), a signal watch
// (loop_signals.cpp) or a descriptor watch (loop_descriptors.cpp). Each is owned by its own
// pending wait, so that it lives exactly as long as it can still fire and the loop's destruction
// frees it; a handle holds only a weak reference.
#pragma once

#include <exception>

#include "loop_core.hpp"

namespace tcpsocket::detail {

class Registered {
 public:
  explicit Registered(LoopCore& core) noexcept : core_(core) {}
  virtual ~Registered() = default;
  Registered(const Registered&) = delete;
  Registered& operator=(const Registered&) = delete;

  void cancel() noexcept {
    if (cancelled_) return;
    cancelled_ = true;
    LoopCore& core = core_;
    stopWaiting();  // may free this
    core.touched();
  }
  bool cancelled() const noexcept { return cancelled_; }

 protected:
  /// Ends the pending waits; their completions then find cancelled() set.
  virtual void stopWaiting() noexcept = 0;
  /// Runs a user callback: what it throws goes to the loop's exception handler.
  template <class Fn>
  void invoke(Fn&& fn) noexcept {
    try {
      fn();
    } catch (...) {
      core_.reportException(std::current_exception());
    }
  }

  LoopCore& core_;

 private:
  bool cancelled_ = false;
};

}  // namespace tcpsocket::detail
