#include "proxy_intake.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "address.hpp"
#include "proxy_header.hpp"
#include "socket_impl.hpp"
#include "sys_ops.hpp"
#include "tcp_tuning.hpp"

namespace tcpsocket::detail {

using Mode = ProxyProtocolOptions::Mode;

namespace {
// Enough for a v1 line (107) and a v2 header with IPv6 or UNIX addresses (16 + 216), TLVs aside.
constexpr std::size_t kFirstPeek = 256;
}  // namespace

ProxyIntake::ProxyIntake(LoopCore& loop, Owner& owner, int fd, const asio::ip::tcp::endpoint& peer,
                         Mode mode, bool trusted, std::chrono::milliseconds deadline)
    : loop_(loop),
      owner_(owner),
      fd_(fd),
      peer_(peer),
      mode_(mode),
      trusted_(trusted),
      deadline_(loop.io()),
      deadlineAfter_(deadline) {}

void ProxyIntake::start() {
  // Registering reports what has already arrived, as an edge: examine() runs from there.
  if (loop_.readiness().add(fd_, *this, token_)) {
    refuse(nullptr);  // out of kernel memory for the watch
    return;
  }
  loop_.readiness().waiterAdded();
  deadline_.expires_after(deadlineAfter_);
  // Checks `ec` first: a wait cancelled by the intake's destruction touches nothing of it.
  deadline_.async_wait([this](const std::error_code& ec) {
    if (!ec && !done_) refuse("no complete PROXY header within the deadline");
  });
}

ProxyIntake::~ProxyIntake() {
  stopWatching();
  if (fd_ >= 0) {
    resetOnClose(fd_);
    ::close(fd_);
  }
}

void ProxyIntake::stopWatching() noexcept {
  if (token_.generation != 0) {
    loop_.readiness().remove(token_, fd_);
    loop_.readiness().waiterRemoved();
  }
  deadline_.cancel();
}

void ProxyIntake::descriptorReady(bool readable, bool, bool hangup) noexcept {
  if (!done_ && (readable || hangup)) examine();
}

// Peeked, not read: a connection without a header (Optional) or one cut short keeps its bytes,
// and a complete header is then taken by its exact length. Once a v2 header's length is known,
// nothing is peeked until that much has arrived: a header trickled in small pieces would
// otherwise be copied again with every piece.
void ProxyIntake::examine() noexcept {
  if (needed_ > 0 && static_cast<std::size_t>(unreadBytes(fd_)) < needed_) return;
  std::uint8_t* buffer = loop_.readBuffer();
  const std::size_t want = needed_ > 0 ? needed_ : kFirstPeek;
  const ssize_t n =
      sys::retryInterrupted([&] { return sys::ops().recv(fd_, buffer, want, MSG_PEEK); });
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;  // the next edge
    refuse(nullptr);
    return;
  }
  if (n == 0) {  // the peer ended before a whole header
    refuse(mode_ == Mode::Required ? "the connection ended before its PROXY header" : nullptr);
    return;
  }
  ProxyParse p = parseProxyHeader({buffer, static_cast<std::size_t>(n)});
  switch (p.status) {
    case ProxyParse::Status::NeedMore:  // more bytes raise a new edge
      if (p.length > 0 && p.length > needed_) {
        needed_ = p.length;
        examine();  // what is queued may already be enough: no edge would tell
      }
      return;
      return;  // more bytes raise a new edge
    case ProxyParse::Status::NotProxy:
      if (mode_ == Mode::Required) {
        refuse("a connection without a PROXY header");
      } else {
        handOn(peer_, nullptr);
      }
      return;
    case ProxyParse::Status::Invalid:
      refuse(p.error);
      return;
    case ProxyParse::Status::Complete:
      break;
  }
  if (!trusted_) {
    refuse("a PROXY header from an untrusted source");
    return;
  }
  for (std::size_t taken = 0; taken < p.length;) {  // all peeked already: no wait in here
    const ssize_t r =
        sys::retryInterrupted([&] { return sys::ops().recv(fd_, buffer, p.length - taken, 0); });
    if (r <= 0) {
      refuse(nullptr);
      return;
    }
    taken += static_cast<std::size_t>(r);
  }
  auto info = std::make_unique<ProxyInfo>(std::move(p.info));
  info->local = p.local;
  info->proxyAddress = addressString(peer_.address());
  info->proxyPort = peer_.port();
  if (!p.local) {
    info->destinationAddress = addressString(p.destination.address());
    info->destinationPort = p.destination.port();
  }
  handOn(p.local ? peer_ : p.source, std::move(info));
}

void ProxyIntake::handOn(asio::ip::tcp::endpoint peer, std::unique_ptr<ProxyInfo> info) noexcept {
  done_ = true;
  stopWatching();
  const int fd = fd_;
  fd_ = -1;
  owner_.proxyReceived(*this, fd, peer, std::move(info));  // may destroy this
}

void ProxyIntake::refuse(const char* why) noexcept {
  done_ = true;
  stopWatching();
  resetOnClose(fd_);
  ::close(fd_);
  fd_ = -1;
  owner_.proxyRefused(*this, why);  // may destroy this
}

}  // namespace tcpsocket::detail
