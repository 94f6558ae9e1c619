// Reading the small files a user names (manifests, PEM certificates and keys) without trusting
// what the path turns out to be: a FIFO would block the open, /dev/zero would never end, a huge
// file would be held in memory whole.
#pragma once

#include <cstddef>
#include <string>

namespace tcpsocket::detail {

/// The cap on every file read through readBoundedFile(): far above any real manifest or PEM chain.
inline constexpr std::size_t kMaxInputFileBytes = std::size_t{1} << 20;

struct BoundedFile {
  std::string text;     ///< the whole file, when `failure` is empty
  std::string failure;  ///< "PATH: is a directory", "PATH: is larger than 1 MiB", ...
  int error = 0;        ///< the errno when a system call failed (ENOENT, EMFILE...), else 0
};

/// Reads `path` whole if it is a regular file of at most `maxBytes`; never blocks on a FIFO or a
/// device. The checks are made on the opened descriptor, so the path cannot be swapped between
/// them and the read.
BoundedFile readBoundedFile(const std::string& path, std::size_t maxBytes = kMaxInputFileBytes);

}  // namespace tcpsocket::detail
