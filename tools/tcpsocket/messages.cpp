#include "messages.hpp"

#include <fcntl.h>

#include <cerrno>
#include <iostream>
#include <tcpsocket/tcp_socket.hpp>

namespace tcpsocket::cli {

namespace {
// One write() per line: stderr is unbuffered, and each << would be a write of its own, which the
// lines of other processes (--workers) could come between.
void writeLine(std::ostream& out, std::string line) {
  line += '\n';
  out << line << std::flush;
}
}  // namespace

void announceListening(const std::string& host, std::uint16_t port, bool onStderr) {
  if (onStderr) {
    writeLine(std::cerr, "tcpsocket: listening on " + hostPort(host, port));
  } else {
    writeLine(std::cout, "listening on " + hostPort(host, port));
  }
}

std::string escapeControls(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte == 0x7f) {
      out += {'\\', 'x', kHex[byte >> 4], kHex[byte & 0xf]};
    } else {
      out += c;
    }
  }
  return out;
}

void keepStandardDescriptorsOpen() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
      ::open("/dev/null", O_RDWR);  // the lowest free number: this one
    }
  }
}

std::string byteCounts(const TCPSocket& socket) {
  return std::to_string(socket.bytesWritten()) + " bytes sent, " +
         std::to_string(socket.bytesRead()) + " bytes received";
}

void printError(std::string_view name, std::string_view what) {
  writeLine(std::cerr, "tcpsocket: " + escapeControls(name) + ": " + escapeControls(what));
}

void VerboseLog::operator()(const std::string& line) const {
  if (enabled_) writeLine(std::cerr, "tcpsocket: " + escapeControls(line));
}

}  // namespace tcpsocket::cli
