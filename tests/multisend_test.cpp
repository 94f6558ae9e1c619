// Port of the reference's unit/test_multisend.js (docs/reference.md §7.4).
#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace test {
namespace {

TEST(Multisend, TwoSlicedSendsInOpenArriveInOrder) {
  ts::EventLoop loop;
  RawListener listener;
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port(),
                                  {.binaryType = ts::BinaryType::ArrayBuffer});
  const std::string ok = "OKBYE";
  const ts::ArrayBuffer okBuffer(reinterpret_cast<const std::uint8_t*>(ok.data()), ok.size());
  sock.onopen([&](const ts::TCPSocketEvent& e) {
    e.target.send(okBuffer, 0, 2);
    e.target.send(okBuffer, 2, 3);
  });
  RawConn peer;
  ASSERT_TRUE(runUntil(loop, [&] {
    if (!peer.valid()) {
      const int fd = listener.tryAccept();
      if (fd >= 0) peer = RawConn(fd);
    }
    peer.pump();
    return peer.received().size() >= 5;
  }));
  EXPECT_EQ(peer.received(), "OKBYE");
}

}  // namespace
}  // namespace test
