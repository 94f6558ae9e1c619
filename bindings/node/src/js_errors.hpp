// Library exceptions as JavaScript ones: a TypeError for ErrorKind::Type, otherwise a
// DOMException named after the kind ("InvalidStateError", "AddressInUseError", ...), the shape a
// web API throws.
#pragma once

#include <napi.h>

#include <utility>

namespace tcpsocket_node {

/// Runs `fn`, turning any library or standard exception it throws into a JS exception.
template <class Fn>
auto guarded(Napi::Env env, Fn&& fn) -> decltype(fn());

[[noreturn]] void rethrowAsJs(Napi::Env env);

template <class Fn>
auto guarded(Napi::Env env, Fn&& fn) -> decltype(fn()) {
  try {
    return std::forward<Fn>(fn)();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    rethrowAsJs(env);
  }
}

}  // namespace tcpsocket_node
