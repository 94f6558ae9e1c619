#include "address.hpp"

#include "tcpsocket/address.hpp"

namespace tcpsocket {

std::string hostPort(std::string_view host, std::uint16_t port) {
  const bool v6 = host.find(':') != std::string_view::npos;
  std::string out = v6 ? "[" + std::string(host) + "]" : std::string(host);
  return out + ":" + std::to_string(port);
}

}  // namespace tcpsocket

namespace tcpsocket::detail {

asio::ip::address unmapped(const asio::ip::address& address) noexcept {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address;
}

std::string addressString(const asio::ip::address& address) {
  return unmapped(address).to_string();
}

}  // namespace tcpsocket::detail
