// Host names compare case-insensitively (DNS): policy rules and requested hosts are lower-cased
// the same way.
#pragma once

#include <string>
#include <string_view>

namespace tcpsocket::detail {

inline std::string lowerCase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace tcpsocket::detail
