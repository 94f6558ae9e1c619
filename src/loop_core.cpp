#include "loop_core.hpp"

#include <asio/ip/tcp.hpp>
#include <iostream>

#include "tcpsocket/errors.hpp"

namespace tcpsocket::detail {

LoopMember::LoopMember(LoopCore& loop) noexcept : loop_(&loop) { loop.link(*this); }

LoopMember::~LoopMember() { detach(); }

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

namespace {

// getaddrinfo through Asio's resolver, which runs it off the loop thread. No AI_ADDRCONFIG: on a
// host whose only interface is loopback it would hide the IPv4 answers for "localhost".
Resolver systemResolver(asio::io_context& io) {
  return [&io](const std::string& host, std::uint16_t port, ResolveCallback done) {
    auto resolver = std::make_shared<asio::ip::tcp::resolver>(io);
    resolver->async_resolve(
        host, std::to_string(port), asio::ip::resolver_base::numeric_service,
        [resolver, done = std::move(done)](const std::error_code& ec,
                                           const asio::ip::tcp::resolver::results_type& results) {
          Endpoints endpoints;
          for (const auto& entry : results) endpoints.push_back(entry.endpoint());
          done(ec, std::move(endpoints));
        });
  };
}

}  // namespace

LoopCore::LoopCore()
    : readBuffer_(new std::uint8_t[kReadBufferSize]), resolver_(systemResolver(io_)) {}

// Each member leaves the list before abandon(), which may free it (and others with it).
LoopCore::~LoopCore() {
  while (LoopMember* m = takeFirstMember()) m->abandon();
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

void LoopCore::checkThread() const {
  const std::thread::id owner = runner_.load(std::memory_order_relaxed);
  if (owner != std::thread::id() && owner != std::this_thread::get_id()) {
    throw WrongThreadError("a socket was called from a thread other than the one running its loop");
  }
}

LoopCore::RunGuard::RunGuard(LoopCore& core) : core_(core) {
  std::thread::id expected{};
  if (!core_.runner_.compare_exchange_strong(expected, std::this_thread::get_id())) {
    throw WrongThreadError("the loop is already being run by another thread");
  }
}

LoopCore::RunGuard::~RunGuard() {
  core_.runner_.store(std::thread::id(), std::memory_order_relaxed);
}

void LoopCore::resolve(const std::string& host, std::uint16_t port, ResolveCallback done) {
  resolver_(host, port, std::move(done));
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
