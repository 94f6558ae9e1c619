// What an idle accepted connection costs the server's heap: one allocation (the socket and its
// shared_ptr control block, made together), about a quarter of a KiB, and nothing else per
// connection but a slot in each of two vectors. Counted by replacing operator new for this test
// binary: an allocation count is exact where an RSS figure is not.
//
// What this guards: the parts a plain idle socket never uses (TLS, timers, a connect's options,
// the host name as text) stay out of line (src/socket_impl.hpp, Extras), the plain transport
// keeps no per-socket state, the server keeps no node per connection (src/connection_set.hpp),
// and a listener list holds no vector for additions made mid-dispatch until one is made.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "support/test_support.hpp"

namespace {

// Each block carries its size in a header, so that frees are counted as exactly as allocations.
constexpr std::size_t kHeader = 16;  // keeps the alignment malloc gives
std::atomic<long long> liveBytes{0};
std::atomic<long long> liveBlocks{0};

void* allocate(std::size_t size) {
  void* raw = std::malloc(size + kHeader);
  if (raw == nullptr) throw std::bad_alloc();
  *static_cast<std::size_t*>(raw) = size;
  liveBytes += static_cast<long long>(size);
  ++liveBlocks;
  return static_cast<char*>(raw) + kHeader;
}

void release(void* p) noexcept {
  if (p == nullptr) return;
  void* raw = static_cast<char*>(p) - kHeader;
  liveBytes -= static_cast<long long>(*static_cast<std::size_t*>(raw));
  --liveBlocks;
  std::free(raw);
}

}  // namespace

void* operator new(std::size_t size) { return allocate(size); }
void* operator new[](std::size_t size) { return allocate(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return allocate(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
  return operator new(size, tag);
}
void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t) noexcept { release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { release(p); }

namespace test {
namespace {

// Echo's listeners, shared by every accepted socket as the CLI's echo mode shares them.
std::shared_ptr<const ts::SocketHandlers> echoHandlers() {
  auto h = std::make_shared<ts::SocketHandlers>();
  h->ondata = [](const ts::TCPSocketEvent& e) {
    if (!e.target.send(std::get<ts::ArrayBuffer>(e.data))) e.target.suspend();
  };
  h->ondrain = [](const ts::TCPSocketEvent& e) { e.target.resume(); };
  return h;
}

TEST(Footprint, AnIdleAcceptedConnectionIsOneAllocationOfAboutAQuarterKiB) {
  ts::EventLoop loop;
  ts::ServerSocketOptions options;
  options.localAddress = "127.0.0.1";
  options.binaryType = ts::BinaryType::ArrayBuffer;
  options.handlers = echoHandlers();
  auto server = ts::TCPServerSocket::listen(loop, 0, options);
  server.onconnect([](const ts::TCPServerSocketEvent&) {});

  // The first connection warms what is made once per loop or server (Asio's operation memory,
  // the read buffer, the readiness set's event array).
  constexpr int kMore = 255;  // 1 + 255: the per-connection vectors end at a power of two
  std::vector<test::RawConn> clients;
  clients.reserve(kMore + 1);  // the test's own memory is not the server's
  clients.push_back(test::RawConn::connectTo("127.0.0.1", server.localPort()));
  ASSERT_TRUE(runUntil(loop, [&] { return server.stats().open == 1; }));
  runFor(loop, 20ms);
  const long long bytesBefore = liveBytes;
  const long long blocksBefore = liveBlocks;

  for (int i = 0; i < kMore; ++i) {
    clients.push_back(test::RawConn::connectTo("127.0.0.1", server.localPort()));
  }
  ASSERT_TRUE(runUntil(loop, [&] { return server.stats().open == kMore + 1; }));
  runFor(loop, 20ms);
  const double bytesPer = static_cast<double>(liveBytes - bytesBefore) / kMore;
  const double blocksPer = static_cast<double>(liveBlocks - blocksBefore) / kMore;
  RecordProperty("bytes_per_connection", std::to_string(bytesPer));

  // One block per connection; the vectors' regrowths add a few blocks for all of them.
  EXPECT_LE(blocksPer, 1.1) << "an idle connection allocates more than its socket";
  // The socket is 256 bytes and its control block 16 on x86-64 (it was 368 + 16, plus a host
  // string and a hash node); the vectors add 24 bytes a connection.
  EXPECT_LE(bytesPer, 320.0) << "an idle connection costs " << bytesPer << " bytes of heap";
  // Still alive and answering: nothing was traded away for the size.
  clients.back().writeAll("ping");
  ASSERT_TRUE(runUntil(loop, [&] {
    clients.back().pump();
    return clients.back().received() == "ping";
  }));
}

// Found by an attack: an open() refused for its options (a malformed localAddress) left the
// half-made socket keeping itself alive until the loop was destroyed, 432 B each.
TEST(Footprint, AnOpenRefusedForItsOptionsLeavesNothingBehind) {
  ts::EventLoop loop;
  auto refuse = [&] {
    EXPECT_THROW(ts::TCPSocket::open(loop, "127.0.0.1", 9, {.localAddress = "not-an-address"}),
                 ts::InvalidAddressError);
  };
  refuse();  // warms what is made once
  const long long bytesBefore = liveBytes;
  for (int i = 0; i < 100; ++i) refuse();
  EXPECT_EQ(liveBytes - bytesBefore, 0) << "refused opens left memory behind";
}

}  // namespace
}  // namespace test
