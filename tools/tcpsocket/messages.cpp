#include "messages.hpp"

#include <fcntl.h>

#include <cerrno>
#include <iostream>
#include <tcpsocket/tcp_socket.hpp>

namespace tcpsocket::cli {

void announceListening(const std::string& host, std::uint16_t port, bool onStderr) {
  if (onStderr) {
    std::cerr << "tcpsocket: listening on " << hostPort(host, port) << std::endl;
  } else {
    std::cout << "listening on " << hostPort(host, port) << std::endl;
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
  std::cerr << "tcpsocket: " << escapeControls(name) << ": " << escapeControls(what) << std::endl;
}

void VerboseLog::operator()(const std::string& line) const {
  if (enabled_) std::cerr << "tcpsocket: " << escapeControls(line) << std::endl;
}

}  // namespace tcpsocket::cli
