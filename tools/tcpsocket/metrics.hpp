// `listen --metrics HOST:PORT`: the server's counters in Prometheus' text exposition format
// (version 0.0.4), over plain HTTP on a listener of its own (loopback unless told otherwise).
// Each loop publishes its counters every second (MetricsBoard::publish, from its own thread);
// a scrape sums what was last published, so it is at most a second old.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tcpsocket/tcpsocket.hpp>
#include <vector>

#include "messages.hpp"

namespace tcpsocket::cli {

/// What one loop's server has counted.
struct LoopCounters {
  ServerStats stats;
  std::uint64_t bytesReceived = 0;  ///< by accepted connections, ended and open
  std::uint64_t bytesSent = 0;
  bool tls = false;  ///< accepted connections are TLS: `accepted` counts completed handshakes
  std::map<std::string, std::uint64_t> errors;  ///< `error` events by name
};

class MetricsBoard {
 public:
  explicit MetricsBoard(std::size_t loops) : loops_(loops) {}
  /// Thread-safe.
  void publish(std::size_t loop, LoopCounters counters);
  /// The exposition text of every loop's counters, summed. Thread-safe.
  std::string render() const;

 private:
  mutable std::mutex mutex_;
  std::vector<LoopCounters> loops_;
};

/// The HTTP side: any request (GET /metrics, as Prometheus sends) is answered with the board's
/// text, then the connection is closed. Requests are bounded: 8 KiB, a whole request within 5 s,
/// 64 at once.
class MetricsServer {
 public:
  /// `where` is HOST:PORT ([v6]:PORT; port 0 picks one). Throws UsageError for a malformed one,
  /// and listen()'s named errors.
  MetricsServer(EventLoop& loop, const std::string& where, const MetricsBoard& board);
  /// HOST:PORT as bound.
  std::string address() const;
  void close() { server_.close(); }

 private:
  std::string host_;
  TCPServerSocket server_;
};

}  // namespace tcpsocket::cli
