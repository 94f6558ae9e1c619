// Writes to a file descriptor (stdout) on its own thread, so that a slow reader of our output never
// blocks the event loop. The backlog is bounded by the caller: write() says when to pause the
// source (a suspended socket), and `low` is posted when the backlog has drained enough to resume.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <tcpsocket/event_loop.hpp>
#include <thread>

namespace tcpsocket::cli {

class StdoutWriter {
 public:
  static constexpr std::size_t kHighWater = 1 << 20;
  static constexpr std::size_t kLowWater = 256 << 10;

  struct Handlers {
    std::function<void()> low;           ///< the backlog fell to kLowWater after write() said pause
    std::function<void(int err)> error;  ///< a write failed (errno); later bytes are dropped
  };

  /// Handlers run on `loop`'s thread through loop.post(), possibly after the writer is destroyed.
  StdoutWriter(EventLoop& loop, int fd, Handlers handlers);
  /// Writes what is still queued (see finish()), then stops the thread.
  ~StdoutWriter();
  StdoutWriter(const StdoutWriter&) = delete;
  StdoutWriter& operator=(const StdoutWriter&) = delete;

  /// Queues bytes; false when the backlog is above kHighWater (pause the source until `low`).
  bool write(std::span<const std::uint8_t> bytes);
  /// Blocks until every queued byte is written or writing failed. Returns 0, or the errno of the
  /// failure.
  int finish();

 private:
  void run();

  EventLoop& loop_;
  const int fd_;
  Handlers handlers_;
  std::mutex mutex_;
  std::condition_variable wake_;     // the thread: bytes queued or stopping
  std::condition_variable flushed_;  // finish(): backlog empty or failed
  std::string pending_;
  std::size_t backlog_ = 0;  // queued plus being written
  bool owedLow_ = false;
  int error_ = 0;  // errno of the failed write; later bytes are dropped
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tcpsocket::cli
