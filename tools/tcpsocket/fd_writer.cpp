#include "fd_writer.hpp"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <system_error>

namespace tcpsocket::cli {

struct FdWriter::State : std::enable_shared_from_this<State> {
  EventLoop& loop;
  int fd;
  Handlers handlers;
  std::string pending;
  std::size_t offset = 0;  // written part of pending
  EventLoop::Watch watch;
  bool watched = false;
  bool regularFile = false;  // the kernel cannot watch it: written at once (a file does not stall)
  bool nonBlocking = false;
  bool progressPosted = false;
  bool owedLow = false;
  int error = 0;
  bool finishing = false;
  std::function<void(int)> finished;

  State(EventLoop& l, int f, Handlers h) : loop(l), fd(f), handlers(std::move(h)) {
    const int flags = ::fcntl(fd, F_GETFL);
    nonBlocking = flags >= 0 && (flags & O_NONBLOCK) != 0;
  }

  std::size_t backlog() const noexcept { return pending.size() - offset; }

  // A descriptor in blocking mode (a shared stdout we must not change) is written only while it
  // says it has room, and at most PIPE_BUF at a time: that much always fits a pipe with room, so
  // no write() blocks the loop. A non-blocking one takes as much as it can.
  bool writeSome() {
    while (backlog() > 0) {
      if (!nonBlocking && !regularFile) {
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, 0) <= 0 || (p.revents & (POLLOUT | POLLERR | POLLHUP)) == 0) return true;
      }
      const std::size_t size =
          nonBlocking || regularFile ? backlog() : std::min<std::size_t>(backlog(), PIPE_BUF);
      const ssize_t n = ::write(fd, pending.data() + offset, size);
      if (n > 0) {
        offset += static_cast<std::size_t>(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return true;
      } else if (n < 0 && errno != EINTR) {
        error = errno;
        return false;
      }
    }
    pending.clear();
    offset = 0;
    return true;
  }

  // Called with the backlog changed; calls back only from the loop (watch or posted), never from
  // inside write(), so that a caller's handler never runs inside its own call.
  void progress() {
    const auto self = shared_from_this();
    if (!writeSome()) {
      stopWatching();
      pending.clear();
      offset = 0;
      if (handlers.error) handlers.error(error);
      finishIfDone();
      return;
    }
    if (backlog() == 0) stopWatching();
    if (owedLow && backlog() <= kLowWater) {
      owedLow = false;
      if (handlers.low) handlers.low();
    }
    finishIfDone();
  }

  void finishIfDone() {
    if (!finishing || (backlog() > 0 && error == 0) || !finished) return;
    auto done = std::move(finished);
    finished = nullptr;
    done(error);
  }

  void startWatching() {
    if (regularFile) {
      postProgress();
      return;
    }
    if (watched) return;
    try {
      watch =
          loop.watchDescriptor(fd, {.writable = true}, [weak = weak_from_this()](EventLoop::Ready) {
            if (auto self = weak.lock()) self->progress();
          });
      watched = true;
    } catch (const std::system_error& e) {
      if (e.code() != std::errc::operation_not_permitted) throw;
      regularFile = true;
      postProgress();
    }
  }

  void postProgress() {
    if (progressPosted) return;
    progressPosted = true;
    loop.post([weak = weak_from_this()] {
      if (auto self = weak.lock()) {
        self->progressPosted = false;
        self->progress();
      }
    });
  }

  void stopWatching() {
    if (!watched) return;
    watched = false;
    watch.cancel();
  }
};

FdWriter::FdWriter(EventLoop& loop, int fd, Handlers handlers)
    : state_(std::make_shared<State>(loop, fd, std::move(handlers))) {}

FdWriter::~FdWriter() { state_->stopWatching(); }

bool FdWriter::write(std::string_view bytes) {
  State& s = *state_;
  if (s.error != 0 || s.finishing) return true;  // dropped; the error has been reported
  s.pending.append(bytes);
  s.startWatching();
  if (s.backlog() <= kHighWater) return true;
  s.owedLow = true;
  return false;
}

void FdWriter::finish(std::function<void(int)> done) {
  State& s = *state_;
  s.finishing = true;
  s.finished = std::move(done);
  if (s.backlog() == 0 || s.error != 0) {
    s.loop.post([weak = std::weak_ptr<State>(state_)] {
      if (auto self = weak.lock()) self->finishIfDone();
    });
  }
}

}  // namespace tcpsocket::cli
