// The native half of a JavaScript TCPSocket (lib/tcp_socket.js holds one as `_native`).
#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <tcpsocket/tcpsocket.hpp>

namespace tcpsocket_node {

class Addon;

/// JS: `new Socket(owner, host, port, options)` opens a connection; `new Socket(external)` wraps
/// a socket the server accepted, and `setOwner(owner)` then names its JS object. Every event goes
/// to the dispatcher with `this` = owner. The owner is held strongly until `close` has fired
/// (an open socket must not be collected while it can still fire events), weakly after.
class NativeSocket : public Napi::ObjectWrap<NativeSocket> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit NativeSocket(const Napi::CallbackInfo& info);
  ~NativeSocket() override;

 private:
  void attach();
  void setOwnerObject(Napi::Object owner);
  void fire(int kind, napi_value a = nullptr, napi_value b = nullptr, napi_value c = nullptr);
  void released();

  Napi::Value setOwner(const Napi::CallbackInfo& info);
  Napi::Value sendString(const Napi::CallbackInfo& info);
  Napi::Value sendBuffer(const Napi::CallbackInfo& info);
  /// suspend, resume, close, closeImmediately, upgradeToSecure: no arguments, no result.
  template <void (tcpsocket::TCPSocket::*Method)()>
  Napi::Value invoke(const Napi::CallbackInfo& info);
  Napi::Value readyState(const Napi::CallbackInfo& info);
  Napi::Value bufferedAmount(const Napi::CallbackInfo& info);
  Napi::Value ssl(const Napi::CallbackInfo& info);
  Napi::Value host(const Napi::CallbackInfo& info);
  Napi::Value port(const Napi::CallbackInfo& info);

  std::shared_ptr<Addon> addon_;
  tcpsocket::TCPSocket socket_;
  Napi::ObjectReference owner_;
  napi_async_context context_ = nullptr;
  bool retained_ = false;
  static constexpr std::size_t kScratchLimit = 64 * 1024;
  std::u16string scratch_;  // send(string) below kScratchLimit: the code units, before narrowing
};

}  // namespace tcpsocket_node
