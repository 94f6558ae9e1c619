#include "socket_connector.hpp"

#include <unistd.h>

#include <asio/post.hpp>
#include <cerrno>

#include "address.hpp"
#include "error_table.hpp"
#include "socket_impl.hpp"
#include "sys_ops.hpp"
#include "tcpsocket/app_policy.hpp"

namespace tcpsocket::detail {

// The socket's Connector if it still connects; a completion that finds none was cancelled.
Connector* Connector::connecting(const std::shared_ptr<SocketImpl>& self, Connector* expected) {
  return self->readyState() == ReadyState::Connecting && self->connector() == expected ? expected
                                                                                       : nullptr;
}

Connector::Connector(SocketImpl& socket, std::shared_ptr<const AppPolicy> policy,
                     std::optional<LocalEnd> local)
    : socket_(socket), policy_(std::move(policy)), local_(std::move(local)) {}

Connector::~Connector() = default;

// One deadline for the whole attempt: name resolution and every address tried.
void Connector::start(std::chrono::milliseconds timeout) {
  auto self = socket_.shared_from_this();
  asio::io_context& io = socket_.loop()->io();
  if (timeout.count() > 0) {
    deadline_.emplace(io, timeout);
    deadline_->async_wait([self, me = this](const std::error_code& ec) {
      if (!ec && connecting(self, me)) self->fail(classifyErrno(ETIMEDOUT));
    });
  }
  asio::post(io, [self, me = this] {
    if (Connector* c = connecting(self, me)) {
      std::error_code ec;
      const auto address = asio::ip::make_address(self->host(), ec);
      if (ec) {
        c->resolve();
      } else {
        c->tryAddress(
            std::make_shared<Endpoints>(1, asio::ip::tcp::endpoint(address, self->port())), 0, {});
      }
    }
  });
}

void Connector::resolve() {
  auto self = socket_.shared_from_this();
  socket_.loop()->resolve(socket_.host(), socket_.port(),
                          [self, me = this](std::error_code ec, Endpoints found) {
                            Connector* c = connecting(self, me);
                            if (c == nullptr) return;  // closed while resolving
                            if (ec || found.empty()) {
                              self->fail(domainNotFound(ec));
                              return;
                            }
                            c->tryAddress(std::make_shared<Endpoints>(std::move(found)), 0, {});
                          });
}

// Tries each resolved address in turn; the last failure is the one reported.
void Connector::tryAddress(std::shared_ptr<Endpoints> endpoints, std::size_t index,
                           std::error_code last) {
  for (; index < endpoints->size(); ++index) {
    const asio::ip::tcp::endpoint target = (*endpoints)[index];
    // After resolution, per address: a permitted name must not lead to a forbidden address.
    lastAttemptDenied_ =
        policy_ &&
        policy_->connectDenial(socket_.host(), addressString(target.address()), socket_.port())
            .has_value();
    if (lastAttemptDenied_) continue;
    std::optional<asio::ip::tcp::endpoint> local;
    if (local_ && local_->address) {
      if (local_->address->is_v4() != target.address().is_v4()) {
        // Not this one; a failure of another address, if any, is the better report.
        if (!last) last = asio::error::address_family_not_supported;
        continue;
      }
      local.emplace(*local_->address, local_->port);
    } else if (local_) {  // a port alone: the wildcard of this address's family
      local.emplace(target.protocol(), local_->port);
    }
    std::error_code ec;
    attempt_.emplace(socket_.loop()->io());
    const int fd = sys::openStream(target.protocol().family());
    if (fd < 0) {
      ec.assign(errno, std::system_category());
    } else {
      attempt_->assign(target.protocol(), fd, ec);
      if (ec) ::close(fd);
    }
    if (!ec && local) attempt_->bind(*local, ec);
    if (ec) {
      last = ec;
      continue;
    }
    attempt_->async_connect(target, [self = socket_.shared_from_this(), me = this, endpoints,
                                     index](const std::error_code& result) {
      Connector* c = connecting(self, me);
      if (c == nullptr) return;
      if (result) {
        c->tryAddress(endpoints, index + 1, result);
      } else {
        self->connected(std::move(*c->attempt_), (*endpoints)[index].address());  // destroys *c
      }
    });
    return;
  }
  socket_.fail(lastAttemptDenied_ ? policyDenied() : classifyError(last));  // destroys *this
}

}  // namespace tcpsocket::detail
