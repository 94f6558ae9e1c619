#include "messages.hpp"

#include <iostream>

namespace tcpsocket::cli {

std::string hostPort(const std::string& host, std::uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

void announceListening(const std::string& host, std::uint16_t port) {
  std::cout << "listening on " << hostPort(host, port) << std::endl;
}

void printError(std::string_view name, std::string_view what) {
  std::cerr << "tcpsocket: " << name << ": " << what << std::endl;
}

void VerboseLog::operator()(const std::string& line) const {
  if (enabled_) std::cerr << "tcpsocket: " << line << std::endl;
}

}  // namespace tcpsocket::cli
