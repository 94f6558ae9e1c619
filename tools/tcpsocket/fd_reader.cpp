#include "fd_reader.hpp"

#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

namespace tcpsocket::cli {
namespace {
constexpr std::size_t kChunkSize = 64 * 1024;
}

// Shared with the posted reads of a regular file, which may run after the reader is gone.
struct FdReader::State {
  State(EventLoop& l, int f, Handlers h) : loop(l), fd(f), handlers(std::move(h)) {}

  EventLoop& loop;
  int fd;
  Handlers handlers;
  std::string buffer = std::string(kChunkSize, '\0');
  EventLoop::Watch watch;
  bool regularFile = false;  // the kernel cannot watch it: always ready, read on posted turns
  bool paused = false;
  bool readPosted = false;
  bool done = false;  // ended, failed or destroyed

  // One read per turn of the loop: a watched descriptor reported readable does not block on one
  // read() even in blocking mode, and other work runs between two chunks.
  void readOnce() {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n > 0) {
      handlers.chunk(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
      return;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) return;
    const int err = n == 0 ? 0 : errno;
    finish();
    if (err == 0) {
      handlers.end();
    } else {
      handlers.error(err);
    }
  }

  void finish() {
    done = true;
    watch.cancel();
  }

  static void postRead(const std::shared_ptr<State>& self) {
    if (self->readPosted || self->paused || self->done) return;
    self->readPosted = true;
    self->loop.post([self] {
      self->readPosted = false;
      if (self->paused || self->done) return;
      self->readOnce();
      postRead(self);
    });
  }
};

FdReader::FdReader(EventLoop& loop, int fd, Handlers handlers)
    : state_(std::make_shared<State>(loop, fd, std::move(handlers))) {
  watch();
}

FdReader::~FdReader() { state_->finish(); }

void FdReader::watch() {
  State& s = *state_;
  if (s.regularFile) {
    State::postRead(state_);
    return;
  }
  try {
    // Owned by the watch, which a handler may cancel (or destroy the reader) mid-call.
    s.watch = s.loop.watchDescriptor(s.fd, {.readable = true}, [self = state_](EventLoop::Ready) {
      if (!self->paused && !self->done) self->readOnce();
    });
  } catch (const std::system_error& e) {
    if (e.code() != std::errc::operation_not_permitted) throw;
    s.regularFile = true;  // a file (`< file`) is always readable
    State::postRead(state_);
  }
}

// A paused watch is cancelled, not ignored: level-triggered, it would call on every turn.
void FdReader::pause() {
  if (state_->paused || state_->done) return;
  state_->paused = true;
  state_->watch.cancel();
}

void FdReader::resume() {
  if (!state_->paused || state_->done) return;
  state_->paused = false;
  watch();
}

}  // namespace tcpsocket::cli
