#include "address.hpp"

#include <charconv>
#include <cstdint>

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

AddressBlock::AddressBlock(const std::string& text) {
  const std::size_t slash = text.find('/');
  base_ = unmapped(addressLiteral(text.substr(0, slash)));
  const unsigned bits = base_.is_v4() ? 32 : 128;
  prefix_ = bits;
  if (slash == std::string::npos) return;
  const std::string prefix = text.substr(slash + 1);
  const auto [end, ec] = std::from_chars(prefix.data(), prefix.data() + prefix.size(), prefix_);
  if (prefix.empty() || prefix.size() > 3 || ec != std::errc() ||
      end != prefix.data() + prefix.size() || prefix_ > bits) {
    throw InvalidAddressError("\"" + text + "\" is not an address or a CIDR block");
  }
}

bool AddressBlock::contains(const asio::ip::address& address) const noexcept {
  const asio::ip::address a = unmapped(address);
  if (a.is_v4() != base_.is_v4()) return false;
  auto matches = [this](const auto& x, const auto& y) {
    unsigned left = prefix_;
    for (std::size_t i = 0; i < x.size() && left > 0; ++i) {
      const unsigned take = left < 8 ? left : 8;
      const auto mask = static_cast<std::uint8_t>(0xFF << (8 - take));
      if ((x[i] & mask) != (y[i] & mask)) return false;
      left -= take;
    }
    return true;
  };
  return a.is_v4() ? matches(a.to_v4().to_bytes(), base_.to_v4().to_bytes())
                   : matches(a.to_v6().to_bytes(), base_.to_v6().to_bytes());
}

}  // namespace tcpsocket::detail
