#include "tcpsocket/event_loop.hpp"

#include "loop_core.hpp"

namespace tcpsocket {

EventLoop::EventLoop() : core_(std::make_unique<detail::LoopCore>()) {}
EventLoop::~EventLoop() = default;

namespace {
// Runs one of io_context's run functions as the loop's owning thread.
template <class Fn>
auto runAsOwner(detail::LoopCore& core, Fn&& fn) {
  detail::LoopCore::RunGuard guard(core);
  if (core.io().stopped()) core.io().restart();
  return fn(core.io());
}
}  // namespace

std::size_t EventLoop::run() {
  return runAsOwner(*core_, [](asio::io_context& io) { return io.run(); });
}

std::size_t EventLoop::runFor(std::chrono::milliseconds duration) {
  return runAsOwner(*core_, [duration](asio::io_context& io) { return io.run_for(duration); });
}

bool EventLoop::runUntil(const std::function<bool()>& done, std::chrono::milliseconds duration) {
  const auto deadline = std::chrono::steady_clock::now() + duration;
  return runAsOwner(*core_, [&](asio::io_context& io) {
    while (!done()) {
      if (io.run_one_until(deadline) == 0) return done();
    }
    return true;
  });
}

void EventLoop::stop() { core_->io().stop(); }

void EventLoop::post(std::function<void()> fn) {
  core_->postFromAnyThread([core = core_.get(), fn = std::move(fn)]() {
    try {
      fn();
    } catch (...) {
      core->reportException(std::current_exception());
    }
  });
}

int EventLoop::hostDescriptor() { return core_->hostDescriptor(); }

std::size_t EventLoop::runReady(std::size_t budget) {
  return core_->runReady(budget == 0 ? 1 : budget);
}

EventLoop::KeepAlive EventLoop::keepAlive() { return KeepAlive(core_->holdWork()); }

void EventLoop::closeAll() { core_->closeAll(); }

void EventLoop::setPolicy(std::shared_ptr<const AppPolicy> policy) {
  core_->setPolicy(std::move(policy));
}

const std::shared_ptr<const AppPolicy>& EventLoop::policy() const noexcept {
  return core_->policy();
}

void EventLoop::setExceptionHandler(std::function<void(std::exception_ptr)> handler) {
  core_->setExceptionHandler(std::move(handler));
}

}  // namespace tcpsocket
