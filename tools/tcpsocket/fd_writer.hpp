// Writes to a descriptor (stdout, a child's stdin) from the loop's thread, through
// EventLoop::watchDescriptor: no helper thread, and a slow reader never blocks the loop. The
// backlog is bounded by the caller: write() says when to pause the source (a suspended socket),
// and `low` is called when the backlog has drained enough to resume it.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string_view>
#include <tcpsocket/event_loop.hpp>

namespace tcpsocket::cli {

class FdWriter {
 public:
  static constexpr std::size_t kHighWater = 1 << 20;
  static constexpr std::size_t kLowWater = 256 << 10;

  struct Handlers {
    std::function<void()> low;           ///< the backlog fell to kLowWater after write() said pause
    std::function<void(int err)> error;  ///< a write failed (errno); later bytes are dropped
  };

  /// `fd` stays the caller's. Handlers run on the loop's thread, never after the writer is
  /// destroyed, and never from inside write().
  FdWriter(EventLoop& loop, int fd, Handlers handlers);
  /// Drops what is still queued (call finish() first to keep it).
  ~FdWriter();
  FdWriter(const FdWriter&) = delete;
  FdWriter& operator=(const FdWriter&) = delete;

  /// Queues bytes; false when the backlog is above kHighWater (pause the source until `low`).
  bool write(std::string_view bytes);
  /// Calls `done(err)` once every queued byte is written (err 0) or writing failed (its errno);
  /// at once if nothing is queued. Later write()s are refused.
  void finish(std::function<void(int err)> done);

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace tcpsocket::cli
