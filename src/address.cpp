#include "address.hpp"

#include "tcpsocket/address.hpp"
#include "tcpsocket/errors.hpp"

namespace tcpsocket {

std::string hostPort(std::string_view host, std::uint16_t port) {
  // Appended, not concatenated: g++ 12 at -O3 reports a false -Wrestrict in `"[" + string`.
  const bool v6 = host.find(':') != std::string_view::npos;
  std::string out;
  if (v6) out += '[';
  out += host;
  if (v6) out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
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

asio::ip::address addressLiteral(const std::string& text) {
  std::error_code ec;
  // make_address reads the string only up to a NUL; "127.0.0.1\0junk" is not an address.
  const auto address = asio::ip::make_address(text, ec);
  if (ec || text.find('\0') != std::string::npos) {
    throw InvalidAddressError("\"" + text + "\" is not an IPv4 or IPv6 address");
  }
  return address;
}

}  // namespace tcpsocket::detail
