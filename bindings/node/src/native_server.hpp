// The native half of a JavaScript TCPServerSocket (lib/tcp_server_socket.js).
#pragma once

#include <napi.h>

#include <memory>
#include <tcpsocket/tcpsocket.hpp>

namespace tcpsocket_node {

class Addon;

/// JS: `new Server(owner, port, options, backlog)` listens at once (a failure throws). Each
/// accepted connection is handed to the dispatcher as a new native Socket (see NativeSocket);
/// the owner is held strongly while listening.
class NativeServer : public Napi::ObjectWrap<NativeServer> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit NativeServer(const Napi::CallbackInfo& info);
  ~NativeServer() override;

 private:
  void stopListening();
  Napi::Value close(const Napi::CallbackInfo& info);
  Napi::Value localPort(const Napi::CallbackInfo& info);
  Napi::Value stats(const Napi::CallbackInfo& info);

  std::shared_ptr<Addon> addon_;
  tcpsocket::TCPServerSocket server_;
  Napi::ObjectReference owner_;
  napi_async_context context_ = nullptr;
  bool listening_ = false;
};

}  // namespace tcpsocket_node
