// `listen --mode chat`: every line a member sends is relayed to every other member.
//
// A room is a fan-out with a bounded queue. Its memory is bounded by what it holds, not by what
// it is sent:
// - Lines read from one member in one read become one block, shared by every recipient's send
//   queue (TCPSocket::sendShared): 1,000 members cost a line once, not 1,000 times, and a flood of
//   tiny lines costs one send per member per read, not one per line.
// - What a member is behind counts its queued bytes plus a fixed cost per queued block, so a
//   stream of one-byte reads cannot pile up blocks for free.
// - Back-pressure on the sender: the sender whose line puts a member more than `laggardBytes`
//   behind is not read again (suspend) until that member catches up or is cut off. Only that
//   sender waits: a member kept behind by someone else never freezes the others.
// - A laggard that has not caught up within `laggardGrace` is cut off with a reset (RST, so the
//   kernel keeps no orphaned buffers for it), and so is a member `cutOffBytes` behind.
// - Above `budget` in all (blocks plus queued-block costs), the furthest-behind are cut off at
// once.
// - One read's fan-out to many members yields to the loop before the sender is read again.
// - A line without its newline waits for it up to 1 KiB, then goes out as it is.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <tcpsocket/tcpsocket.hpp>
#include <unordered_map>

#include "messages.hpp"

namespace tcpsocket::cli {

struct ChatLimits {
  /// Bytes of relayed lines the room may hold at once (shared blocks not yet written to all).
  std::uint64_t budget = 16u << 20;
  std::chrono::milliseconds laggardGrace{2000};
  std::uint64_t laggardBytes() const { return budget / 16; }
  std::uint64_t cutOffBytes() const { return budget / 4; }
};

class ChatRoom {
 public:
  ChatRoom(EventLoop& loop, ChatLimits limits, VerboseLog log);
  ~ChatRoom();
  ChatRoom(const ChatRoom&) = delete;
  ChatRoom& operator=(const ChatRoom&) = delete;

  void join(TCPSocket socket);

 private:
  struct Member {
    TCPSocket socket;
    std::string partialLine;
    std::uint64_t queuedBlocks = 0;  // blocks delivered since its queue was last seen empty
    std::uint32_t waitingOn = 0;     // laggards its lines made: while > 0, it is suspended once
    bool pausedToYield = false;      // one suspend() of ours, until the loop has run others
  };
  struct Laggard {
    std::chrono::steady_clock::time_point since;
    std::uint64_t sender;  // whose line put it behind: waits for it
  };
  struct Meter;
  struct Block;

  void received(std::uint64_t id, ArrayBuffer bytes);
  void relay(std::uint64_t from, std::string lines);
  void deliver(std::uint64_t to, Member& member, std::uint64_t from,
               const std::shared_ptr<const Block>& block);
  std::uint64_t behind(const Member& member) const;
  void forgetQueued(Member& member);
  void caughtUp(std::uint64_t id);
  void left(std::uint64_t id);
  void waitFor(std::uint64_t sender);
  void releaseLaggard(std::uint64_t id);
  void yieldAfterFanOut(std::uint64_t id, Member& member);
  void armLaggardTimer();
  void checkLaggards();
  void enforceBudget();
  void cutOff(std::uint64_t id, Member& member, const char* why);
  void released();

  EventLoop& loop_;
  ChatLimits limits_;
  VerboseLog log_;
  std::shared_ptr<Meter> meter_;
  std::uint64_t queueCosts_ = 0;  // the fixed costs of every member's queued blocks
  std::unordered_map<std::uint64_t, Member> members_;
  std::unordered_map<std::uint64_t, Laggard> laggards_;  // members more than laggardBytes behind
  EventLoop::Timer laggardTimer_;
  bool laggardTimerArmed_ = false;
  bool trimPosted_ = false;
  std::uint64_t lastId_ = 0;
};

}  // namespace tcpsocket::cli
