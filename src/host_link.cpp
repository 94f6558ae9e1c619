#include "host_link.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <stdexcept>
#include <system_error>

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
  return reactor.*reactorFdMember();
}
#else
int reactorDescriptor(asio::io_context&) {
  throw std::logic_error("driving a loop from a host loop needs Asio's epoll reactor");
}
#endif

}  // namespace

HostLink::HostLink(asio::io_context& io) : keepRunning_(io.get_executor()) {
  const int reactor = reactorDescriptor(io);
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_ < 0) throwErrno("epoll_create1");
  event_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_ < 0) {
    ::close(epoll_);
    throwErrno("eventfd");
  }
  for (int fd : {reactor, event_}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      const int err = errno;
      ::close(event_);
      ::close(epoll_);
      throw std::system_error(err, std::generic_category(), "epoll_ctl");
    }
  }
}

HostLink::~HostLink() {
  ::close(event_);
  ::close(epoll_);
}

void HostLink::wake() noexcept {
  if (woken_.exchange(true, std::memory_order_acq_rel)) return;
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(event_, &one, sizeof one);  // EAGAIN: already readable
}

// Always reads, even when woken_ was false: a wake() racing with the previous clear() may have
// written after that clear() read, and an eventfd left readable would make the host spin.
void HostLink::clear() noexcept {
  woken_.store(false, std::memory_order_release);
  std::uint64_t count = 0;
  [[maybe_unused]] auto n = ::read(event_, &count, sizeof count);
}

}  // namespace tcpsocket::detail
