#include "write_queue.hpp"

#include <algorithm>
#include <cstring>

namespace tcpsocket::detail {

void WriteQueue::push(const std::uint8_t* data, std::size_t size) {
  while (size > 0) {
    if (chunks_.size() > head_) {
      Chunk& tail = chunks_.back();
      const std::size_t room = tail.capacity - tail.end;
      if (room > 0) {  // only a copy has room: a shared block's capacity is its size
        const std::size_t n = std::min(room, size);
        std::memcpy(tail.copy.get() + tail.end, data, n);
        tail.end += static_cast<std::uint32_t>(n);
        bytes_ += n;
        data += n;
        size -= n;
        continue;
      }
    }
    // Small sends share a packing chunk; a large one gets a chunk of its own size.
    const std::size_t capacity = std::clamp<std::size_t>(size, kPackCapacity, kMaxChunk);
    auto copy = std::make_unique_for_overwrite<std::uint8_t[]>(capacity);
    const std::uint8_t* base = copy.get();
    chunks_.push_back(
        Chunk{std::move(copy), nullptr, base, 0, 0, static_cast<std::uint32_t>(capacity)});
  }
}

void WriteQueue::pushShared(const std::uint8_t* data, std::size_t size,
                            std::shared_ptr<const void> owner) {
  while (size > 0) {
    const auto n = static_cast<std::uint32_t>(std::min(size, kMaxChunk));
    chunks_.push_back(Chunk{nullptr, owner, data, 0, n, n});
    bytes_ += n;
    data += n;
    size -= n;
  }
}

int WriteQueue::gather(iovec* iov, int max, std::uint64_t limit) const noexcept {
  int count = 0;
  for (std::size_t i = head_; i < chunks_.size() && count < max && limit > 0; ++i) {
    const Chunk& c = chunks_[i];
    iov[count].iov_base = const_cast<std::uint8_t*>(c.base + c.begin);  // iovec is not const
    iov[count].iov_len = std::min<std::uint64_t>(c.end - c.begin, limit);
    limit -= iov[count].iov_len;
    ++count;
  }
  return count;
}

void WriteQueue::consume(std::size_t size) noexcept {
  bytes_ -= size;
  while (size > 0) {
    Chunk& c = chunks_[head_];
    const std::size_t n = std::min<std::size_t>(size, c.end - c.begin);
    c.begin += static_cast<std::uint32_t>(n);
    size -= n;
    if (c.begin == c.end && (c.end == c.capacity || head_ + 1 < chunks_.size())) {
      c.copy.reset();
      c.owner.reset();
      ++head_;
    }
  }
  if (bytes_ == 0) {
    clear();
  } else if (head_ >= 32 && head_ * 2 >= chunks_.size()) {
    // A queue that never empties must not accumulate sent chunks' slots.
    chunks_.erase(chunks_.begin(), chunks_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

void WriteQueue::clear() noexcept {
  chunks_.clear();
  chunks_.shrink_to_fit();  // an idle socket keeps no queue memory
  head_ = 0;
  bytes_ = 0;
}

}  // namespace tcpsocket::detail
