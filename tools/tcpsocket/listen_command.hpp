#pragma once

#include "options.hpp"

namespace tcpsocket::cli {
/// Runs `tcpsocket listen`; returns the exit status. Throws tcpsocket::Error for listen failures.
int runListen(const ListenOptions& options, bool verbose);
}  // namespace tcpsocket::cli
