#include "js_errors.hpp"

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

}  // namespace tcpsocket_node
