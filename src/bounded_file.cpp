#include "bounded_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tcpsocket::detail {
namespace {

class Descriptor {
 public:
  explicit Descriptor(int fd) noexcept : fd_(fd) {}
  ~Descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

std::string sizeText(std::size_t bytes) {
  constexpr std::size_t kMiB = std::size_t{1} << 20;
  if (bytes % kMiB == 0) return std::to_string(bytes / kMiB) + " MiB";
  return std::to_string(bytes) + " bytes";
}

// "cannot read: <reason>", with the errno kept for the caller.
std::string cannotRead(int& error) {
  error = errno;
  return std::string("cannot read: ") + std::strerror(error);
}

// Why the descriptor's file must not be read, or empty.
std::string refusal(int fd, std::size_t maxBytes, int& error) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return cannotRead(error);
  if (S_ISDIR(st.st_mode)) return "is a directory";
  if (!S_ISREG(st.st_mode)) return "is not a regular file";
  if (static_cast<std::size_t>(st.st_size) > maxBytes)
    return "is larger than " + sizeText(maxBytes);
  return {};
}

// Reads to the end, keeping at most maxBytes: fstat's size is not the last word (the file may grow
// after it, and files such as those in /proc report 0).
std::string readAll(int fd, std::size_t maxBytes, std::string& text, int& error) {
  char buffer[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) return {};
    if (n < 0) {
      if (errno == EINTR) continue;
      return cannotRead(error);
    }
    if (text.size() + static_cast<std::size_t>(n) > maxBytes) {
      return "is larger than " + sizeText(maxBytes);
    }
    text.append(buffer, static_cast<std::size_t>(n));
  }
}

}  // namespace

BoundedFile readBoundedFile(const std::string& path, std::size_t maxBytes) {
  BoundedFile result;
  // A NUL would end the name the system sees early: "/etc/passwd\0.webapp" must not read
  // /etc/passwd.
  if (path.find('\0') != std::string::npos) {
    result.failure = "a file name containing a NUL character";
    return result;
  }
  // O_NONBLOCK: opening a FIFO without a writer would otherwise wait for one, forever.
  const Descriptor fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  std::string why =
      fd.get() < 0 ? cannotRead(result.error) : refusal(fd.get(), maxBytes, result.error);
  if (why.empty()) why = readAll(fd.get(), maxBytes, result.text, result.error);
  if (!why.empty()) {
    result.text.clear();
    result.failure = path + ": " + why;
  }
  return result;
}

}  // namespace tcpsocket::detail
