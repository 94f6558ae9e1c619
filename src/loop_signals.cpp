// EventLoop::watchSignals: an asio::signal_set per watch. Asio installs one process-wide handler
// that writes the signal's number into a pipe every loop's reactor watches, so the callback runs
// on the loop's thread with no helper thread; the handler goes (SIG_DFL) with the last set that
// holds the signal.
#include <asio/signal_set.hpp>
#include <csignal>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>

#include "registered.hpp"
#include "tcpsocket/event_loop.hpp"

namespace tcpsocket {
namespace detail {
namespace {

class SignalWatch final : public Registered {
 public:
  SignalWatch(LoopCore& core, std::function<void(int)> fn)
      : Registered(core), signals_(core.io()), fn_(std::move(fn)) {}

  void add(int signal) { signals_.add(signal); }

  static void arm(const std::shared_ptr<SignalWatch>& watch) {
    watch->signals_.async_wait([watch](const std::error_code& ec, int signal) {
      if (ec || watch->cancelled()) return;
      arm(watch);  // before fn: fn may cancel it
      watch->invoke([&] { watch->fn_(signal); });
    });
  }

 private:
  void stopWaiting() noexcept override {
    std::error_code ignored;
    signals_.clear(ignored);  // the default action is back once no other set holds the signal
    signals_.cancel(ignored);
  }

  asio::signal_set signals_;
  std::function<void(int)> fn_;
};

[[noreturn]] void cannotCatch(int signal) {
  throw std::invalid_argument("watchSignals: signal " + std::to_string(signal) +
                              " cannot be caught");
}

}  // namespace
}  // namespace detail

EventLoop::Watch EventLoop::watchSignals(std::initializer_list<int> signals,
                                         std::function<void(int signal)> fn) {
  core_->checkThread();
  if (signals.size() == 0) throw std::invalid_argument("watchSignals: no signal given");
  for (int signal : signals) {
    if (signal <= 0 || signal >= NSIG || signal == SIGKILL || signal == SIGSTOP) {
      detail::cannotCatch(signal);
    }
  }
  auto watch = std::make_shared<detail::SignalWatch>(*core_, std::move(fn));
  for (int signal : signals) {
    try {
      watch->add(signal);
    } catch (const std::system_error&) {  // EINVAL: one the C library keeps (32 and 33 in glibc)
      detail::cannotCatch(signal);
    }
  }
  detail::SignalWatch::arm(watch);
  return Watch(watch);
}

}  // namespace tcpsocket
