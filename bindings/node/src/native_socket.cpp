#include "native_socket.hpp"

#include <cstring>

#include "addon.hpp"
#include "js_errors.hpp"
#include "js_options.hpp"

namespace tcpsocket_node {

Napi::Function NativeSocket::define(Napi::Env env) {
  return DefineClass(
      env, "NativeSocket",
      {
          InstanceMethod("setOwner", &NativeSocket::setOwner),
          InstanceMethod("sendString", &NativeSocket::sendString),
          InstanceMethod("sendBuffer", &NativeSocket::sendBuffer),
          InstanceMethod("suspend", &NativeSocket::invoke<&tcpsocket::TCPSocket::suspend>),
          InstanceMethod("resume", &NativeSocket::invoke<&tcpsocket::TCPSocket::resume>),
          InstanceMethod("close", &NativeSocket::invoke<&tcpsocket::TCPSocket::close>),
          InstanceMethod("closeImmediately",
                         &NativeSocket::invoke<&tcpsocket::TCPSocket::closeImmediately>),
          InstanceMethod("upgradeToSecure",
                         &NativeSocket::invoke<&tcpsocket::TCPSocket::upgradeToSecure>),
          InstanceMethod("readyState", &NativeSocket::readyState),
          InstanceMethod("bufferedAmount", &NativeSocket::bufferedAmount),
          InstanceMethod("ssl", &NativeSocket::ssl),
          InstanceMethod("host", &NativeSocket::host),
          InstanceMethod("port", &NativeSocket::port),
      });
}

NativeSocket::NativeSocket(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<NativeSocket>(info), addon_(Addon::of(info.Env())) {
  Napi::Env env = info.Env();
  Addon& addon = *addon_;
  guarded(env, [&] {
    if (info.Length() == 1 && info[0].IsExternal()) {
      socket_ = *info[0].As<Napi::External<tcpsocket::TCPSocket>>().Data();
    } else {
      // Checked before anything opens: a connection nobody owns could never be closed.
      if (!info[0].IsObject() || !info[1].IsString() || !info[2].IsNumber() ||
          !info[3].IsObject()) {
        throw Napi::TypeError::New(env, "NativeSocket(owner, host, port, options)");
      }
      const std::string host = info[1].ToString().Utf8Value();
      const auto port = static_cast<std::uint16_t>(info[2].ToNumber().Uint32Value());
      socket_ = tcpsocket::TCPSocket::open(addon.loop(), host, port,
                                           socketOptions(info[3].As<Napi::Object>()));
      setOwnerObject(info[0].As<Napi::Object>());
    }
  });
  attach();
  addon.retain();
  retained_ = true;
}

NativeSocket::~NativeSocket() {
  // A collected wrapper belongs to a closed socket (the owner is held while open), or the
  // environment is going away; either way no listener may call into this object again.
  try {
    socket_.onopen(nullptr);
    socket_.ondata(nullptr);
    socket_.ondrain(nullptr);
    socket_.onerror(nullptr);
    socket_.onclose(nullptr);
  } catch (...) {
  }
  released();
  if (context_ != nullptr) napi_async_destroy(Env(), context_);
}

void NativeSocket::released() {
  if (!retained_) return;
  retained_ = false;
  addon_->release();
}

void NativeSocket::setOwnerObject(Napi::Object owner) {
  owner_ = Napi::Persistent(owner);
  Napi::Env env = Env();
  if (context_ == nullptr) {
    napi_async_init(env, owner, Napi::String::New(env, "TCPSocket"), &context_);
  }
}

void NativeSocket::fire(int kind, napi_value a, napi_value b, napi_value c) {
  if (owner_.IsEmpty()) return;
  addon_->dispatch(context_, owner_.Value(), static_cast<EventKind>(kind), a, b, c);
}

// Each listener first checks that JS can still run: once a worker is being terminated, building
// a JS value may fail, and node-addon-api would make that failure fatal.
void NativeSocket::attach() {
  using tcpsocket::TCPSocketEvent;
  socket_.onopen([this](const TCPSocketEvent&) {
    if (!addon_->canRunJs()) return;
    Napi::HandleScope scope(Env());
    fire(static_cast<int>(EventKind::Open));
  });
  socket_.ondata([this](const TCPSocketEvent& e) {
    if (!addon_->canRunJs()) return;
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    napi_value data = nullptr;
    if (const auto* text = std::get_if<std::string_view>(&e.data)) {
      napi_create_string_latin1(env, text->data(), text->size(), &data);
    } else if (const auto* bytes = std::get_if<tcpsocket::ArrayBuffer>(&e.data)) {
      auto buffer = Napi::ArrayBuffer::New(env, bytes->size());
      if (!bytes->empty()) std::memcpy(buffer.Data(), bytes->data(), bytes->size());
      data = buffer;
    }
    fire(static_cast<int>(EventKind::Data), data);
  });
  socket_.ondrain([this](const TCPSocketEvent&) {
    if (!addon_->canRunJs()) return;
    Napi::HandleScope scope(Env());
    fire(static_cast<int>(EventKind::Drain));
  });
  socket_.onerror([this](const TCPSocketEvent& e) {
    if (!addon_->canRunJs()) return;
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    fire(static_cast<int>(EventKind::Error), Napi::String::New(env, std::string(e.name)),
         Napi::String::New(env, std::string(e.message)), causeValue(env, e.cause));
  });
  socket_.onclose([this](const TCPSocketEvent&) {
    if (!addon_->canRunJs()) {
      released();
      return;
    }
    Napi::HandleScope scope(Env());
    fire(static_cast<int>(EventKind::Close));
    // Nothing fires after close: the JS object may now be collected with this one.
    if (!owner_.IsEmpty()) owner_.Unref();
    released();
  });
}

Napi::Value NativeSocket::setOwner(const Napi::CallbackInfo& info) {
  if (!info[0].IsObject()) throw Napi::TypeError::New(info.Env(), "setOwner(object)");
  setOwnerObject(info[0].As<Napi::Object>());
  return info.Env().Undefined();
}

// The reference's ByteString: each UTF-16 code unit one byte, a unit above 0xFF a TypeError
// (TCPSocket::send(u16string_view) checks and narrows).
Napi::Value NativeSocket::sendString(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  napi_value value = info[0];
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "sendString(string)");
  std::size_t length = 0;
  NAPI_THROW_IF_FAILED(env, napi_get_value_string_utf16(env, value, nullptr, 0, &length),
                       Napi::Value());
  // Small strings reuse the socket's buffer; a large one gets its own, freed however send ends
  // (a rejected 100 MB string must not stay behind in the socket).
  std::u16string large;
  std::u16string& units = length < kScratchLimit ? scratch_ : large;
  units.resize(length + 1);
  NAPI_THROW_IF_FAILED(env,
                       napi_get_value_string_utf16(env, value, units.data(), length + 1, &length),
                       Napi::Value());
  const bool sent =
      guarded(env, [&] { return socket_.send(std::u16string_view(units.data(), length)); });
  return Napi::Boolean::New(env, sent);
}

// send(ArrayBuffer, byteOffset, byteLength?): index.js has converted the numbers the WebIDL way;
// the library clamps the range as the reference does and counts the unclamped length.
Napi::Value NativeSocket::sendBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArrayBuffer()) throw Napi::TypeError::New(env, "sendBuffer(ArrayBuffer, ...)");
  auto buffer = info[0].As<Napi::ArrayBuffer>();
  const tcpsocket::ArrayBuffer bytes(static_cast<const std::uint8_t*>(buffer.Data()),
                                     buffer.ByteLength());
  const auto offset = info[1].ToNumber().Uint32Value();
  std::optional<std::uint32_t> length;
  if (!info[2].IsUndefined()) length = info[2].ToNumber().Uint32Value();
  return Napi::Boolean::New(env, guarded(env, [&] { return socket_.send(bytes, offset, length); }));
}

template <void (tcpsocket::TCPSocket::*Method)()>
Napi::Value NativeSocket::invoke(const Napi::CallbackInfo& info) {
  guarded(info.Env(), [&] { (socket_.*Method)(); });
  return info.Env().Undefined();
}

Napi::Value NativeSocket::readyState(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), std::string(tcpsocket::toString(socket_.readyState())));
}

Napi::Value NativeSocket::bufferedAmount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(socket_.bufferedAmount()));
}

Napi::Value NativeSocket::ssl(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), socket_.ssl());
}

Napi::Value NativeSocket::host(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), socket_.host());
}

Napi::Value NativeSocket::port(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), socket_.port());
}

}  // namespace tcpsocket_node
