// A connected client/accepted-socket pair over a TCPServerSocket on 127.0.0.1, with recorders.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "test_support.hpp"

namespace test {

struct Pair {
  ts::EventLoop& loop;
  ts::TCPServerSocket listener;
  ts::TCPSocket client;
  ts::TCPSocket server;  // the accepted socket
  Recorder clientEvents;
  std::unique_ptr<Recorder> serverEvents;
  int connects = 0;

  explicit Pair(ts::EventLoop& l, ts::BinaryType type = ts::BinaryType::ArrayBuffer,
                const char* address = "127.0.0.1")
      : Pair(l, serverOptions(type, address), clientOptions(type), address) {}

  /// With any options (TLS pairs); the server listens on options.localAddress.
  Pair(ts::EventLoop& l, const ts::ServerSocketOptions& options,
       const ts::SocketOptions& clientOptions, const char* address)
      : loop(l) {
    listener = ts::TCPServerSocket::listen(loop, 0, options);
    listener.onconnect([this](const ts::TCPServerSocketEvent& e) {
      ++connects;
      server = e.socket;
      serverEvents = std::make_unique<Recorder>(server);
    });
    client = ts::TCPSocket::open(loop, address, listener.localPort(), clientOptions);
    clientEvents.attach(client);
  }

  static ts::ServerSocketOptions serverOptions(ts::BinaryType type, const char* address) {
    ts::ServerSocketOptions options;
    options.binaryType = type;
    options.localAddress = address;
    return options;
  }
  static ts::SocketOptions clientOptions(ts::BinaryType type) {
    ts::SocketOptions options;
    options.binaryType = type;
    return options;
  }

  /// Waits for the client's open and the server's connect.
  void waitConnected() {
    ASSERT_TRUE(runUntil(loop, [&] { return clientEvents.has("open") && connects == 1; }));
  }
};

}  // namespace test
