// Handlers that tear everything down from inside every event: close, closeImmediately or abort
// their own socket, close its server and drop the last handle to the socket, from inside open,
// data, drain, error and close. No event may follow `close`, nothing may be used after it is
// freed, and no descriptor may leak: apps do exactly this, and it is where lifetimes break.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "support/loop_fixture.hpp"

namespace test {
namespace {

using ReentrantClose = LoopFixture;

TEST_F(ReentrantClose, HandlersMayCloseTheirSocketAndServerFromInsideEveryEvent) {
  ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"}).close();  // the reactor's fds
  runFor(loop, 10ms);
  const int fdsBefore = openFdCount();
  using T = ts::SocketEventType;
  for (const std::string how : {"close", "closeImmediately", "abort"}) {
    for (const T type : {T::Open, T::Data, T::Drain, T::Error, T::Close}) {
      SCOPED_TRACE(how + " from inside " + std::string(ts::toString(type)));
      int closes = 0;
      int afterClose = 0;
      {
        auto server = std::make_shared<ts::TCPServerSocket>(
            ts::TCPServerSocket::listen(loop, 0, {.localAddress = "127.0.0.1"}));
        server->onconnect([server, type](const ts::TCPServerSocketEvent& e) {
          server->close();  // the server closes itself from inside `connect`
          if (type == T::Data) e.socket.send(std::string_view("hello"));
          if (type == T::Error) e.socket.abort();  // the client gets NetworkError
          if (type == T::Close) e.socket.close();  // the client gets its peer's FIN
        });
        auto client = ts::TCPSocket::open(loop, "127.0.0.1", server->localPort());
        if (type == T::Drain) {
          client.onopen([](const ts::TCPSocketEvent& e) { e.target.send(randomBytes(300000, 7)); });
        }
        auto ownHandle = std::make_shared<ts::TCPSocket>(client);
        client.addEventListener(
            type, [ownHandle, how, server](const ts::TCPSocketEvent& e) mutable {
              if (how == "close") e.target.close();
              if (how == "closeImmediately") e.target.closeImmediately();
              if (how == "abort") e.target.abort();
              server->close();
              ownHandle.reset();  // drops a handle to itself from inside its own event
            });
        auto closed = std::make_shared<bool>(false);
        for (const T t : {T::Open, T::Data, T::Drain, T::Error, T::Close}) {
          client.addEventListener(t, [closed, &closes, &afterClose](const ts::TCPSocketEvent& e) {
            if (*closed) ++afterClose;
            if (e.type == T::Close) {
              *closed = true;
              ++closes;
            }
          });
        }
      }  // every outside handle is gone: the socket lives on its own until its close
      EXPECT_TRUE(runUntil(
          loop, [&] { return closes == 1; }, 5000ms));
      runFor(loop, 20ms);
      EXPECT_EQ(closes, 1);
      EXPECT_EQ(afterClose, 0);
      EXPECT_TRUE(runUntil(
          loop, [&] { return openFdCount() <= fdsBefore; }, 5000ms))
          << openFdCount() << " fds, before: " << fdsBefore;
    }
  }
}

}  // namespace
}  // namespace test
