#include "readiness.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>

namespace tcpsocket::detail {
namespace {

// Per wakeup; what is left is fetched on the next (the set stays readable).
constexpr int kMaxEvents = 128;

int createEpoll() {
  const int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::system_category(), "epoll_create1");
  return fd;
}

}  // namespace

ReadinessSet::ReadinessSet(asio::io_context& io) : epollFd_(createEpoll()), watch_(io, epollFd_) {}

ReadinessSet::~ReadinessSet() = default;  // watch_ closes the set

std::error_code ReadinessSet::add(int fd, Client& client, Token& token) {
  std::uint32_t slot;
  if (!freeSlots_.empty()) {
    slot = freeSlots_.back();
    freeSlots_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& s = slots_[slot];
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = (std::uint64_t{s.generation} << 32) | slot;
  if (::epoll_ctl(epollFd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    const int err = errno;
    freeSlots_.push_back(slot);
    return {err, std::system_category()};
  }
  s.client = &client;
  token = {slot, s.generation};
  return {};
}

void ReadinessSet::remove(Token& token, int keptOpen) noexcept {
  if (token.generation == 0) return;
  if (keptOpen >= 0) ::epoll_ctl(epollFd_, EPOLL_CTL_DEL, keptOpen, nullptr);
  Slot& s = slots_[token.slot];
  s.client = nullptr;
  if (++s.generation == 0) s.generation = 1;  // 0 means "not registered"
  try {
    freeSlots_.push_back(token.slot);
  } catch (...) {  // out of memory: the slot is not reused
  }
  token = {};
}

// One wait at most is outstanding. A dispatch decides at its end whether to wait again, so a
// client that starts waiting during one does not arm a second wait.
void ReadinessSet::waiterAdded() {
  if (waiters_++ == 0 && !armed_ && !dispatching_) waitForEvents();
}

void ReadinessSet::waiterRemoved() noexcept {
  // The last waiter gone: no more work for the io_context. Asio's cancel makes no system call.
  if (--waiters_ == 0 && armed_ && !dispatching_) {
    std::error_code ignored;
    watch_.cancel(ignored);
  }
}

void ReadinessSet::waitForEvents() {
  armed_ = true;
  watch_.async_wait(asio::posix::stream_descriptor::wait_read,
                    [this](const std::error_code& ec) { eventsOrCancelled(ec); });
}

// The handler is not run once the set is gone: its destruction closes the descriptor, and the
// io_context destroys, without running them, the handlers it still holds when it goes.
void ReadinessSet::eventsOrCancelled(const std::error_code& ec) {
  armed_ = false;
  if (!ec) {
    dispatching_ = true;
    dispatchEvents();  // clients catch what their parts throw
    dispatching_ = false;
  }
  if (waiters_ > 0 && !armed_) waitForEvents();
}

void ReadinessSet::dispatchEvents() {
  epoll_event events[kMaxEvents];
  const int n = ::epoll_wait(epollFd_, events, kMaxEvents, 0);
  for (int i = 0; i < n; ++i) {
    const auto slot = static_cast<std::uint32_t>(events[i].data.u64);
    const auto generation = static_cast<std::uint32_t>(events[i].data.u64 >> 32);
    // An earlier client of this batch may have closed this one (and its slot may be reused).
    if (slot >= slots_.size() || slots_[slot].generation != generation) continue;
    Client* client = slots_[slot].client;
    if (client == nullptr) continue;
    const std::uint32_t e = events[i].events;
    client->descriptorReady((e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0,
                            (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0,
                            (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0);
  }
}

}  // namespace tcpsocket::detail
