// Library exceptions as JavaScript ones: a TypeError for ErrorKind::Type, otherwise a
// DOMException named after the kind ("InvalidStateError", "AddressInUseError", ...), the shape a
// web API throws.
#pragma once

#include <napi.h>

#include <system_error>
#include <utility>

namespace tcpsocket_node {

/// Runs `fn`, turning any library or standard exception it throws into a JS exception.
template <class Fn>
auto guarded(Napi::Env env, Fn&& fn) -> decltype(fn());

[[noreturn]] void rethrowAsJs(Napi::Env env);

/// The cause of an error event as a JS Error (undefined when there is none): `message` is the
/// cause's own text, `category` the layer ("system", "netdb", "addrinfo", "openssl", "x509"),
/// `errno` its number, and for system errors `code` its name ("ECONNRESET"), as Node's own
/// errors have.
Napi::Value causeValue(Napi::Env env, const std::error_code& cause);

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
