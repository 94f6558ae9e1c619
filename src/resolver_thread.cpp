#include "resolver_thread.hpp"

namespace tcpsocket::detail {

ResolverThread::~ResolverThread() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wakeup_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void ResolverThread::resolve(std::string host, std::uint16_t port, Answer answer) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back({std::move(host), port, std::move(answer)});
    if (!thread_.joinable()) thread_ = std::thread([this] { work(); });
  }
  wakeup_.notify_one();
}

// No AI_ADDRCONFIG: on a host whose only interface is loopback it would hide the IPv4 answers for
// "localhost".
void ResolverThread::work() {
  asio::io_context io(1);  // Asio's synchronous resolve needs one; it never runs
  asio::ip::tcp::resolver resolver(io);
  std::unique_lock lock(mutex_);
  for (;;) {
    wakeup_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    Lookup lookup = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    std::error_code ec;
    auto results = resolver.resolve(lookup.host, std::to_string(lookup.port),
                                    asio::ip::resolver_base::numeric_service, ec);
    std::vector<asio::ip::tcp::endpoint> endpoints;
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
    deliver_([answer = std::move(lookup.answer), ec, endpoints = std::move(endpoints)]() mutable {
      answer(ec, std::move(endpoints));
    });
    lock.lock();
  }
}

}  // namespace tcpsocket::detail
