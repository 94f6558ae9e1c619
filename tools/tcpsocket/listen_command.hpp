#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "options.hpp"

namespace tcpsocket::cli {
/// Runs `tcpsocket listen`; returns the exit status. Throws tcpsocket::Error for listen failures.
int runListen(const ListenOptions& options, bool verbose);

/// Told the address and port once the server listens.
using ReadyCallback = std::function<void(const std::string& host, std::uint16_t port)>;

/// The server (one loop per --threads) until SIGINT/SIGTERM or a handover; `ready` runs once it
/// listens. Throws tcpsocket::Error for listen failures.
int serve(const ListenOptions& options, bool verbose, const ReadyCallback& ready);
}  // namespace tcpsocket::cli
