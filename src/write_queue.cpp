#include "write_queue.hpp"

#include <algorithm>
#include <cstring>

namespace tcpsocket::detail {

WriteQueue::Chunks& WriteQueue::chunks() {
  if (!chunks_) chunks_ = std::make_unique<Chunks>();
  return *chunks_;
}

void WriteQueue::push(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return;
  Chunks& chunks = this->chunks();
  while (size > 0) {
    if (chunks.list.size() > chunks.head) {
      Chunk& tail = chunks.list.back();
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
    chunks.list.push_back(
        Chunk{std::move(copy), nullptr, base, 0, 0, static_cast<std::uint32_t>(capacity)});
  }
}

void WriteQueue::pushShared(const std::uint8_t* data, std::size_t size,
                            std::shared_ptr<const void> owner) {
  if (size == 0) return;
  Chunks& chunks = this->chunks();
  while (size > 0) {
    const auto n = static_cast<std::uint32_t>(std::min(size, kMaxChunk));
    chunks.list.push_back(Chunk{nullptr, owner, data, 0, n, n});
    bytes_ += n;
    data += n;
    size -= n;
  }
}

int WriteQueue::gather(iovec* iov, int max, std::uint64_t limit) const noexcept {
  int count = 0;
  if (!chunks_) return 0;
  const std::vector<Chunk>& list = chunks_->list;
  for (std::size_t i = chunks_->head; i < list.size() && count < max && limit > 0; ++i) {
    const Chunk& c = list[i];
    iov[count].iov_base = const_cast<std::uint8_t*>(c.base + c.begin);  // iovec is not const
    iov[count].iov_len = std::min<std::uint64_t>(c.end - c.begin, limit);
    limit -= iov[count].iov_len;
    ++count;
  }
  return count;
}

void WriteQueue::consume(std::size_t size) noexcept {
  if (size == 0) return;
  bytes_ -= size;
  std::vector<Chunk>& list = chunks_->list;
  std::size_t& head = chunks_->head;
  while (size > 0) {
    Chunk& c = list[head];
    const std::size_t n = std::min<std::size_t>(size, c.end - c.begin);
    c.begin += static_cast<std::uint32_t>(n);
    size -= n;
    if (c.begin == c.end && (c.end == c.capacity || head + 1 < list.size())) {
      c.copy.reset();
      c.owner.reset();
      ++head;
    }
  }
  if (bytes_ == 0) {
    clear();
  } else if (head >= 32 && head * 2 >= list.size()) {
    // A queue that never empties must not accumulate sent chunks' slots.
    list.erase(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(head));
    head = 0;
  }
}

void WriteQueue::clear() noexcept {
  chunks_.reset();  // an idle socket keeps no queue memory
  bytes_ = 0;
}

}  // namespace tcpsocket::detail
