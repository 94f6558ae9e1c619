// Plain TCP: reads and writes go straight to the kernel, through the syscall seam (sys_ops.hpp).
#pragma once

#include <memory>

#include "transport.hpp"

namespace tcpsocket::detail {

/// One recv() on a non-blocking descriptor, as an IoResult (also used to drain a lingering one).
IoResult receiveSome(int fd, std::uint8_t* buffer, std::size_t capacity) noexcept;

class PlainTransport final : public Transport {
 public:
  explicit PlainTransport(int fd) noexcept : fd_(fd) {}

  IoResult read(std::uint8_t* buffer, std::size_t capacity) override {
    return receiveSome(fd_, buffer, capacity);
  }
  IoResult write(const iovec* iov, int count) override;
  IoResult handshake() override { return {IoStep::Progress}; }
  void shutdownWrite() noexcept override;
  bool holdsReadAhead() const noexcept override { return false; }
  bool secure() const noexcept override { return false; }

 private:
  int fd_;
};

}  // namespace tcpsocket::detail
