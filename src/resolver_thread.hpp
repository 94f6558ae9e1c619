// The system resolver: getaddrinfo on one thread of the loop's own.
#pragma once

#include <asio/ip/tcp.hpp>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace tcpsocket::detail {

/// Looks names up one after another on a thread started at the first lookup, and hands each
/// answer to `deliver` on that thread (LoopCore posts it to the loop and wakes a hosted loop).
/// Asio's async_resolve works the same way, but queues its answer so that only a thread blocked
/// in run() hears of it; a loop driven by a host (EventLoop::hostDescriptor) would never wake up.
class ResolverThread {
 public:
  using Answer = std::function<void(std::error_code, std::vector<asio::ip::tcp::endpoint>)>;
  using Deliver = std::function<void(std::function<void()>)>;

  explicit ResolverThread(Deliver deliver) : deliver_(std::move(deliver)) {}
  /// Waits for the lookup in progress (getaddrinfo cannot be interrupted); queued ones are dropped.
  ~ResolverThread();
  ResolverThread(const ResolverThread&) = delete;
  ResolverThread& operator=(const ResolverThread&) = delete;

  void resolve(std::string host, std::uint16_t port, Answer answer);

 private:
  struct Lookup {
    std::string host;
    std::uint16_t port;
    Answer answer;
  };
  void work();

  Deliver deliver_;
  std::mutex mutex_;
  std::condition_variable wakeup_;
  std::deque<Lookup> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tcpsocket::detail
