// libFuzzer target: random bytes as the start of a connection behind a load balancer. The PROXY
// header parser must never crash, hang or read past what it was given, and what it says must
// hold together: a complete header lies within the bytes, parses the same on its own, and no
// shorter prefix of it is already complete.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "proxy_header.hpp"

namespace {

void require(bool condition) {
  if (!condition) std::abort();  // libFuzzer reports the input that broke an invariant
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using tcpsocket::detail::parseProxyHeader;
  using Status = tcpsocket::detail::ProxyParse::Status;
  const std::span<const std::uint8_t> bytes(data, size);
  const auto p = parseProxyHeader(bytes);
  if (p.status != Status::Complete) return 0;
  require(p.length > 0 && p.length <= size && p.length <= tcpsocket::detail::kMaxProxyHeader);
  require(p.info.version == 1 || p.info.version == 2);
  const auto alone = parseProxyHeader(bytes.first(p.length));
  require(alone.status == Status::Complete && alone.length == p.length);
  require(alone.local == p.local && alone.source == p.source);
  if (p.length > 1) require(parseProxyHeader(bytes.first(p.length - 1)).status != Status::Complete);
  return 0;
}
