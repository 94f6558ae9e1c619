// The bytes a socket has accepted from send() but not yet written to the kernel.
//
// Each send() that cannot go straight to the kernel is copied into a chunk (small sends are packed
// into the tail chunk, so a stream of tiny messages does not cost one allocation each), except a
// shared block (TCPSocket::sendShared), which is referenced, not copied: one message fanned out
// to many sockets costs its bytes once. Writes gather up to kMaxIov chunks into one sendmsg().
// An empty queue holds no memory.
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
  /// Queues `data` without copying it; `owner` keeps it alive until it has been written.
  void pushShared(const std::uint8_t* data, std::size_t size, std::shared_ptr<const void> owner);
  /// Fills `iov` with the first queued chunks, `limit` bytes at most; returns how many were
  /// filled (<= max).
  int gather(iovec* iov, int max, std::uint64_t limit = UINT64_MAX) const noexcept;
  /// Drops the first `size` bytes (they were written).
  void consume(std::size_t size) noexcept;
  void clear() noexcept;

 private:
  struct Chunk {
    std::unique_ptr<std::uint8_t[]> copy;  // push(): our own copy, packed into while it has room
    std::shared_ptr<const void> owner;     // pushShared(): keeps the caller's block alive
    const std::uint8_t* base;
    std::uint32_t begin;  // first unsent byte
    std::uint32_t end;    // one past the last stored byte
    std::uint32_t capacity;
  };
  static constexpr std::uint32_t kPackCapacity = 16 * 1024;
  static constexpr std::size_t kMaxChunk = 1u << 30;  // offsets fit in 32 bits

  struct Chunks {
    std::vector<Chunk> list;
    std::size_t head = 0;  // chunks before head are fully sent
  };
  Chunks& chunks();

  // Made by the first push and dropped when the queue empties: an idle socket's queue is 16 B.
  std::unique_ptr<Chunks> chunks_;
  std::uint64_t bytes_ = 0;
};

}  // namespace tcpsocket::detail
