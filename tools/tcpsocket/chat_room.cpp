#include "chat_room.hpp"

#include <malloc.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <new>
#include <utility>
#include <vector>

namespace tcpsocket::cli {
namespace {

using Clock = std::chrono::steady_clock;

// The rest of a read after its last newline waits for the next read, up to this much; a longer
// line is relayed in pieces, so that a member never holds a large unfinished line.
constexpr std::size_t kMaxPartialLine = 1024;
// A read relayed to this many members lets the loop run other sockets before the next read.
constexpr std::size_t kYieldFanOut = 64;
// After holding this much, hand freed memory back to the system once the room holds nothing.
constexpr std::uint64_t kTrimAfter = 1u << 20;
// What one queued block costs a member's send queue beyond its bytes (the queue's entry for it,
// and that vector's slack): counted, so that one-byte reads cannot pile up blocks for free.
constexpr std::uint64_t kBlockCost = 96;
constexpr std::chrono::milliseconds kLaggardPoll{100};

}  // namespace

struct ChatRoom::Meter {
  std::uint64_t held = 0;
  std::uint64_t peak = 0;    // since memory was last handed back
  ChatRoom* room = nullptr;  // null once the room is gone: blocks can outlive it in closing sockets
};

// One read's complete lines, shared by the send queues of every member it goes to.
struct ChatRoom::Block {
  Block(std::string text, std::shared_ptr<Meter> m) : bytes(std::move(text)), meter(std::move(m)) {
    meter->held += bytes.size();
    meter->peak = std::max(meter->peak, meter->held);
  }
  ~Block() {
    meter->held -= bytes.size();
    if (meter->room != nullptr) meter->room->released();
  }
  Block(const Block&) = delete;
  Block& operator=(const Block&) = delete;
  ArrayBuffer view() const {
    return {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()};
  }
  std::string bytes;
  std::shared_ptr<Meter> meter;
};

ChatRoom::ChatRoom(EventLoop& loop, ChatLimits limits, VerboseLog log)
    : loop_(loop), limits_(limits), log_(log), meter_(std::make_shared<Meter>()) {
  meter_->room = this;
}

ChatRoom::~ChatRoom() {
  meter_->room = nullptr;
  laggardTimer_.cancel();
}

void ChatRoom::join(TCPSocket socket) {
  const std::uint64_t id = ++lastId_;
  members_.emplace(id, Member{socket, {}});
  socket.ondata(
      [this, id](const TCPSocketEvent& e) { received(id, std::get<ArrayBuffer>(e.data)); });
  socket.ondrain([this, id](const TCPSocketEvent&) { caughtUp(id); });
  socket.onclose([this, id](const TCPSocketEvent&) { left(id); });
}

// Everything up to the read's last newline goes out as one block; the rest waits for its newline.
void ChatRoom::received(std::uint64_t id, ArrayBuffer bytes) {
  Member& member = members_.at(id);
  std::string lines;
  const char* data = reinterpret_cast<const char*>(bytes.data());
  const void* lastNewline = ::memrchr(data, '\n', bytes.size());
  if (lastNewline != nullptr) {
    const std::size_t upTo = static_cast<const char*>(lastNewline) - data + 1;
    lines = std::move(member.partialLine);
    lines.append(data, upTo);
    member.partialLine.assign(data + upTo, bytes.size() - upTo);
  } else {
    member.partialLine.append(data, bytes.size());
  }
  if (member.partialLine.size() >= kMaxPartialLine) {
    lines.append(member.partialLine);
    std::string().swap(member.partialLine);
  }
  if (!lines.empty()) relay(id, std::move(lines));
}

void ChatRoom::relay(std::uint64_t from, std::string lines) {
  const auto block = std::make_shared<const Block>(std::move(lines), meter_);
  std::size_t fanOut = 0;
  for (auto& [id, member] : members_) {
    if (id == from || member.socket.readyState() != ReadyState::Open) continue;
    deliver(id, member, from, block);
    ++fanOut;
  }
  enforceBudget();
  if (fanOut >= kYieldFanOut) yieldAfterFanOut(from, members_.at(from));
}

void ChatRoom::deliver(std::uint64_t to, Member& member, std::uint64_t from,
                       const std::shared_ptr<const Block>& block) {
  if (member.socket.bufferedAmount() == 0) forgetQueued(member);  // it has caught up since
  member.socket.sendShared(block->view(), block);
  if (member.socket.bufferedAmount() == 0) return;  // the kernel took it all
  ++member.queuedBlocks;
  queueCosts_ += kBlockCost;
  const std::uint64_t lag = behind(member);
  if (lag > limits_.cutOffBytes()) {
    cutOff(to, member, "a chat member fell too far behind");
  } else if (lag > limits_.laggardBytes() && !laggards_.contains(to)) {
    laggards_.emplace(to, Laggard{Clock::now(), from});
    waitFor(from);
    if (!laggardTimerArmed_) armLaggardTimer();
  }
}

std::uint64_t ChatRoom::behind(const Member& member) const {
  return member.socket.bufferedAmount() + member.queuedBlocks * kBlockCost;
}

void ChatRoom::forgetQueued(Member& member) {
  queueCosts_ -= member.queuedBlocks * kBlockCost;
  member.queuedBlocks = 0;
}

// `drain`: the member's queue is empty, so it is no longer behind anyone.
void ChatRoom::caughtUp(std::uint64_t id) {
  forgetQueued(members_.at(id));
  releaseLaggard(id);
}

void ChatRoom::left(std::uint64_t id) {
  forgetQueued(members_.at(id));
  releaseLaggard(id);
  members_.erase(id);
}

// The sender of a line that put a member behind is not read until that member catches up.
void ChatRoom::waitFor(std::uint64_t sender) {
  Member& member = members_.at(sender);
  if (member.waitingOn++ == 0) member.socket.suspend();
}

void ChatRoom::releaseLaggard(std::uint64_t id) {
  const auto it = laggards_.find(id);
  if (it == laggards_.end()) return;
  const std::uint64_t sender = it->second.sender;
  laggards_.erase(it);
  if (laggards_.empty()) {
    laggardTimer_.cancel();
    laggardTimerArmed_ = false;
  }
  const auto waiting = members_.find(sender);
  if (waiting != members_.end() && --waiting->second.waitingOn == 0) {
    waiting->second.socket.resume();
  }
}

// One read fanned out to many members has done a lot of work: the sender waits its turn behind
// the other sockets before it is read again.
void ChatRoom::yieldAfterFanOut(std::uint64_t id, Member& member) {
  if (member.pausedToYield) return;
  member.pausedToYield = true;
  member.socket.suspend();
  loop_.post([this, id] {
    const auto it = members_.find(id);
    if (it == members_.end() || !it->second.pausedToYield) return;
    it->second.pausedToYield = false;
    it->second.socket.resume();
  });
}

void ChatRoom::armLaggardTimer() {
  laggardTimerArmed_ = true;
  laggardTimer_ = loop_.setTimeout(kLaggardPoll, [this] {
    laggardTimerArmed_ = false;
    checkLaggards();
  });
}

// Polled while there are laggards: one behind on many tiny blocks may catch up without a `drain`
// (its queue never held 64 KiB), and one that does not catch up within the grace period is cut
// off; either way its sender goes on.
void ChatRoom::checkLaggards() {
  const auto now = Clock::now();
  for (const auto& [id, laggard] : std::vector(laggards_.begin(), laggards_.end())) {
    Member& member = members_.at(id);
    if (member.socket.bufferedAmount() == 0) {
      caughtUp(id);
    } else if (now - laggard.since >= limits_.laggardGrace) {
      cutOff(id, member, "a chat member did not catch up");
    }
  }
  if (!laggards_.empty()) armLaggardTimer();
}

// Over the budget (many senders, or a great many members behind at once): the members furthest
// behind go first.
void ChatRoom::enforceBudget() {
  if (meter_->held + queueCosts_ <= limits_.budget) return;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> byLag;  // (behind, id)
  for (const auto& [id, member] : members_) byLag.emplace_back(behind(member), id);
  std::sort(byLag.begin(), byLag.end(), std::greater<>());
  for (const auto& [lag, id] : byLag) {
    if (meter_->held + queueCosts_ <= limits_.budget / 2 || lag == 0) break;
    cutOff(id, members_.at(id), "the chat room is over its memory budget");
  }
}

// A reset, not a FIN: a FIN would queue behind the unsent data, and the kernel would keep the
// orphaned connection and its buffers long after we let go of it.
void ChatRoom::cutOff(std::uint64_t id, Member& member, const char* why) {
  if (member.socket.readyState() == ReadyState::Closed) return;
  log_(std::string(why) + ": cutting off " + hostPort(member.socket.host(), member.socket.port()));
  member.socket.abort();  // discards its queue now: the blocks it held are released
  forgetQueued(member);
  releaseLaggard(id);  // its sender goes on now, not at the close event
}

// A block was freed (inside the library's write path or a close: touch no socket here).
void ChatRoom::released() {
  if (meter_->held > 0 || meter_->peak < kTrimAfter || trimPosted_) return;
  try {  // inside the library's noexcept write path: out of memory must not end the process
    loop_.post([this] {
      trimPosted_ = false;
      meter_->peak = 0;
      ::malloc_trim(0);  // glibc keeps freed heap pages otherwise: the burst's RSS would stay
    });
    trimPosted_ = true;
  } catch (const std::bad_alloc&) {
  }
}

}  // namespace tcpsocket::cli
