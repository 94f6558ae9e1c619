// Reads a descriptor (stdin, a child's stdout) on the loop's thread, through
// EventLoop::watchDescriptor: no helper thread. A consumer that cannot take more calls pause(),
// and nothing more is read until resume(), so input is never read faster than it is taken.
#pragma once

#include <functional>
#include <memory>
#include <string_view>
#include <tcpsocket/event_loop.hpp>

namespace tcpsocket::cli {

class FdReader {
 public:
  struct Handlers {
    std::function<void(std::string_view)> chunk;  ///< bytes read (valid during the call only)
    std::function<void()> end;                    ///< end of input; no more calls
    std::function<void(int err)> error;           ///< a read failed (errno); no more calls
  };

  /// Starts reading `fd` (which stays the caller's) at once. Handlers run on the loop's thread,
  /// never after the reader is destroyed, and may destroy it.
  FdReader(EventLoop& loop, int fd, Handlers handlers);
  ~FdReader();
  FdReader(const FdReader&) = delete;
  FdReader& operator=(const FdReader&) = delete;

  void pause();
  void resume();

 private:
  struct State;
  void watch();
  std::shared_ptr<State> state_;
};

}  // namespace tcpsocket::cli
