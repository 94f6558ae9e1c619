// `listen --mode chat`: every line a member sends is relayed to every other member.
//
// A room is a fan-out with a bounded queue. Its memory is bounded by what it holds, not by what
// it is sent:
// - Lines read from one member in one read become one block, shared by every recipient's send
//   queue (TCPSocket::sendShared): 1,000 members cost a line once, not 1,000 times, and a flood of
//   tiny lines costs one send per member per read, not one per line.
// - Back-pressure on the sender: a member that falls more than `laggardBytes` behind makes the
//   sender of that line stop being read (suspend) until every such laggard has caught up.
// - A laggard that has not caught up within `laggardGrace` is cut off with a reset (RST, so the
//   kernel keeps no orphaned buffers for it), and so is a member `cutOffBytes` behind.
// - Above `budget` bytes of lines held in all, the furthest-behind members are cut off at once.
// - One read's fan-out to many members yields to the loop before the sender is read again.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <tcpsocket/tcpsocket.hpp>
#include <unordered_map>
#include <unordered_set>

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
  /// Bytes of lines held for members that have not been written them yet.
  std::uint64_t heldBytes() const;

 private:
  struct Member {
    TCPSocket socket;
    std::string partialLine;
    bool pausedByLaggards = false;  // one suspend() of ours, until the laggards catch up
    bool pausedToYield = false;     // one suspend() of ours, until the loop has run others
  };
  struct Meter;
  struct Block;

  void received(std::uint64_t id, ArrayBuffer bytes);
  void relay(std::uint64_t from, std::string lines);
  void deliver(std::uint64_t to, Member& member, const std::shared_ptr<const Block>& block);
  void caughtUp(std::uint64_t id);
  void left(std::uint64_t id);
  void pause(std::uint64_t id, Member& member);
  void resumeSenders();
  void yieldAfterFanOut(std::uint64_t id, Member& member);
  void armLaggardTimer(std::chrono::milliseconds delay);
  void cutOffLaggards();
  void enforceBudget();
  void cutOff(Member& member, const char* why);
  void released();

  EventLoop& loop_;
  ChatLimits limits_;
  VerboseLog log_;
  std::shared_ptr<Meter> meter_;
  std::unordered_map<std::uint64_t, Member> members_;
  // Members more than laggardBytes behind, and since when.
  std::unordered_map<std::uint64_t, std::chrono::steady_clock::time_point> laggards_;
  std::unordered_set<std::uint64_t> paused_;    // senders waiting for the laggards
  EventLoop::Timer laggardTimer_;
  bool laggardTimerArmed_ = false;
  bool trimPosted_ = false;
  std::uint64_t lastId_ = 0;
};

}  // namespace tcpsocket::cli
