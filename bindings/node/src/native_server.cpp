#include "native_server.hpp"

#include "addon.hpp"
#include "js_errors.hpp"
#include "js_options.hpp"

namespace tcpsocket_node {

Napi::Function NativeServer::define(Napi::Env env) {
  return DefineClass(env, "NativeServer",
                     {
                         InstanceMethod("close", &NativeServer::close),
                         InstanceMethod("localPort", &NativeServer::localPort),
                         InstanceMethod("stats", &NativeServer::stats),
                     });
}

NativeServer::NativeServer(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<NativeServer>(info), addon_(Addon::of(info.Env())) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject() || !info[1].IsNumber() || !info[2].IsObject() || !info[3].IsNumber()) {
    throw Napi::TypeError::New(env, "NativeServer(owner, port, options, backlog)");
  }
  const auto port = static_cast<std::uint16_t>(info[1].ToNumber().Uint32Value());
  const auto backlog = static_cast<std::uint16_t>(info[3].ToNumber().Uint32Value());
  server_ = guarded(env, [&] {
    return tcpsocket::TCPServerSocket::listen(addon_->loop(), port,
                                              serverOptions(info[2].As<Napi::Object>()), backlog);
  });
  Napi::Object owner = info[0].As<Napi::Object>();
  owner_ = Napi::Persistent(owner);
  napi_async_init(env, owner, Napi::String::New(env, "TCPServerSocket"), &context_);
  listening_ = true;
  addon_->retain();

  server_.onconnect([this](const tcpsocket::TCPServerSocketEvent& e) {
    if (!addon_->canRunJs()) return;
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    // The constructor runs JS, so the C API with its status: see Addon::dispatch.
    napi_value external = Napi::External<tcpsocket::TCPSocket>::New(env, &e.socket);
    napi_value native = nullptr;
    if (napi_new_instance(env, addon_->socketConstructor().Value(), 1, &external, &native) !=
        napi_ok) {
      addon_->callFailed();
      e.socket.closeImmediately();  // nobody can ever see it
      return;
    }
    addon_->dispatch(context_, owner_.Value(), EventKind::Connect, native);
  });
  server_.onerror([this](const tcpsocket::TCPServerSocketEvent& e) {
    if (!addon_->canRunJs()) return;
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    addon_->dispatch(context_, owner_.Value(), EventKind::ServerError,
                     Napi::String::New(env, std::string(e.name)),
                     Napi::String::New(env, std::string(e.message)), causeValue(env, e.cause));
  });
}

NativeServer::~NativeServer() {
  try {
    server_.onconnect(nullptr);
    server_.onerror(nullptr);
  } catch (...) {
  }
  if (listening_) addon_->release();
  if (context_ != nullptr) napi_async_destroy(Env(), context_);
}

// A closed server fires nothing more, so its JS object may be collected.
void NativeServer::stopListening() {
  if (!listening_) return;
  listening_ = false;
  owner_.Unref();
  addon_->release();
}

Napi::Value NativeServer::close(const Napi::CallbackInfo& info) {
  guarded(info.Env(), [&] { server_.close(); });
  stopListening();
  return info.Env().Undefined();
}

Napi::Value NativeServer::localPort(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), server_.localPort());
}

Napi::Value NativeServer::stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const tcpsocket::ServerStats s = server_.stats();
  Napi::Object out = Napi::Object::New(env);
  out.Set("accepted", Napi::Number::New(env, static_cast<double>(s.accepted)));
  out.Set("open", Napi::Number::New(env, s.open));
  out.Set("refusedPerAddress", Napi::Number::New(env, static_cast<double>(s.refusedPerAddress)));
  out.Set("pausesAtLimit", Napi::Number::New(env, static_cast<double>(s.pausesAtLimit)));
  out.Set("descriptorBackoffs", Napi::Number::New(env, static_cast<double>(s.descriptorBackoffs)));
  out.Set("handshakeFailures", Napi::Number::New(env, static_cast<double>(s.handshakeFailures)));
  out.Set("paused", Napi::Boolean::New(env, s.paused));
  return out;
}

}  // namespace tcpsocket_node
