// The tool's few output conventions, shared by its commands: addresses as HOST:PORT ([v6]:PORT),
// error lines `tcpsocket: <ErrorName>: <what>`, and --verbose logging to stderr.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tcpsocket::cli {

std::string hostPort(const std::string& host, std::uint16_t port);

/// The one stdout line of `listen`: "listening on HOST:PORT", flushed.
void announceListening(const std::string& host, std::uint16_t port);

/// One error line on stderr, the contract scripts rely on.
void printError(std::string_view name, std::string_view what);

/// `tcpsocket: <line>` on stderr, only with --verbose.
class VerboseLog {
 public:
  explicit VerboseLog(bool enabled) : enabled_(enabled) {}
  void operator()(const std::string& line) const;

 private:
  bool enabled_;
};

}  // namespace tcpsocket::cli
