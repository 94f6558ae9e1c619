// The TLS end of a raw, non-blocking connection, driven by the test between loop slices like
// RawConn: OpenSSL in the server role on an accepted descriptor. Writes are queued and flushed by
// pump(), so a test never blocks on a peer that does not read.
#pragma once

#include <memory>
#include <string>

#include "support/test_certs.hpp"

namespace test {

class TlsPeer {
 public:
  TlsPeer(int fd, const Credentials& credentials);
  ~TlsPeer();
  TlsPeer(const TlsPeer&) = delete;
  TlsPeer& operator=(const TlsPeer&) = delete;

  /// Advances the handshake, writes what is queued, reads what has arrived into received().
  void pump();
  /// Queues `data` (written by pump()).
  void write(const std::string& data);
  /// close_notify, then FIN (unless `withFin` is false), once everything queued is written.
  void shutdownWrite(bool withFin = true);
  /// Closes with RST.
  void reset();
  /// Sends the first half of one TLS record carrying `data`, then FIN: a stream cut mid-record.
  void truncateMidRecord(const std::string& data);

  bool handshakeDone() const;
  /// The error pending on the descriptor (SO_ERROR): ECONNRESET once a reset arrived, else 0.
  int pendingError() const;
  const std::string& received() const { return received_; }
  bool eof() const { return eof_; }
  bool failed() const { return failed_; }

 private:
  struct State;
  std::unique_ptr<State> state_;
  std::string received_;
  bool eof_ = false;
  bool failed_ = false;
};

}  // namespace test
