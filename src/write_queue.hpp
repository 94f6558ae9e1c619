// The bytes a socket has accepted from send() but not yet written to the kernel.
//
// Each send() that cannot go straight to the kernel is copied into a chunk (small sends are packed
// into the tail chunk, so a stream of tiny messages does not cost one allocation each). Writes
// gather up to kMaxIov chunks into one sendmsg(). An empty queue holds no memory.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace tcpsocket::detail {

class WriteQueue {
 public:
  static constexpr int kMaxIov = 64;

  bool empty() const noexcept { return bytes_ == 0; }
  std::uint64_t bytes() const noexcept { return bytes_; }

  void push(const std::uint8_t* data, std::size_t size);
  /// Fills `iov` with the first queued chunks; returns how many were filled (<= max).
  int gather(iovec* iov, int max) const noexcept;
  /// Drops the first `size` bytes (they were written).
  void consume(std::size_t size) noexcept;
  void clear() noexcept;

 private:
  struct Chunk {
    std::unique_ptr<std::uint8_t[]> data;
    std::uint32_t begin;  // first unsent byte
    std::uint32_t end;    // one past the last stored byte
    std::uint32_t capacity;
  };
  static constexpr std::uint32_t kPackCapacity = 16 * 1024;

  std::vector<Chunk> chunks_;
  std::size_t head_ = 0;  // chunks before head_ are fully sent
  std::uint64_t bytes_ = 0;
};

}  // namespace tcpsocket::detail
