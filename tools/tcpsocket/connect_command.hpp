// `tcpsocket connect`: netcat on the public API.
#pragma once

#include "options.hpp"

namespace tcpsocket::cli {

/// Copies stdin to HOST:PORT and the connection to stdout until the peer closes. Returns the exit
/// status; failures are reported as one `tcpsocket: <ErrorName>: ...` line on stderr.
int runConnect(const ConnectOptions& options, bool verbose);

}  // namespace tcpsocket::cli
