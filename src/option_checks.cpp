#include "option_checks.hpp"

#include <string>

#include "tcpsocket/errors.hpp"

namespace tcpsocket::detail {

void validateConnectionOptions(const ConnectionOptions& options) {
  if (options.maxBufferedAmount != 0 && options.maxBufferedAmount < kSendBufferThreshold) {
    throw TypeError(
        "maxBufferedAmount must be 0 (no cap) or at least 65536 (where send() starts "
        "returning false), got " +
        std::to_string(options.maxBufferedAmount));
  }
  // Linux's own limits (MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL, MAX_TCP_KEEPCNT): beyond them the
  // kernel would refuse the option and the connection would silently run without keep-alive.
  if (options.keepAlive.enabled &&
      (options.keepAlive.idle.count() < 1 || options.keepAlive.interval.count() < 1 ||
       options.keepAlive.count < 1 || options.keepAlive.idle.count() > 32767 ||
       options.keepAlive.interval.count() > 32767 || options.keepAlive.count > 127)) {
    throw TypeError("keepAlive needs idle and interval from 1 to 32767 s and count from 1 to 127");
  }
  checkTimeout(options.userTimeout, "userTimeout");
  checkTimeout(options.idleTimeout, "idleTimeout");
}

void checkTimeout(std::chrono::milliseconds timeout, const char* name) {
  if (timeout.count() < 0 || timeout > kMaxTimeout) {
    throw TypeError(std::string(name) + " must be from 0 to " +
                    std::to_string(kMaxTimeout.count()) + " ms, got " +
                    std::to_string(timeout.count()));
  }
}

}  // namespace tcpsocket::detail
