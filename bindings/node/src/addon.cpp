#include "addon.hpp"

#include <string>

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
  // A C++ exception escaping a listener the loop runs (out of memory building an event, say) is
  // reported as Node reports an uncaught exception. Only the C API here: node-addon-api's error
  // objects abort the process when they cannot be built.
  loop_->setExceptionHandler([this](std::exception_ptr error) {
    std::string what = "tcpsocket: exception in an event listener";
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      what += std::string(": ") + e.what();
    } catch (...) {
    }
    reportUncaught(what);
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
  if (!self->canRunJs()) {
    uv_poll_stop(handle);  // level-triggered: left watching, it would spin until teardown
    return;
  }
  if (status < 0) return;
  napi_handle_scope scope = nullptr;
  if (napi_open_handle_scope(self->env_, &scope) != napi_ok) return;
  self->loop_->runReady();
  napi_close_handle_scope(self->env_, scope);
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

// The C API throughout, each status checked: when a worker is being terminated (or a handler
// called process.exit), every call into JS fails, and node-addon-api would turn the failure into
// an error object it cannot build — a fatal error of the whole process.
void Addon::dispatch(napi_async_context context, Napi::Object owner, EventKind kind, napi_value a,
                     napi_value b, napi_value c) {
  if (dispatch_.IsEmpty() || !canRunJs()) return;
  napi_value undefined = nullptr;
  napi_value args[4] = {nullptr, a, b, c};
  if (napi_get_undefined(env_, &undefined) != napi_ok ||
      napi_create_int32(env_, static_cast<int>(kind), &args[0]) != napi_ok) {
    stopJs();
    return;
  }
  for (napi_value& arg : args) {
    if (arg == nullptr) arg = undefined;
  }
  napi_value result = nullptr;
  if (napi_make_callback(env_, context, owner, dispatch_.Value(), 4, args, &result) != napi_ok) {
    // The dispatcher catches what listeners throw, so this is something it could not catch (a
    // stack overflow) or JavaScript stopping for good.
    callFailed();
  }
}

void Addon::callFailed() noexcept {
  napi_value error = nullptr;
  napi_valuetype type = napi_undefined;
  if (napi_get_and_clear_last_exception(env_, &error) != napi_ok || error == nullptr ||
      napi_typeof(env_, error, &type) != napi_ok || type == napi_undefined ||
      napi_fatal_exception(env_, error) != napi_ok) {
    stopJs();
  }
}

void Addon::stopJs() noexcept {
  jsStopped_ = true;
  if (loop_) loop_->stop();  // the rest of this run's batch would fail the same way
}

void Addon::reportUncaught(const std::string& what) noexcept {
  if (!canRunJs()) return;
  napi_handle_scope scope = nullptr;
  if (napi_open_handle_scope(env_, &scope) != napi_ok) return;
  napi_value message = nullptr;
  napi_value error = nullptr;
  if (napi_create_string_utf8(env_, what.data(), what.size(), &message) != napi_ok ||
      napi_create_error(env_, nullptr, message, &error) != napi_ok ||
      napi_fatal_exception(env_, error) != napi_ok) {
    stopJs();
  }
  napi_close_handle_scope(env_, scope);
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
