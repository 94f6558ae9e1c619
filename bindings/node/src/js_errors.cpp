#include "js_errors.hpp"

#include <cstring>
#include <exception>
#include <string>
#include <tcpsocket/errors.hpp>

namespace tcpsocket_node {

namespace {
Napi::Error domException(Napi::Env env, const std::string& message, std::string_view name) {
  Napi::Value ctor = env.Global().Get("DOMException");
  if (ctor.IsFunction()) {
    Napi::Object error = ctor.As<Napi::Function>().New(
        {Napi::String::New(env, message), Napi::String::New(env, std::string(name))});
    return Napi::Error(env, error);
  }
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("name", Napi::String::New(env, std::string(name)));
  return error;
}
}  // namespace

void rethrowAsJs(Napi::Env env) {
  try {
    throw;
  } catch (const tcpsocket::TypeError& e) {
    throw Napi::TypeError::New(env, e.what());
  } catch (const tcpsocket::Error& e) {
    throw domException(env, e.what(), e.name());
  } catch (const std::bad_alloc&) {
    throw Napi::RangeError::New(env, "tcpsocket: out of memory");
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

Napi::Value causeValue(Napi::Env env, const std::error_code& cause) {
  if (!cause) return env.Undefined();
  Napi::Object error = Napi::Error::New(env, cause.message()).Value();
  error.Set("category", cause.category().name());
  error.Set("errno", cause.value());
  if (cause.category() == std::system_category()) {
    if (const char* name = strerrorname_np(cause.value())) error.Set("code", name);
  }
  return error;
}

}  // namespace tcpsocket_node
