// Backpressure both ways. Outgoing: maxBufferedAmount is a hard cap, so an app that ignores
// send()'s "stop" fails its socket instead of growing without bound, and a cap below the point
// where send() says "stop" is refused. Incoming: a suspended socket reads nothing, so a flooding
// peer fills kernel buffers and blocks instead of growing the process.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "support/loop_fixture.hpp"

namespace test {
namespace {

using Backpressure = LoopFixture;

TEST_F(Backpressure, HardCapOnBufferedAmountFailsInsteadOfGrowing) {
  RawListener listener("127.0.0.1", 4096);
  constexpr std::uint64_t kCap = 256 * 1024;
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port(),
                                  {.connection = {.maxBufferedAmount = kCap}});
  Recorder events(sock);
  RawConn peer = acceptWhenOpen(loop, listener, events);  // never reads
  const auto chunk = randomBytes(65536, 31);
  std::uint64_t highest = 0;
  for (int i = 0; i < 1000 && sock.readyState() == ts::ReadyState::Open && !events.closed(); ++i) {
    sock.send(chunk);
    highest = std::max(highest, sock.bufferedAmount());
    runFor(loop, 1ms);
  }
  ASSERT_TRUE(runUntil(loop, [&] { return events.closed(); }));
  EXPECT_LE(highest, kCap);
  EXPECT_EQ(events.events,
            (std::vector<std::string>{"open", "error:BufferOverflowError:Network", "close"}));
  EXPECT_EQ(sock.bufferedAmount(), 0u);
}

// Regression (review): a cap below the 64 KiB where send() starts saying "stop" cut off apps that
// follow send()'s advice; it is refused up front.
TEST_F(Backpressure, BufferCapBelowTheSendThresholdIsRefused) {
  EXPECT_THROW(
      ts::TCPSocket::open(loop, "127.0.0.1", 9, {.connection = {.maxBufferedAmount = 32768}}),
      ts::TypeError);
  EXPECT_THROW(ts::TCPServerSocket::listen(
                   loop, 0, {.localAddress = "127.0.0.1", .connection = {.maxBufferedAmount = 1}}),
               ts::TypeError);
  EXPECT_NO_THROW(
      ts::TCPSocket::open(loop, "127.0.0.1", 9, {.connection = {.maxBufferedAmount = 65536}})
          .close());
}

// While suspended nothing is read: a peer sending as fast as it can fills kernel buffers and then
// blocks; the process does not buffer its flood.
TEST_F(Backpressure, SuspendedSocketDoesNotBufferAFloodingPeer) {
  RawListener listener;
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port());
  Recorder events(sock);
  RawConn peer = acceptWhenOpen(loop, listener, events);
  sock.suspend();
  const std::string chunk(65536, 'f');
  std::size_t flooded = 0;
  for (int i = 0; i < 4096; ++i) {  // at most 256 MiB
    const ssize_t n = ::send(peer.fd(), chunk.data(), chunk.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n <= 0) {
      runFor(loop, 5ms);  // the loop runs: it must still not read
      if (::send(peer.fd(), chunk.data(), chunk.size(), MSG_DONTWAIT | MSG_NOSIGNAL) <= 0) break;
      flooded += chunk.size();
      continue;
    }
    flooded += static_cast<std::size_t>(n);
  }
  EXPECT_LT(flooded, std::size_t{64} << 20) << "the peer could push without limit";
  EXPECT_EQ(events.dataEvents, 0);
  sock.resume();  // and everything is still there, in order
  ASSERT_TRUE(runUntil(loop, [&] { return events.received.size() == flooded; }));
}

// A server that answers each request byte with a 4 KiB reply: one `data` event of 400 requests
// makes 400 send() calls, most of them refused (past 64 KiB queued). `brake` is what the handler
// does after each refused send().
struct ManyRepliesServer {
  static constexpr std::size_t kReply = 4096;

  ManyRepliesServer(ts::EventLoop& loop, std::function<void(ts::TCPSocket&)> brake)
      : server(ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"})) {
    server.onconnect([this, brake](const ts::TCPServerSocketEvent& e) {
      // A small, fixed kernel send buffer: replies queue in the socket, not in the kernel.
      const int sndbuf = 4096;
      ::setsockopt(e.socket.nativeHandle(), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
      e.socket.ondata([this, brake](const ts::TCPSocketEvent& d) {
        for (std::size_t i = 0; i < std::get<std::string_view>(d.data).size(); ++i) {
          if (!d.target.send(reply)) brake(d.target);
        }
      });
      e.socket.ondrain([this](const ts::TCPSocketEvent& d) {
        ++drains;
        if (onDrain) onDrain(d.target);
      });
    });
  }

  const std::string reply = std::string(kReply, 'r');
  ts::TCPServerSocket server;
  std::function<void(ts::TCPSocket&)> onDrain;
  int drains = 0;
};

// Asks `requests` of the server and reads every reply; false if they did not all come.
bool askAndReadAll(ts::EventLoop& loop, RawConn& client, std::size_t requests,
                   std::size_t& received) {
  client.writeAll(std::string(requests, 'q'));
  const std::size_t want = received + requests * ManyRepliesServer::kReply;
  const bool all = runUntil(
      loop,
      [&] {
        client.pump();
        return client.received().size() >= want;
      },
      5s);
  received = client.received().size();
  return all;
}

TEST_F(Backpressure, SuspendUntilDrainBrakesOncePerEpisodeSoReadingGoesOnAfterTheDrain) {
  ManyRepliesServer server(loop, [](ts::TCPSocket& s) { s.suspendUntilDrain(); });
  RawConn client = RawConn::connectTo("127.0.0.1", server.server.localPort());
  std::size_t received = 0;
  ASSERT_TRUE(askAndReadAll(loop, client, 400, received));
  ASSERT_TRUE(runUntil(loop, [&] { return server.drains == 1; })) << "send() never refused";
  // Reading resumed at the drain: the next requests are answered too.
  ASSERT_TRUE(askAndReadAll(loop, client, 400, received)) << "the server stopped reading";
  ASSERT_TRUE(askAndReadAll(loop, client, 1, received)) << "the server stopped reading";
}

// Why suspendUntilDrain() exists: suspend() is counted (docs/reference.md), so a handler that
// suspends on every refused send() and resumes once per drain stops reading for good. The
// reference's counting is kept; this pins it down.
TEST_F(Backpressure, SuspendOnEveryRefusedSendAndResumeAtDrainStallsBecauseSuspendIsCounted) {
  ManyRepliesServer server(loop, [](ts::TCPSocket& s) { s.suspend(); });
  server.onDrain = [](ts::TCPSocket& s) { s.resume(); };
  RawConn client = RawConn::connectTo("127.0.0.1", server.server.localPort());
  std::size_t received = 0;
  ASSERT_TRUE(askAndReadAll(loop, client, 400, received));  // one data event: all are sent
  ASSERT_TRUE(runUntil(loop, [&] { return server.drains == 1; })) << "send() never refused";
  client.writeAll("q");
  runFor(loop, 200ms);
  client.pump();
  EXPECT_EQ(client.received().size(), received) << "a request was read: suspend() not counted?";
}

// With nothing refused there is no drain to wait for, and the call must not stop reading.
TEST_F(Backpressure, SuspendUntilDrainWithNoDrainOwedDoesNothing) {
  ts::TCPServerSocket server = ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"});
  server.onconnect([](const ts::TCPServerSocketEvent& e) {
    e.socket.ondata([](const ts::TCPSocketEvent& d) {
      EXPECT_TRUE(d.target.send(std::get<std::string_view>(d.data)));
      d.target.suspendUntilDrain();
    });
  });
  RawConn client = RawConn::connectTo("127.0.0.1", server.localPort());
  for (const char* line : {"one", "two", "three"}) {
    const std::size_t before = client.received().size();
    client.writeAll(line);
    ASSERT_TRUE(runUntil(loop,
                         [&] {
                           client.pump();
                           return client.received().size() == before + std::string(line).size();
                         }))
        << "reading stopped after '" << line << "'";
  }
}

}  // namespace
}  // namespace test
