// Joins a socket to a pair of descriptors, the way netcat does: what is read from `input` (stdin,
// a program's stdout) is sent; what arrives is written to `output` (stdout, a program's stdin).
// Both directions have a brake: send()'s false pauses reading `input` until `drain`; a full
// `output` suspends the socket until it has drained.
//
// Each direction ends on its own, so the socket must allow half-open connections
// (ConnectionOptions::allowHalfOpen): the end of `input` half-closes the socket; the peer's FIN
// (`end`) ends `output` once it has everything. The socket's `open`, `error` and `close` stay
// the owner's; the relay adds its own `data`, `drain` and `end` listeners.
#pragma once

#include <functional>
#include <optional>
#include <string_view>
#include <tcpsocket/tcpsocket.hpp>

#include "fd_reader.hpp"
#include "fd_writer.hpp"
#include "messages.hpp"

namespace tcpsocket::cli {

class Relay {
 public:
  /// A descriptor, and its name in error lines ("stdin").
  struct End {
    int fd;
    const char* name;
    /// For `output`: whether its reader going away (EPIPE) ends the connection, as SIGPIPE ends
    /// netcat (stdout: `| head`), or only this direction (a program that stops reading its input
    /// may still be writing its output).
    bool closedEndsConnection = true;
  };
  /// `input` and `output` stay the caller's. Nothing is read from `input` before startInput().
  /// `outputDone` runs once, when `output` has taken everything the peer sent (after its FIN or
  /// the socket's close and endOutput()), or has failed.
  Relay(EventLoop& loop, TCPSocket socket, End input, End output, VerboseLog log,
        std::function<void()> outputDone = {});
  /// Takes its listeners off the socket, which may live on.
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  /// Starts reading `input` (for a client: once the connection is up).
  void startInput();
  /// Stops reading `input` for good (the socket is closing).
  void stopInput() { input_.reset(); }
  /// Nothing more will be received (the socket has closed): finish `output`.
  void endOutput();
  /// An input or output error was reported (an error line on stderr): exit status 1.
  bool failed() const noexcept { return failed_; }

 private:
  void inputChunk(std::string_view chunk);
  void inputEnded();
  void received(std::string_view bytes);
  void outputFailed(int err);

  EventLoop& loop_;
  TCPSocket socket_;
  End inputEnd_;
  End outputEnd_;
  VerboseLog log_;
  std::function<void()> outputDone_;
  ListenerId dataListener_;
  ListenerId drainListener_;
  ListenerId endListener_;
  FdWriter output_;
  std::optional<FdReader> input_;
  bool outputPaused_ = false;
  bool outputFailed_ = false;
  bool outputEnding_ = false;
  bool failed_ = false;
};

}  // namespace tcpsocket::cli
