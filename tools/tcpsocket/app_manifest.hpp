// --manifest FILE: run a command under the policy of a Firefox OS app manifest.
#pragma once

#include <string>
#include <tcpsocket/event_loop.hpp>

namespace tcpsocket::cli {

/// Attaches the manifest's policy to `loop`; nothing for an empty path. Throws ManifestError
/// (bad file) — never falls back to full trust.
void applyManifest(EventLoop& loop, const std::string& path);

}  // namespace tcpsocket::cli
