// The open connections of a server. A vector, not a node-based set: each socket keeps its own
// index in it (SocketImpl::ownerSlot), so insert and erase are O(1) and an idle connection costs
// the server one pointer, not a hash node and a bucket.
#pragma once

#include <cstdint>
#include <vector>

#include "socket_impl.hpp"

namespace tcpsocket::detail {

class ConnectionSet {
 public:
  void insert(SocketImpl& socket) {
    socket.ownerSlot() = static_cast<std::uint32_t>(sockets_.size());
    sockets_.push_back(&socket);
  }
  /// False if `socket` was not in the set.
  bool erase(SocketImpl& socket) noexcept {
    const std::uint32_t slot = socket.ownerSlot();
    if (slot >= sockets_.size() || sockets_[slot] != &socket) return false;
    sockets_[slot] = sockets_.back();
    sockets_[slot]->ownerSlot() = slot;
    sockets_.pop_back();
    socket.ownerSlot() = SocketImpl::kNoOwnerSlot;
    return true;
  }
  std::size_t size() const noexcept { return sockets_.size(); }
  bool empty() const noexcept { return sockets_.empty(); }
  /// For walks that end no connection; a walk that may must use snapshot() (erase moves entries).
  auto begin() const noexcept { return sockets_.begin(); }
  auto end() const noexcept { return sockets_.end(); }
  /// A copy to walk while the walk may end connections.
  std::vector<SocketImpl*> snapshot() const { return sockets_; }
  /// Forgets every socket without touching them (they are gone with the loop).
  void clear() noexcept { sockets_.clear(); }

 private:
  std::vector<SocketImpl*> sockets_;
};

}  // namespace tcpsocket::detail
