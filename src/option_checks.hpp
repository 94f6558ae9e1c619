// The checks every option set passes before a socket or server is made: values the kernel would
// refuse, or that could not work, are a TypeError at the call, never a silent misbehaviour later.
#pragma once

#include <chrono>

#include "tcpsocket/options.hpp"

namespace tcpsocket::detail {

/// Throws TypeError for settings that cannot work: a maxBufferedAmount below the 64 KiB at which
/// send() starts returning false would reset an app that follows send()'s advice to the letter.
void validateConnectionOptions(const ConnectionOptions& options);
/// Throws TypeError unless 0 <= timeout <= kMaxTimeout.
void checkTimeout(std::chrono::milliseconds timeout, const char* name);

}  // namespace tcpsocket::detail
