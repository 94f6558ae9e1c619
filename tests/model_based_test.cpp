// Randomized model-based test: random sequences of send / suspend / resume / close and peer
// actions (write, read, half-close, reset) are applied to a real socket and, in parallel, to a
// model of the reference's state machine (docs/reference.md §2-§4); every step checks readyState,
// send()'s return value, thrown errors, event order and the bytes in both directions. The same
// sequences run over TLS too (the peer is OpenSSL on the raw socket), where reading, writing and
// backpressure go through the TLS session. Seeded and bounded; TCPSOCKET_MODEL_SEED=N replays one
// sequence (TCPSOCKET_MODEL_TLS=1: over TLS).
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cstdlib>
#include <random>

#include "support/test_certs.hpp"
#include "support/test_support.hpp"
#include "support/tls_peer.hpp"

namespace test {
namespace {

struct Model {
  ts::ReadyState state = ts::ReadyState::Open;
  int suspended = 0;
  bool drainOwed = false;  // a send() returned false and no drain came yet
  bool peerFin = false;    // the peer half-closed
  bool peerReset = false;  // the peer reset: error + close expected
  std::string sentByUs;    // every byte send() accepted, in order
  std::string sentByPeer;  // every byte the peer wrote, in order
};

class Checker {
 public:
  Checker(ts::TCPSocket& socket, Model& model) : model_(model) {
    using T = ts::SocketEventType;
    for (const T t : {T::Open, T::Data, T::Drain, T::Error, T::Close}) {
      socket.addEventListener(t, [this](const ts::TCPSocketEvent& e) { onEvent(e); });
    }
  }
  std::vector<std::string> problems;
  std::string received;
  bool closed = false;
  bool errored = false;

 private:
  void problem(const std::string& what) { problems.push_back(what); }

  void onEvent(const ts::TCPSocketEvent& e) {
    if (closed) problem("event after close: " + std::string(ts::toString(e.type)));
    switch (e.type) {
      case ts::SocketEventType::Data: {
        if (model_.suspended > 0) problem("data while suspended");
        const auto bytes = std::get<ts::ArrayBuffer>(e.data);
        received.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        if (model_.sentByPeer.compare(0, received.size(), received) != 0)
          problem("data differs from what the peer sent");
        break;
      }
      case ts::SocketEventType::Drain:
        if (!model_.drainOwed) problem("drain without a false send()");
        if (e.target.bufferedAmount() != 0) problem("bufferedAmount not 0 inside drain");
        model_.drainOwed = false;
        break;
      case ts::SocketEventType::Error:
        if (e.target.readyState() != ts::ReadyState::Closed) problem("not closed inside error");
        errored = true;
        break;
      case ts::SocketEventType::Close:
        if (model_.drainOwed && !errored) problem("close while a drain was owed");
        closed = true;
        model_.state = ts::ReadyState::Closed;
        break;
      default:
        problem("unexpected event");
    }
  }
  Model& model_;
};

// The other end of the socket under test, as the sequence drives it.
class Peer {
 public:
  virtual ~Peer() = default;
  /// Offers bytes without blocking; returns how many the peer took.
  virtual std::size_t write(const std::string& bytes) = 0;
  virtual void pump() = 0;
  virtual void shutdownWrite() = 0;
  virtual void reset() = 0;
  virtual const std::string& received() const = 0;
  virtual bool eof() const = 0;
  virtual bool failed() const = 0;
};

class PlainPeer final : public Peer {
 public:
  explicit PlainPeer(RawConn conn) : conn_(std::move(conn)) {}
  std::size_t write(const std::string& bytes) override {
    // Never blocks (a suspended socket stops reading): what the kernel takes is what counts.
    const ssize_t taken =
        ::send(conn_.fd(), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    return taken > 0 ? static_cast<std::size_t>(taken) : 0;
  }
  void pump() override { conn_.pump(); }
  void shutdownWrite() override { conn_.shutdownWrite(); }
  void reset() override { conn_.reset(); }
  const std::string& received() const override { return conn_.received(); }
  bool eof() const override { return conn_.eof(); }
  bool failed() const override { return conn_.failed(); }

 private:
  RawConn conn_;
};

class SecurePeer final : public Peer {
 public:
  SecurePeer(int fd, const Credentials& credentials) : tls_(fd, credentials) {}
  std::size_t write(const std::string& bytes) override {
    tls_.write(bytes);  // queued: pump() writes it as the socket reads
    return bytes.size();
  }
  void pump() override { tls_.pump(); }
  void shutdownWrite() override { tls_.shutdownWrite(); }
  void reset() override { tls_.reset(); }
  const std::string& received() const override { return tls_.received(); }
  bool eof() const override { return tls_.eof(); }
  bool failed() const override { return tls_.failed(); }

 private:
  TlsPeer tls_;
};

struct TlsFixture {
  TestCa ca;
  Credentials leaf = ca.issue();
};

const TlsFixture& tlsFixture() {
  static const TlsFixture fixture;
  return fixture;
}

std::string runSequence(std::uint32_t seed, bool tls) {
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  ts::EventLoop loop;
  RawListener listener("127.0.0.1", 8192);
  ts::SocketOptions options{.binaryType = ts::BinaryType::ArrayBuffer};
  options.useSecureTransport = tls;
  options.tls.trustedCertificates.pem = tlsFixture().ca.certificatePem();
  auto sock = ts::TCPSocket::open(loop, "127.0.0.1", listener.port(), options);
  Recorder opened(sock);
  std::unique_ptr<Peer> peerHolder;
  if (tls) {
    int fd = -1;
    if (!runUntil(loop, [&] {
          if (fd < 0) fd = listener.tryAccept();
          if (fd >= 0 && !peerHolder)
            peerHolder = std::make_unique<SecurePeer>(fd, tlsFixture().leaf);
          if (peerHolder) peerHolder->pump();
          return opened.has("open");
        })) {
      return "seed " + std::to_string(seed) + ": the TLS handshake did not complete";
    }
  } else {
    peerHolder = std::make_unique<PlainPeer>(acceptWhenOpen(loop, listener, opened));
  }
  Peer& peer = *peerHolder;
  Model model;
  Checker check(sock, model);
  std::vector<std::string> log;
  auto fail = [&](const std::string& what) {
    std::string out = "seed " + std::to_string(seed) + ": " + what + "\n  after:";
    for (const auto& l : log) out += " " + l;
    return out;
  };

  for (int step = 0; step < 60; ++step) {
    const int action = pick(100);
    if (action < 30) {  // send
      std::size_t n = 1 + static_cast<std::size_t>(pick(3) == 0 ? pick(200000) : pick(3000));
      const std::uint64_t room =
          ts::kSendBufferThreshold - std::min(sock.bufferedAmount(), ts::kSendBufferThreshold);
      if (pick(4) == 0 && model.state == ts::ReadyState::Open && room > 0) {
        n = static_cast<std::size_t>(room) +
            static_cast<std::size_t>(pick(2));  // at the threshold, or one past it
      }
      const auto bytes = randomBytes(n, seed * 1000 + static_cast<std::uint32_t>(step));
      log.push_back("send(" + std::to_string(n) + ")");
      if (model.state != ts::ReadyState::Open) {
        try {
          sock.send(bytes);
          return fail("send() did not throw in state " + std::string(ts::toString(model.state)));
        } catch (const ts::InvalidStateError&) {
        }
      } else {
        const bool expected = sock.bufferedAmount() + n <= ts::kSendBufferThreshold;
        if (sock.send(bytes) != expected) return fail("send() returned the wrong value");
        if (!expected) model.drainOwed = true;
        model.sentByUs += asString(bytes);
      }
    } else if (action < 42) {
      log.push_back("suspend");
      sock.suspend();
      ++model.suspended;
    } else if (action < 54) {
      log.push_back("resume");
      if (model.suspended == 0) {
        try {
          sock.resume();
          return fail("resume() without suspend did not throw");
        } catch (const ts::InvalidStateError&) {
        }
      } else {
        sock.resume();
        --model.suspended;
      }
    } else if (action < 58) {
      log.push_back("close");
      sock.close();
      if (model.state == ts::ReadyState::Open) model.state = ts::ReadyState::Closing;
    } else if (action < 72) {
      if (!model.peerFin && !model.peerReset) {
        const std::size_t n = 1 + static_cast<std::size_t>(pick(100000));
        const std::string bytes =
            asString(randomBytes(n, seed * 7919 + static_cast<std::uint32_t>(step)));
        const std::size_t taken = peer.write(bytes);
        log.push_back("peer.write(" + std::to_string(n) + ")=" + std::to_string(taken));
        model.sentByPeer += bytes.substr(0, taken);
      }
    } else if (action < 90) {
      log.push_back("peer.read");
      peer.pump();
    } else if (action < 96) {
      if (!model.peerFin && !model.peerReset) {
        log.push_back("peer.halfClose");
        peer.shutdownWrite();
        model.peerFin = true;
      }
    } else if (action < 98) {
      if (!model.peerReset && !check.closed) {
        log.push_back("peer.reset");
        peer.reset();
        model.peerReset = true;
      }
    }
    runFor(loop, 2ms);
    peer.pump();
    if (!check.problems.empty()) return fail(check.problems.front());
    if (sock.readyState() != model.state) {
      return fail("readyState " + std::string(ts::toString(sock.readyState())) + ", model says " +
                  std::string(ts::toString(model.state)));
    }
    if (check.errored && !model.peerReset) return fail("error without a reset");
  }

  // Let everything finish: resume, close, read to the end.
  while (model.suspended > 0) {
    sock.resume();
    --model.suspended;
  }
  // Unless close() stopped reading, every byte the peer sent arrives: a read that waits for a
  // readiness edge that never comes shows up here.
  if (model.state == ts::ReadyState::Open && !model.peerReset && !check.errored) {
    if (!runUntil(
            loop,
            [&] {
              peer.pump();
              return check.received.size() >= model.sentByPeer.size();
            },
            5000ms)) {
      return fail("reading stalled: " + std::to_string(check.received.size()) + " of the peer's " +
                  std::to_string(model.sentByPeer.size()) + " bytes arrived");
    }
  }
  sock.close();
  if (model.state == ts::ReadyState::Open) model.state = ts::ReadyState::Closing;
  if (!runUntil(
          loop,
          [&] {
            peer.pump();
            return check.closed && (peer.eof() || peer.failed() || model.peerReset);
          },
          15000ms)) {
    return fail("never closed");
  }
  if (!check.problems.empty()) return fail(check.problems.front());
  if (!model.peerReset && !check.errored) {
    if (peer.received() != model.sentByUs) {
      return fail("peer got " + std::to_string(peer.received().size()) + " of " +
                  std::to_string(model.sentByUs.size()) + " bytes, or different ones");
    }
  } else if (model.sentByUs.compare(0, peer.received().size(), peer.received()) != 0) {
    return fail("peer got bytes we did not send");
  }
  return {};
}

void runSeeds(bool tls, std::uint32_t count) {
  const char* one = std::getenv("TCPSOCKET_MODEL_SEED");
  const char* overTls = std::getenv("TCPSOCKET_MODEL_TLS");
  if (one != nullptr) {
    if ((overTls != nullptr && std::string(overTls) == "1") != tls) GTEST_SKIP();
    EXPECT_EQ(runSequence(static_cast<std::uint32_t>(std::strtoul(one, nullptr, 10)), tls), "");
    return;
  }
  for (std::uint32_t seed = 1; seed <= count; ++seed) {
    EXPECT_EQ(runSequence(seed, tls), "")
        << "replay with TCPSOCKET_MODEL_SEED=" << seed << (tls ? " TCPSOCKET_MODEL_TLS=1" : "");
  }
}

TEST(ModelBased, RandomSequencesFollowTheReferenceStateMachine) { runSeeds(false, 40); }

TEST(ModelBased, RandomSequencesOverTls) { runSeeds(true, 30); }

}  // namespace
}  // namespace test
