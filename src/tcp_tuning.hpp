// Socket options behind ConnectionOptions (TCP_NODELAY, keepalive, TCP_USER_TIMEOUT) and the
// abortive close (SO_LINGER 0), through the syscall seam. Checking the options is
// option_checks.hpp.
#pragma once

#include "tcpsocket/options.hpp"

namespace tcpsocket::detail {

/// Applies what the options ask of the kernel. Failures are ignored on purpose: a setting the
/// kernel refuses (e.g. on a socket the peer already reset) must not turn into a second error.
void applyConnectionOptions(int fd, const ConnectionOptions& options) noexcept;

/// Makes the next close() of `fd` send RST instead of FIN, discarding unsent data.
void resetOnClose(int fd) noexcept;

}  // namespace tcpsocket::detail
