// EventLoop::setTimeout / setInterval: one asio timer per timer (see registered.hpp for who owns
// it), and the cancel() every registration shares.
#include <asio/steady_timer.hpp>
#include <memory>

#include "registered.hpp"
#include "tcpsocket/event_loop.hpp"

namespace tcpsocket {
namespace detail {
namespace {

class TimerState final : public Registered {
 public:
  TimerState(LoopCore& core, std::chrono::milliseconds period, std::function<void()> fn)
      : Registered(core), timer_(core.io()), period_(period), fn_(std::move(fn)) {}

  static std::shared_ptr<TimerState> start(LoopCore& core, std::chrono::milliseconds delay,
                                           std::chrono::milliseconds period,
                                           std::function<void()> fn) {
    core.checkThread();
    auto state = std::make_shared<TimerState>(core, period, std::move(fn));
    state->timer_.expires_after(delay);
    arm(state);
    return state;
  }

 private:
  static void arm(const std::shared_ptr<TimerState>& state) {
    state->timer_.async_wait([state](const std::error_code& ec) {
      if (ec || state->cancelled()) return;
      if (state->period_.count() > 0) {
        state->timer_.expires_at(state->timer_.expiry() + state->period_);
        arm(state);  // before fn: fn may cancel it
      }
      state->invoke(state->fn_);
    });
  }
  void stopWaiting() noexcept override { timer_.cancel(); }

  asio::steady_timer timer_;
  std::chrono::milliseconds period_;  // zero: one-shot
  std::function<void()> fn_;
};

}  // namespace
}  // namespace detail

void EventLoop::Registration::cancel() noexcept {
  if (auto state = state_.lock()) state->cancel();
  state_.reset();
}

EventLoop::Timer EventLoop::setTimeout(std::chrono::milliseconds delay, std::function<void()> fn) {
  return Timer(
      detail::TimerState::start(*core_, delay, std::chrono::milliseconds(0), std::move(fn)));
}

EventLoop::Timer EventLoop::setInterval(std::chrono::milliseconds period,
                                        std::function<void()> fn) {
  period = std::max(period, std::chrono::milliseconds(1));
  return Timer(detail::TimerState::start(*core_, period, period, std::move(fn)));
}

}  // namespace tcpsocket
