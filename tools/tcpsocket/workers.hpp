// `tcpsocket listen --workers N`: N processes share one port through SO_REUSEPORT, each running
// its own loop (as nginx workers do); this process supervises them.
#pragma once

#include "options.hpp"

namespace tcpsocket::cli {

/// Reserves the port, starts the workers, prints the "listening on" line once every worker
/// listens, and on SIGINT/SIGTERM stops them all (each drains as a single server does). Returns
/// the exit status: 0, or 1 if a worker failed (its error line is its own).
int runWorkers(const ListenOptions& options, bool verbose);

}  // namespace tcpsocket::cli
