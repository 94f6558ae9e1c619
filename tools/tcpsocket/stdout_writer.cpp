#include "stdout_writer.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

namespace tcpsocket::cli {

StdoutWriter::StdoutWriter(EventLoop& loop, int fd, Handlers handlers)
    : loop_(loop), fd_(fd), handlers_(std::move(handlers)), thread_([this] { run(); }) {}

StdoutWriter::~StdoutWriter() {
  finish();
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

bool StdoutWriter::write(std::span<const std::uint8_t> bytes) {
  std::lock_guard lock(mutex_);
  if (error_ != 0) return true;  // dropped; the error has been reported
  pending_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  backlog_ += bytes.size();
  wake_.notify_one();
  if (backlog_ <= kHighWater) return true;
  owedLow_ = true;
  return false;
}

int StdoutWriter::finish() {
  std::unique_lock lock(mutex_);
  flushed_.wait(lock, [this] { return backlog_ == 0 || error_ != 0; });
  return error_;
}

void StdoutWriter::run() {
  std::string batch;
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return !pending_.empty() || stopping_; });
    if (pending_.empty()) return;  // stopping with nothing left
    batch.clear();
    batch.swap(pending_);
    lock.unlock();
    std::size_t done = 0;
    int err = 0;
    while (done < batch.size()) {
      const ssize_t n = ::write(fd_, batch.data() + done, batch.size() - done);
      if (n >= 0) {
        done += static_cast<std::size_t>(n);
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        pollfd writable{fd_, POLLOUT, 0};  // stdout was handed to us non-blocking
        ::poll(&writable, 1, -1);
      } else if (errno != EINTR) {
        err = errno;
        break;
      }
    }
    lock.lock();
    backlog_ -= batch.size();
    if (err != 0) {
      error_ = err;
      pending_.clear();
      backlog_ = 0;
      loop_.post([handler = handlers_.error, err] { handler(err); });
    } else if (owedLow_ && backlog_ <= kLowWater) {
      owedLow_ = false;
      loop_.post(handlers_.low);
    }
    if (backlog_ == 0 || error_ != 0) flushed_.notify_all();
  }
}

}  // namespace tcpsocket::cli
