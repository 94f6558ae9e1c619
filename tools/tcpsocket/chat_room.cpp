#include "chat_room.hpp"

#include <malloc.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace tcpsocket::cli {
namespace {

using Clock = std::chrono::steady_clock;

// The rest of a read after its last newline waits for the next read, up to this much; a longer
// line is relayed in pieces, so that a member never holds a large unfinished line.
constexpr std::size_t kMaxPartialLine = 4096;
// A read relayed to this many members lets the loop run other sockets before the next read.
constexpr std::size_t kYieldFanOut = 64;
// After holding this much, hand freed memory back to the system once the room holds nothing.
constexpr std::uint64_t kTrimAfter = 1u << 20;

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

std::uint64_t ChatRoom::heldBytes() const { return meter_->held; }

void ChatRoom::join(TCPSocket socket) {
  const std::uint64_t id = ++lastId_;
  members_.emplace(id, Member{socket, {}});
  socket.ondata([this, id](const TCPSocketEvent& e) { received(id, std::get<ArrayBuffer>(e.data)); });
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
    deliver(id, member, block);
    ++fanOut;
  }
  Member& sender = members_.at(from);
  if (!laggards_.empty()) pause(from, sender);
  enforceBudget();
  if (fanOut >= kYieldFanOut) yieldAfterFanOut(from, sender);
}

void ChatRoom::deliver(std::uint64_t to, Member& member, const std::shared_ptr<const Block>& block) {
  member.socket.sendShared(block->view(), block);
  const std::uint64_t behind = member.socket.bufferedAmount();
  if (behind > limits_.cutOffBytes()) {
    cutOff(member, "a chat member fell too far behind");
  } else if (behind > limits_.laggardBytes() && !laggards_.contains(to)) {
    laggards_.emplace(to, Clock::now());
    if (!laggardTimerArmed_) armLaggardTimer(limits_.laggardGrace);
  }
}

// `drain`: the member's queue is empty, so it is no longer behind anyone.
void ChatRoom::caughtUp(std::uint64_t id) {
  if (laggards_.erase(id) > 0 && laggards_.empty()) resumeSenders();
}

void ChatRoom::left(std::uint64_t id) {
  members_.erase(id);
  paused_.erase(id);
  if (laggards_.erase(id) > 0 && laggards_.empty()) resumeSenders();
}

void ChatRoom::pause(std::uint64_t id, Member& member) {
  if (member.pausedByLaggards) return;
  member.pausedByLaggards = true;
  member.socket.suspend();
  paused_.insert(id);
}

void ChatRoom::armLaggardTimer(std::chrono::milliseconds delay) {
  laggardTimerArmed_ = true;
  laggardTimer_ = loop_.setTimeout(delay, [this] {
    laggardTimerArmed_ = false;
    cutOffLaggards();
  });
}

void ChatRoom::resumeSenders() {
  laggardTimer_.cancel();
  laggardTimerArmed_ = false;
  for (const std::uint64_t id : paused_) {
    const auto it = members_.find(id);
    if (it == members_.end() || !it->second.pausedByLaggards) continue;
    it->second.pausedByLaggards = false;
    it->second.socket.resume();
  }
  paused_.clear();
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

// Laggards that did not catch up within the grace period are cut off; their senders go on.
void ChatRoom::cutOffLaggards() {
  const auto now = Clock::now();
  auto next = Clock::time_point::max();
  for (const auto& [id, since] : std::vector(laggards_.begin(), laggards_.end())) {
    if (now - since >= limits_.laggardGrace) {
      cutOff(members_.at(id), "a chat member did not catch up");
    } else {
      next = std::min(next, since + limits_.laggardGrace);
    }
  }
  if (next != Clock::time_point::max()) {
    armLaggardTimer(std::chrono::ceil<std::chrono::milliseconds>(next - now));
  }
}

// Over the budget (many senders at once): the members furthest behind go first.
void ChatRoom::enforceBudget() {
  if (meter_->held <= limits_.budget) return;
  std::vector<Member*> byLag;
  for (auto& [id, member] : members_) byLag.push_back(&member);
  std::sort(byLag.begin(), byLag.end(), [](Member* a, Member* b) {
    return a->socket.bufferedAmount() > b->socket.bufferedAmount();
  });
  for (Member* member : byLag) {
    if (meter_->held <= limits_.budget / 2 || member->socket.bufferedAmount() == 0) break;
    cutOff(*member, "the chat room is over its memory budget");
  }
}

// A reset, not a FIN: a FIN would queue behind the unsent data, and the kernel would keep the
// orphaned connection and its buffers long after we let go of it.
void ChatRoom::cutOff(Member& member, const char* why) {
  if (member.socket.readyState() == ReadyState::Closed) return;
  log_(std::string(why) + ": cutting off " + hostPort(member.socket.host(), member.socket.port()));
  member.socket.abort();  // discards its queue now: the blocks it held are released
}

// A block was freed (inside the library's write path or a close: touch no socket here).
void ChatRoom::released() {
  if (meter_->held > 0 || meter_->peak < kTrimAfter || trimPosted_) return;
  trimPosted_ = true;
  loop_.post([this] {
    trimPosted_ = false;
    meter_->peak = 0;
    ::malloc_trim(0);  // glibc keeps freed heap pages otherwise: the burst's RSS would stay
  });
}

}  // namespace tcpsocket::cli
