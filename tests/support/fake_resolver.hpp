// The loop's resolver seam, filled by the test: no DNS server is reachable from tests, and an
// answer from one would make a test depend on the network it runs in. Answers come on the loop,
// never inside the call, as the system resolver's do. Header-only: it needs the library's private
// headers, which only the test executables see.
#pragma once

#include <asio/error.hpp>
#include <asio/ip/address.hpp>
#include <asio/post.hpp>
#include <string>
#include <utility>
#include <vector>

#include "access.hpp"
#include "loop_core.hpp"
#include "support/test_support.hpp"

namespace test {

// Declare it after the loop it fills (a fixture member or a local of the test), so that it outlives
// every lookup the loop hands it.
class FakeResolver {
 public:
  explicit FakeResolver(ts::EventLoop& loop) : loop_(loop) {}
  FakeResolver(const FakeResolver&) = delete;
  FakeResolver& operator=(const FakeResolver&) = delete;

  /// From now on `name` resolves to `addresses` (none: not found); every other host is not found.
  void answer(std::string name, std::vector<const char*> addresses = {}) {
    name_ = std::move(name);
    addresses_ = std::move(addresses);
    core().setResolver([this](const std::string& host, std::uint16_t port,
                              tcpsocket::detail::ResolveCallback done) {
      asked.push_back(host);
      tcpsocket::detail::Endpoints found;
      if (host == name_) {
        for (const char* a : addresses_) found.emplace_back(asio::ip::make_address(a), port);
      }
      asio::post(core().io(), [done, found] {
        done(found.empty() ? asio::error::host_not_found : std::error_code(), found);
      });
    });
  }

  /// From now on no lookup answers by itself: the last one waits in `pending`, for the test to
  /// answer late (an answer the socket must ignore) or never.
  void stall() {
    core().setResolver(
        [this](const std::string& host, std::uint16_t, tcpsocket::detail::ResolveCallback done) {
          asked.push_back(host);
          pending = std::move(done);
        });
  }

  std::vector<std::string> asked;  // every host looked up, in order
  tcpsocket::detail::ResolveCallback pending;

 private:
  tcpsocket::detail::LoopCore& core() { return tcpsocket::detail::Access::core(loop_); }

  ts::EventLoop& loop_;
  std::string name_;
  std::vector<const char*> addresses_;
};

}  // namespace test
