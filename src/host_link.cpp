#include "host_link.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#if defined(ASIO_HAS_EPOLL)
#include <asio/detail/epoll_reactor.hpp>
#endif

namespace tcpsocket::detail {

namespace {

[[noreturn]] void throwErrno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

#if defined(ASIO_HAS_EPOLL)
// Asio keeps its epoll descriptor private and offers no accessor. An explicit template
// instantiation may name a private member (the rule that lets a library instantiate templates
// over its own internals), which is the one standard-conforming way to read it; the descriptor is
// checked to be an epoll set before it is used.
using ReactorFd = int asio::detail::epoll_reactor::*;
ReactorFd reactorFdMember();
template <ReactorFd Member>
struct ExposeReactorFd {
  friend ReactorFd reactorFdMember() { return Member; }
};
template struct ExposeReactorFd<&asio::detail::epoll_reactor::epoll_fd_>;

int reactorDescriptor(asio::io_context& io) {
  auto& reactor = asio::use_service<asio::detail::epoll_reactor>(io);
  reactor.init_task();  // so that poll() runs the reactor even before the first socket exists
  const int fd = reactor.*reactorFdMember();
  char target[64] = {};
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  const auto n = ::readlink(link.c_str(), target, sizeof target - 1);
  if (n <= 0 || std::string_view(target, static_cast<std::size_t>(n)) != "anon_inode:[eventpoll]") {
    throw std::logic_error("Asio's reactor descriptor is not an epoll set");
  }
  return fd;
}
#else
int reactorDescriptor(asio::io_context&) {
  throw std::logic_error("driving a loop from a host loop needs Asio's epoll reactor");
}
#endif

int makeEventFd() {
  const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) throwErrno("eventfd");
  return fd;
}

}  // namespace

HostLink::HostLink(asio::io_context& io)
    : epoll_(reactorDescriptor(io)), event_(io, makeEventFd()), keepRunning_(io.get_executor()) {
  awaitWake();
}

void HostLink::wake() noexcept {
  if (!woken_.exchange(true, std::memory_order_acq_rel)) wakeAgain();
}

void HostLink::wakeAgain() noexcept {
  woken_.store(true, std::memory_order_release);
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(event_.native_handle(), &one, sizeof one);
}

// Runs inside the host's runReady(). The read comes before the flag is cleared: a wake() in
// between finds the flag still set and writes nothing, but its work was queued before this
// handler finished, so the run in progress does it. Cleared first, the flag could be set again by
// a wake() whose write this read then swallowed: set with nothing readable, every later wake()
// would be skipped and the host never called again.
void HostLink::awaitWake() {
  event_.async_wait(asio::posix::stream_descriptor::wait_read, [this](const std::error_code& ec) {
    if (ec) return;  // the loop is going away
    std::uint64_t count = 0;
    [[maybe_unused]] auto n = ::read(event_.native_handle(), &count, sizeof count);
    woken_.store(false, std::memory_order_release);
    ranWakeUp_ = true;
    awaitWake();
  });
}

bool HostLink::takeRanWakeUp() noexcept { return std::exchange(ranWakeUp_, false); }

}  // namespace tcpsocket::detail
