#include "loop_core.hpp"

#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>
#include <iostream>
#include <optional>
#include <utility>

#include "tcpsocket/errors.hpp"

namespace tcpsocket::detail {

LoopMember::LoopMember(LoopCore& loop) noexcept : loop_(&loop) { loop.link(*this); }

LoopMember::~LoopMember() { detach(); }

void LoopMember::reportCurrentException() const noexcept {
  if (loop_ != nullptr) loop_->reportException(std::current_exception());
}

void LoopMember::detach() noexcept {
  if (loop_ != nullptr) loop_->unlink(*this);
  loop_ = nullptr;
}

void LoopCore::link(LoopMember& m) noexcept {
  std::lock_guard lock(membersMutex_);
  m.next_ = members_;
  if (members_ != nullptr) members_->prev_ = &m;
  members_ = &m;
}

void LoopCore::unlink(LoopMember& m) noexcept {
  std::lock_guard lock(membersMutex_);
  unlinkLocked(m);
}

void LoopCore::unlinkLocked(LoopMember& m) noexcept {
  if (m.prev_ != nullptr)
    m.prev_->next_ = m.next_;
  else
    members_ = m.next_;
  if (m.next_ != nullptr) m.next_->prev_ = m.prev_;
  m.prev_ = m.next_ = nullptr;
}

LoopCore::LoopCore()
    : readBuffer_(new std::uint8_t[kReadBufferSize]),
      resolverThread_(
          [this](std::function<void()> answer) { postFromAnyThread(std::move(answer)); }) {
  resolver_ = [this](const std::string& host, std::uint16_t port, ResolveCallback done) {
    resolverThread_.resolve(host, port, std::move(done));
  };
}

struct LoopCore::WorkHold {
  std::mutex mutex;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
};

std::shared_ptr<void> LoopCore::holdWork() {
  // Released on any thread, maybe while the loop is being destroyed on another: the guard is
  // dropped under the hold's own lock, by whichever of the two comes first.
  std::shared_ptr<WorkHold> hold(new WorkHold, [](WorkHold* h) {
    {
      std::lock_guard lock(h->mutex);
      h->guard.reset();
    }
    delete h;
  });
  hold->guard.emplace(io_.get_executor());
  std::lock_guard lock(holdsMutex_);
  std::erase_if(holds_, [](const std::weak_ptr<WorkHold>& w) { return w.expired(); });
  holds_.push_back(hold);
  return hold;
}

// Each member leaves the list before abandon(), which may free it (and others with it). Work
// holds still alive let go of the io_context now, while it exists.
LoopCore::~LoopCore() {
  // Handlers destroyed with io_ below may cancel registrations (touched()): no host to wake then.
  host_.store(nullptr, std::memory_order_release);
  while (LoopMember* m = takeFirstMember()) m->abandon();
  std::lock_guard lock(holdsMutex_);
  for (auto& weak : holds_) {
    if (auto hold = weak.lock()) {
      std::lock_guard holdLock(hold->mutex);
      hold->guard.reset();
    }
  }
}

LoopMember* LoopCore::takeFirstMember() noexcept {
  std::lock_guard lock(membersMutex_);
  LoopMember* m = members_;
  if (m != nullptr) {
    unlinkLocked(*m);
    m->loop_ = nullptr;
  }
  return m;
}

// Pinned first, closed after: a close fires events, whose listeners may open, close or drop
// other members, so the list is not walked while anything runs.
void LoopCore::closeAll() {
  checkThread();
  std::vector<std::pair<LoopMember*, std::shared_ptr<void>>> pinned;
  {
    std::lock_guard lock(membersMutex_);
    for (LoopMember* m = members_; m != nullptr; m = m->next_) {
      if (auto keep = m->pin()) pinned.emplace_back(m, std::move(keep));
    }
  }
  for (auto& [member, keep] : pinned) {
    if (member->loop_ != nullptr) member->closeByLoop();
  }
}

void LoopCore::checkThread() const {
  const std::thread::id owner = runner_.load(std::memory_order_relaxed);
  if (owner == std::thread::id()) {
    touched();
  } else if (owner != std::this_thread::get_id()) {
    throw WrongThreadError("a socket was called from a thread other than the one running its loop");
  }
}

void LoopCore::touched() const noexcept {
  if (runner_.load(std::memory_order_relaxed) != std::thread::id()) return;
  if (HostLink* host = host_.load(std::memory_order_acquire)) host->wake();
}

void LoopCore::postFromAnyThread(std::function<void()> fn) {
  asio::post(io_, std::move(fn));
  if (HostLink* host = host_.load(std::memory_order_acquire)) host->wake();
}

int LoopCore::hostDescriptor() {
  checkThread();
  if (!hostLink_) {
    hostLink_ = std::make_unique<HostLink>(io_);
    host_.store(hostLink_.get(), std::memory_order_release);
  }
  return hostLink_->descriptor();
}

// poll_one, not poll: a loop with a steady stream of ready sockets would otherwise never hand
// control back to its host. Work may be left when the budget runs out or stop() ended the run:
// the descriptor is then made readable again.
std::size_t LoopCore::runReady(std::size_t budget) {
  RunGuard guard(*this);
  if (io_.stopped()) io_.restart();
  std::size_t ran = 0;
  while (ran < budget && io_.poll_one() != 0) {
    if (!(hostLink_ && hostLink_->takeRanWakeUp())) ++ran;
  }
  if (hostLink_ && (ran == budget || io_.stopped())) hostLink_->wakeAgain();
  return ran;
}

LoopCore::RunGuard::RunGuard(LoopCore& core) : core_(core) {
  std::thread::id expected{};
  if (!core_.runner_.compare_exchange_strong(expected, std::this_thread::get_id())) {
    throw WrongThreadError(expected == std::this_thread::get_id()
                               ? "the loop is already running on this thread (a run started "
                                 "from one of its own handlers)"
                               : "the loop is already being run by another thread");
  }
}

LoopCore::RunGuard::~RunGuard() {
  core_.runner_.store(std::thread::id(), std::memory_order_relaxed);
}

// A lookup in flight is work: run() must not return before its answer (and the events it leads
// to) can arrive. The guard lives in the callback, which runs on the loop thread.
void LoopCore::resolve(const std::string& host, std::uint16_t port, ResolveCallback done) {
  auto work = std::make_shared<asio::executor_work_guard<asio::io_context::executor_type>>(
      io_.get_executor());
  resolver_(host, port,
            [done = std::move(done), work = std::move(work)](std::error_code ec, Endpoints found) {
              done(ec, std::move(found));
              work->reset();
            });
}

void LoopCore::reportException(std::exception_ptr error) noexcept {
  try {
    if (exceptionHandler_) {
      exceptionHandler_(error);
      return;
    }
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    std::cerr << "tcpsocket: uncaught exception in an event listener: " << e.what() << '\n';
  } catch (...) {
    std::cerr << "tcpsocket: uncaught non-standard exception in an event listener\n";
  }
}

}  // namespace tcpsocket::detail
