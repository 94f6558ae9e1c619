// One instance of the addon per Node environment (the main thread, each worker thread): the
// tcpsocket EventLoop every socket of that environment belongs to, driven from libuv.
#pragma once

#include <napi.h>
#include <uv.h>

#include <memory>
#include <string>
#include <tcpsocket/tcpsocket.hpp>

namespace tcpsocket_node {

/// Events cross into JavaScript as `dispatch.call(owner, kind, a, b, c)`, one call per event.
enum class EventKind { Open, Data, Drain, Error, Close, Connect, ServerError };

class Addon {
 public:
  explicit Addon(Napi::Env env);
  ~Addon();
  Addon(const Addon&) = delete;
  Addon& operator=(const Addon&) = delete;

  /// Sockets and servers hold the addon by shared_ptr: at teardown Node may finalize them after
  /// the environment's instance data is gone.
  static const std::shared_ptr<Addon>& of(Napi::Env env) {
    return *env.GetInstanceData<std::shared_ptr<Addon>>();
  }

  /// Throws Napi::Error once the environment is shutting down.
  tcpsocket::EventLoop& loop();
  Napi::FunctionReference& socketConstructor() noexcept { return socketConstructor_; }

  /// Calls the JS dispatcher for one event, the way Node calls back for I/O: in its own callback
  /// scope (microtasks and nextTick run after it), with an exception reported as uncaught.
  void dispatch(napi_async_context context, Napi::Object owner, EventKind kind,
                napi_value a = nullptr, napi_value b = nullptr, napi_value c = nullptr);

  /// False once JavaScript can no longer run here (a worker being terminated, or exiting from
  /// inside a handler): events are then dropped, and nothing may build a JS value.
  bool canRunJs() const noexcept { return loop_ && !jsStopped_; }
  /// After a call into JS failed: reports its exception as uncaught, or, when there is none to
  /// report (JavaScript is stopping), stops delivering events.
  void callFailed() noexcept;

  /// Sockets not yet closed and servers still listening: while there is one, libuv's loop is kept
  /// alive; with none, the process may exit.
  void retain();
  void release();

 private:
  static void onReadable(uv_poll_t* handle, int status, int events);
  void stopJs() noexcept;
  void reportUncaught(const std::string& what) noexcept;
  static void onTeardown(napi_async_cleanup_hook_handle handle, void* self);

  Napi::Env env_;
  std::unique_ptr<tcpsocket::EventLoop> loop_;
  Napi::FunctionReference dispatch_;
  Napi::FunctionReference socketConstructor_;
  uv_poll_t* poll_ = nullptr;  // freed by uv_close's callback
  std::size_t live_ = 0;
  bool jsStopped_ = false;

  friend Napi::Value SetDispatch(const Napi::CallbackInfo& info);
};

}  // namespace tcpsocket_node
