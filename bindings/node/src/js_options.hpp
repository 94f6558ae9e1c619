// Option objects from JavaScript. index.js has already checked and normalised them
// (lib/options.js): here each known field is read if present, with the C++ defaults otherwise.
#pragma once

#include <napi.h>

#include <tcpsocket/options.hpp>

namespace tcpsocket_node {

tcpsocket::SocketOptions socketOptions(Napi::Object js);
tcpsocket::ServerSocketOptions serverOptions(Napi::Object js);

}  // namespace tcpsocket_node
