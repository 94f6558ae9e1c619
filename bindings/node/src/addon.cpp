#include "addon.hpp"

#include "native_server.hpp"
#include "native_socket.hpp"

namespace tcpsocket_node {

// The loop's descriptor goes into libuv as one uv_poll handle: libuv wakes us when the loop has
// work, and runReady() does it on Node's main thread. The handle is unreferenced while no socket
// or server is live, so an idle addon never keeps the process alive.
Addon::Addon(Napi::Env env) : env_(env), loop_(std::make_unique<tcpsocket::EventLoop>()) {
  uv_loop_t* uv = nullptr;
  NAPI_THROW_IF_FAILED_VOID(env, napi_get_uv_event_loop(env, &uv));
  poll_ = new uv_poll_t;
  poll_->data = this;
  if (uv_poll_init(uv, poll_, loop_->hostDescriptor()) != 0) {
    delete poll_;
    poll_ = nullptr;
    throw Napi::Error::New(env, "tcpsocket: cannot watch the event loop's descriptor");
  }
  uv_poll_start(poll_, UV_READABLE, &Addon::onReadable);
  uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  // Events fired from a listener the loop runs must not be lost to an exception: the JS side
  // reports those itself; anything else is a bug worth seeing.
  loop_->setExceptionHandler([env](std::exception_ptr error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      Napi::HandleScope scope(env);
      napi_fatal_exception(env, Napi::Error::New(env, e.what()).Value());
    }
  });
  napi_async_cleanup_hook_handle handle = nullptr;
  napi_add_async_cleanup_hook(env, &Addon::onTeardown, this, &handle);
}

Addon::~Addon() = default;

tcpsocket::EventLoop& Addon::loop() {
  if (!loop_) throw Napi::Error::New(env_, "tcpsocket: the environment is shutting down");
  return *loop_;
}

void Addon::onReadable(uv_poll_t* handle, int status, int) {
  auto* self = static_cast<Addon*>(handle->data);
  if (status < 0 || !self->loop_) return;
  Napi::HandleScope scope(self->env_);
  self->loop_->runReady();
}

// The environment is going away (process exit, a worker ending): close every socket without
// events (there is no JavaScript left to run them) and give the handle back to libuv, whose loop
// must end with no handle open.
void Addon::onTeardown(napi_async_cleanup_hook_handle handle, void* arg) {
  auto* self = static_cast<Addon*>(arg);
  self->loop_.reset();
  self->dispatch_.Reset();
  self->socketConstructor_.Reset();
  if (self->poll_ == nullptr) {
    napi_remove_async_cleanup_hook(handle);
    return;
  }
  self->poll_->data = handle;
  uv_close(reinterpret_cast<uv_handle_t*>(self->poll_), [](uv_handle_t* h) {
    auto* hook = static_cast<napi_async_cleanup_hook_handle>(h->data);
    delete reinterpret_cast<uv_poll_t*>(h);
    napi_remove_async_cleanup_hook(hook);
  });
  self->poll_ = nullptr;
}

void Addon::retain() {
  if (live_++ == 0 && poll_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
}

void Addon::release() {
  if (live_ > 0 && --live_ == 0 && poll_ != nullptr) {
    uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  }
}

void Addon::dispatch(napi_async_context context, Napi::Object owner, EventKind kind, napi_value a,
                     napi_value b) {
  if (dispatch_.IsEmpty() || !loop_) return;
  napi_value args[3] = {Napi::Number::New(env_, static_cast<int>(kind)), a, b};
  if (args[1] == nullptr) args[1] = env_.Undefined();
  if (args[2] == nullptr) args[2] = env_.Undefined();
  try {
    dispatch_.MakeCallback(owner, 3, args, context);
  } catch (const Napi::Error& e) {
    // The dispatcher reports listener exceptions itself; this is one it could not catch (a
    // stack overflow, say). Node's way: 'uncaughtException', or exit.
    napi_fatal_exception(env_, e.Value());
  }
}

Napi::Value SetDispatch(const Napi::CallbackInfo& info) {
  Addon& addon = *Addon::of(info.Env());
  addon.dispatch_ = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new std::shared_ptr<Addon>(std::make_shared<Addon>(env)));
  Addon& addon = *Addon::of(env);
  Napi::Function socket = NativeSocket::define(env);
  addon.socketConstructor() = Napi::Persistent(socket);
  exports.Set("Socket", socket);
  exports.Set("Server", NativeServer::define(env));
  exports.Set("setDispatch", Napi::Function::New(env, SetDispatch));
  return exports;
}

}  // namespace tcpsocket_node

// NODE_API_MODULE pastes the name into an identifier, so it needs an unqualified one.
static Napi::Object InitTcpsocket(Napi::Env env, Napi::Object exports) {
  return tcpsocket_node::Init(env, exports);
}
NODE_API_MODULE(tcpsocket, InitTcpsocket)
