#include "stdin_reader.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace tcpsocket::cli {
namespace {
constexpr std::size_t kChunkSize = 64 * 1024;
}

StdinReader::StdinReader(EventLoop& loop, int fd, Handlers handlers)
    : loop_(loop), fd_(fd), handlers_(std::move(handlers)), stopFd_(::eventfd(0, EFD_CLOEXEC)) {
  if (stopFd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  thread_ = std::thread([this] { run(); });
}

StdinReader::~StdinReader() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
  }
  wake_.notify_all();
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t ignored = ::write(stopFd_, &one, sizeof one);
  thread_.join();
  ::close(stopFd_);
}

void StdinReader::proceed() {
  {
    std::lock_guard lock(mutex_);
    mayRead_ = true;
  }
  wake_.notify_all();
}

bool StdinReader::waitForProceed() {
  std::unique_lock lock(mutex_);
  wake_.wait(lock, [this] { return mayRead_ || stopped_; });
  mayRead_ = false;
  return !stopped_;
}

bool StdinReader::waitReadable() {
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {stopFd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (fds[1].revents != 0) return false;
    return true;  // readable, hung up or in error: the read() tells which
  }
}

// Posted calls carry copies of the handlers, never `this`: they may run after the reader is gone.
void StdinReader::run() {
  std::string buffer(kChunkSize, '\0');
  while (waitForProceed()) {
    for (;;) {
      if (!waitReadable()) return;
      const ssize_t n = ::read(fd_, buffer.data(), buffer.size());
      if (n > 0) {
        loop_.post([chunk = buffer.substr(0, static_cast<std::size_t>(n)),
                    handler = handlers_.chunk]() mutable { handler(std::move(chunk)); });
        break;
      }
      if (n == 0) {
        loop_.post(handlers_.end);
        return;
      }
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      loop_.post([handler = handlers_.error, err = errno] { handler(err); });
      return;
    }
  }
}

}  // namespace tcpsocket::cli
