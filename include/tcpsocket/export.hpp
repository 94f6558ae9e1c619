// What the shared library exports: the public API, marked with TCPSOCKET_API. The library is
// built with hidden visibility, so its internals (and the Asio, OpenSSL and JSON code it
// contains) are not part of its ABI and cannot clash with a program's own copies.
#pragma once

#define TCPSOCKET_API __attribute__((visibility("default")))
