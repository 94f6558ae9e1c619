#pragma once

#include <cstdint>
#include <functional>

#include "options.hpp"

namespace tcpsocket::cli {
/// Runs `tcpsocket listen`; returns the exit status. Throws tcpsocket::Error for listen failures.
int runListen(const ListenOptions& options, bool verbose);

/// One server on one loop until SIGINT/SIGTERM; `ready(port)` runs once it listens. Throws
/// tcpsocket::Error for listen failures.
int serve(const ListenOptions& options, bool verbose,
          const std::function<void(std::uint16_t)>& ready);
}  // namespace tcpsocket::cli
