// The tool's few output conventions, shared by its commands: addresses as HOST:PORT ([v6]:PORT,
// tcpsocket::hostPort), error lines `tcpsocket: <ErrorName>: <what>`, and --verbose logging to
// stderr.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tcpsocket/address.hpp"
#include "tcpsocket/tcp_socket_fwd.hpp"

namespace tcpsocket::cli {

/// The one stdout line of `listen`: "listening on HOST:PORT", flushed. On stderr, where stdout
/// carries data (listen --mode stdio), as "tcpsocket: listening on HOST:PORT".
void announceListening(const std::string& host, std::uint16_t port, bool onStderr = false);

/// `text` with every control character (bytes below 0x20, and 0x7f) written as \n, \r, \t or
/// \xNN, and a backslash as \\: a host name, path or peer-supplied text can neither break a line
/// in two nor move the terminal's cursor.
std::string escapeControls(std::string_view text);

/// Started with stdin, stdout or stderr closed (`>&-`), the first descriptor the program opens
/// would take its number, and the ready line or log lines would be written into it: /dev/null
/// takes each closed one instead.
void keepStandardDescriptorsOpen();

/// "N bytes sent, M bytes received": what --verbose says of a connection at its end, as ncat.
std::string byteCounts(const TCPSocket& socket);

/// One error line on stderr, the contract scripts rely on: exactly one line, whatever `name` and
/// `what` contain (see escapeControls).
void printError(std::string_view name, std::string_view what);

/// `tcpsocket: <line>` on stderr, only with --verbose; one line, escaped as printError's.
class VerboseLog {
 public:
  explicit VerboseLog(bool enabled) : enabled_(enabled) {}
  void operator()(const std::string& line) const;
  /// Whether lines are written: check it before composing a line whose parts cost memory (a
  /// socket's host() is made on first use and kept).
  bool enabled() const noexcept { return enabled_; }

 private:
  bool enabled_;
};

}  // namespace tcpsocket::cli
