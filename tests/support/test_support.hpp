// Helpers shared by the test suite: bounded loop running, an event recorder, and raw POSIX peers
// (the reference's own tests talk to raw server sockets, not only to TCPServerSocket).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <tcpsocket/tcpsocket.hpp>
#include <vector>

namespace test {

using namespace std::chrono_literals;
namespace ts = tcpsocket;

/// Runs the loop in short slices until `done()` (checked between slices) or `timeout`.
bool runUntil(ts::EventLoop& loop, const std::function<bool()>& done,
              std::chrono::milliseconds timeout = 10s);
/// Runs the loop for `duration` (for "nothing else happens" checks).
void runFor(ts::EventLoop& loop, std::chrono::milliseconds duration);

/// Records every event of a socket: non-data events in order (error as "error:Name:Message"),
/// data accumulated as bytes, readyState as seen inside each listener.
struct Recorder {
  std::vector<std::string> events;
  std::vector<ts::ReadyState> states;
  std::string received;
  int dataEvents = 0;
  int stringData = 0;
  int bufferData = 0;
  int nonEmptyData = 0;  // non-data events whose data was not std::monostate
  std::vector<std::uint64_t> bufferedAtDrain;

  explicit Recorder(ts::TCPSocket& socket);
  Recorder() = default;
  void attach(ts::TCPSocket& socket);
  bool has(const std::string& event) const;
  int count(const std::string& event) const;
  bool closed() const { return has("close"); }
};

/// Bytes 0, 1, ..., n-1 (mod 256), as the reference's tests use.
std::vector<std::uint8_t> sequence(std::size_t n);
std::string asString(const std::vector<std::uint8_t>& bytes);
/// Pseudo-random bytes from a fixed seed.
std::vector<std::uint8_t> randomBytes(std::size_t n, std::uint32_t seed);

/// A raw, non-blocking POSIX listening socket on loopback.
class RawListener {
 public:
  explicit RawListener(const char* address = "127.0.0.1", int receiveBuffer = 0);
  ~RawListener();
  RawListener(const RawListener&) = delete;
  RawListener& operator=(const RawListener&) = delete;
  std::uint16_t port() const { return port_; }
  /// Accepts one pending connection, or returns -1.
  int tryAccept();
  void close();

 private:
  int fd_ = -1;
  int receiveBuffer_ = 0;
  std::uint16_t port_ = 0;
};

/// A raw, non-blocking POSIX connection, pumped by the test between loop slices.
class RawConn {
 public:
  RawConn() = default;
  explicit RawConn(int fd) : fd_(fd) {}
  ~RawConn();
  RawConn(RawConn&& other) noexcept;
  RawConn& operator=(RawConn&& other) noexcept;
  static RawConn connectTo(const char* address, std::uint16_t port);

  bool valid() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  /// Reads whatever is available into received(); notes EOF or reset.
  void pump();
  /// Writes all of `data` (waiting for room, bounded to 10 s).
  void writeAll(const std::string& data);
  void shutdownWrite();
  /// Closes with RST (SO_LINGER 0).
  void reset();
  void close();
  const std::string& received() const { return received_; }
  bool eof() const { return eof_; }
  bool failed() const { return failed_; }

 private:
  int fd_ = -1;
  std::string received_;
  bool eof_ = false;
  bool failed_ = false;
};

/// Accepts the connection `events`' socket makes to `listener` and waits for its `open`.
RawConn acceptWhenOpen(ts::EventLoop& loop, RawListener& listener, const Recorder& events);

/// Open descriptors of this process.
int openFdCount();

}  // namespace test
