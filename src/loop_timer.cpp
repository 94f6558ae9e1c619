// EventLoop::setTimeout / setInterval: one asio timer per timer, owned by its own pending wait, so
// that a timer lives exactly as long as it can still fire and the loop's destruction frees it.
#include <asio/steady_timer.hpp>
#include <memory>

#include "loop_core.hpp"
#include "tcpsocket/event_loop.hpp"

namespace tcpsocket {
namespace detail {

struct TimerState {
  TimerState(LoopCore& core, std::chrono::milliseconds period, std::function<void()> fn)
      : core(core), timer(core.io()), period(period), fn(std::move(fn)) {}
  LoopCore& core;
  asio::steady_timer timer;
  std::chrono::milliseconds period;  // zero: one-shot
  std::function<void()> fn;
  bool cancelled = false;
};

namespace {
void arm(const std::shared_ptr<TimerState>& state) {
  state->timer.async_wait([state](const std::error_code& ec) {
    if (ec || state->cancelled) return;
    if (state->period.count() > 0) {
      state->timer.expires_at(state->timer.expiry() + state->period);
      arm(state);  // before fn: fn may cancel it
    }
    try {
      state->fn();
    } catch (...) {
      state->core.reportException(std::current_exception());
    }
  });
}

std::shared_ptr<TimerState> start(LoopCore& core, std::chrono::milliseconds delay,
                                  std::chrono::milliseconds period, std::function<void()> fn) {
  core.checkThread();
  auto state = std::make_shared<TimerState>(core, period, std::move(fn));
  state->timer.expires_after(delay);
  arm(state);
  return state;
}
}  // namespace
}  // namespace detail

void EventLoop::Timer::cancel() noexcept {
  if (auto state = state_.lock()) {
    state->cancelled = true;
    state->timer.cancel();
    state->core.touched();
  }
  state_.reset();
}

EventLoop::Timer EventLoop::setTimeout(std::chrono::milliseconds delay, std::function<void()> fn) {
  return Timer(detail::start(*core_, delay, std::chrono::milliseconds(0), std::move(fn)));
}

EventLoop::Timer EventLoop::setInterval(std::chrono::milliseconds period,
                                        std::function<void()> fn) {
  period = std::max(period, std::chrono::milliseconds(1));
  return Timer(detail::start(*core_, period, period, std::move(fn)));
}

}  // namespace tcpsocket
