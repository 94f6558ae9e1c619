// What the tests of how connections end (drain, linger, connection limits) need to see: on
// loopback the kernel's buffers swallow whole what a real network would leave queued, and a
// socket the process has let go of is invisible to it. So: a peer with a real network's small
// window, an echo server that brakes as the CLI's does, and probes of what the kernel still holds.
#pragma once

#include <cstdint>
#include <string>

#include "support/test_support.hpp"

namespace test {

/// An echo server whose handler brakes with suspend/resume, as the CLI's does.
void echoWithBackpressure(ts::TCPServerSocket& server);

/// A client that looks like one across a real network (small segments, a small receive window):
/// on loopback the kernel's buffers would otherwise swallow what these tests need to see queued.
RawConn connectSmallWindow(std::uint16_t port);

/// Sockets in this network namespace with local port `port` in TCP state `state` ("09": LAST_ACK),
/// as /proc/net/tcp lists them: orphans the process let go of are there too.
int socketsOnPort(std::uint16_t port, const std::string& state);

/// Waits for the error a reset leaves on a socket, seen without reading from it (reading would be
/// progress). ECONNRESET, or EPIPE once the peer had read our FIN.
int awaitReset(ts::EventLoop& loop, int fd);

}  // namespace test
