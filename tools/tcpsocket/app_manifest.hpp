// --manifest FILE: run a command under the policy of a Firefox OS app manifest.
#pragma once

#include <cstdint>
#include <string>
#include <tcpsocket/event_loop.hpp>

namespace tcpsocket::cli {

/// Attaches the manifest's policy to `loop`; nothing for an empty path. Throws ManifestError
/// (bad file) — never falls back to full trust.
void applyManifest(EventLoop& loop, const std::string& path);

/// Throws ManifestError or SecurityError unless the manifest at `path` (if any) allows listening
/// on host:port — for checking once, before starting workers that would each say it.
void checkListenAllowed(const std::string& path, const std::string& host, std::uint16_t port);

}  // namespace tcpsocket::cli
