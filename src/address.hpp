// Addresses as the API shows them: IPv4-mapped IPv6 addresses ("::ffff:10.0.0.1", what a
// dual-stack listener sees for an IPv4 client) are the IPv4 address they stand for.
#pragma once

#include <asio/ip/address.hpp>
#include <string>

namespace tcpsocket::detail {

/// The address with an IPv4-mapped IPv6 address turned into the IPv4 one.
asio::ip::address unmapped(const asio::ip::address& address) noexcept;
/// "127.0.0.1", "::1"; IPv4-mapped IPv6 addresses are shown as IPv4.
std::string addressString(const asio::ip::address& address);
/// An address given as text in options (ServerSocketOptions/SocketOptions::localAddress).
/// Throws InvalidAddressError unless the whole text is an IPv4 or IPv6 literal.
asio::ip::address addressLiteral(const std::string& text);

/// A CIDR block ("10.0.0.0/8", "fd00::/8") or one address (a block of its full length).
class AddressBlock {
 public:
  /// Throws InvalidAddressError for anything else (a prefix past the family's length, bits set
  /// past the prefix are allowed and ignored).
  explicit AddressBlock(const std::string& text);
  /// Whether `address` (IPv4-mapped taken as IPv4) is in the block.
  bool contains(const asio::ip::address& address) const noexcept;

 private:
  asio::ip::address base_;
  unsigned prefix_;
};

}  // namespace tcpsocket::detail
