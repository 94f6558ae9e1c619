// Socket options behind ConnectionOptions (TCP_NODELAY, keepalive, TCP_USER_TIMEOUT) and the
// abortive close (SO_LINGER 0), through the syscall seam.
#pragma once

#include "tcpsocket/options.hpp"

namespace tcpsocket::detail {

/// Throws TypeError for settings that cannot work: a maxBufferedAmount below the 64 KiB at which
/// send() starts returning false would reset an app that follows send()'s advice to the letter.
void validateConnectionOptions(const ConnectionOptions& options);
/// Throws TypeError unless 0 <= timeout <= kMaxTimeout.
void checkTimeout(std::chrono::milliseconds timeout, const char* name);

/// Applies what the options ask of the kernel. Failures are ignored on purpose: a setting the
/// kernel refuses (e.g. on a socket the peer already reset) must not turn into a second error.
void applyConnectionOptions(int fd, const ConnectionOptions& options) noexcept;

/// Makes the next close() of `fd` send RST instead of FIN, discarding unsent data.
void resetOnClose(int fd) noexcept;

}  // namespace tcpsocket::detail
