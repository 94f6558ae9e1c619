// Google Benchmark micro-benchmarks of the hot paths, so that a regression shows without the full
// echo run: send() on an empty queue, the gathered write of queued chunks, and read dispatch to a
// `data` listener.   build/default/bench/micro_bench
#include <benchmark/benchmark.h>

#include <chrono>
#include <tcpsocket/tcpsocket.hpp>
#include <vector>

#include "listener_list.hpp"
#include "write_queue.hpp"

namespace {

using namespace std::chrono_literals;

// send() of 64 bytes on an empty queue: straight to the kernel (the common path).
void BM_SendOnEmptyQueue(benchmark::State& state) {
  tcpsocket::EventLoop loop;
  auto server = tcpsocket::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  tcpsocket::TCPSocket accepted;
  server.onconnect([&](const tcpsocket::TCPServerSocketEvent& e) { accepted = e.socket; });
  auto client = tcpsocket::TCPSocket::open(loop, "127.0.0.1", server.localPort());
  loop.runUntil([&] { return accepted && client.readyState() == tcpsocket::ReadyState::Open; }, 5s);
  const std::string message(64, 'm');
  std::int64_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(client.send(std::string_view(message)));
    if (++i % 256 == 0) loop.runFor(0ms);  // the peer reads (and drops) what arrived
    while (client.bufferedAmount() > 0) loop.runFor(1ms);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SendOnEmptyQueue);

// The queue's side of a gathered write: push small chunks, gather 64 iovecs, consume them.
void BM_WriteQueueGatherAndConsume(benchmark::State& state) {
  const std::vector<std::uint8_t> chunk(static_cast<std::size_t>(state.range(0)), 7);
  tcpsocket::detail::WriteQueue queue;
  iovec iov[tcpsocket::detail::WriteQueue::kMaxIov];
  for (auto _ : state) {
    for (int k = 0; k < 64; ++k) queue.push(chunk.data(), chunk.size());
    while (!queue.empty()) {
      const int n = queue.gather(iov, tcpsocket::detail::WriteQueue::kMaxIov);
      std::size_t total = 0;
      for (int k = 0; k < n; ++k) total += iov[k].iov_len;
      queue.consume(total);
    }
  }
  state.SetBytesProcessed(state.iterations() * 64 * state.range(0));
}
BENCHMARK(BM_WriteQueueGatherAndConsume)->Arg(64)->Arg(4096)->Arg(65536);

// Dispatch of one `data` event to one listener (the per-read cost above the syscall).
struct FakeEvent {
  int type;
  std::size_t bytes;
};
void BM_DataDispatch(benchmark::State& state) {
  tcpsocket::detail::ListenerList<FakeEvent> listeners;
  std::size_t seen = 0;
  listeners.add(1, [&seen](const FakeEvent& e) { seen += e.bytes; });
  const FakeEvent event{1, 64};
  for (auto _ : state) listeners.dispatch(1, event, [] {});
  benchmark::DoNotOptimize(seen);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DataDispatch);

}  // namespace

BENCHMARK_MAIN();
