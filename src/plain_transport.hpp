// Plain TCP: reads and writes go straight to the kernel, through the syscall seam (sys_ops.hpp).
#pragma once

#include "transport.hpp"

namespace tcpsocket::detail {

/// Stateless: plainTransport() is the one instance every plain socket uses.
class PlainTransport final : public Transport {
 public:
  IoResult read(int fd, std::uint8_t* buffer, std::size_t capacity) override;
  IoResult write(int fd, const iovec* iov, int count) override;
  IoResult handshake() override { return {IoStep::Progress}; }
  void shutdownWrite(int fd) noexcept override;
  bool holdsReadAhead() const noexcept override { return false; }
  bool secure() const noexcept override { return false; }
};

Transport& plainTransport() noexcept;

}  // namespace tcpsocket::detail
