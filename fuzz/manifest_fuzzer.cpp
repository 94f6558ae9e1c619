// libFuzzer target: random bytes as a manifest.webapp. The parser must either build a policy or
// throw ManifestError — never crash, hang or throw anything else — and a policy it builds must
// obey the rules' invariants (a missing permission or a web app never allows anything).
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <tcpsocket/app_policy.hpp>
#include <tcpsocket/errors.hpp>

namespace {

void require(bool condition) {
  if (!condition) std::abort();  // libFuzzer reports the input that broke an invariant
}

bool listens(const tcpsocket::AppPolicy& policy, std::uint16_t port) {
  try {
    policy.checkListen("127.0.0.1", port);
    return true;
  } catch (const tcpsocket::SecurityError&) {
    return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto policy = tcpsocket::AppPolicy::fromManifest(text, "fuzz.webapp");
    const bool mayUseSockets =
        policy.hasTcpSocketPermission() && policy.type() != tcpsocket::AppType::Web;
    require(listens(policy, 0) == mayUseSockets);
    require(!listens(policy, 80) || policy.type() == tcpsocket::AppType::Certified);
    const bool publicDenied =
        policy.connectDenial("a.example.com", "93.184.216.34", 443).has_value();
    if (!mayUseSockets) require(publicDenied);
    if (mayUseSockets && !policy.connectAllowlist()) require(!publicDenied);
    if (policy.connectAllowlist()) {
      for (const auto& rule : *policy.connectAllowlist()) {
        require(rule.firstPort >= 1 && rule.firstPort <= rule.lastPort);
      }
      // A wildcard entry never opens loopback.
      bool explicitLoopback = false;
      for (const auto& rule : *policy.connectAllowlist()) {
        explicitLoopback |= rule.host == "127.0.0.1" || rule.host == "evil.example.com";
      }
      if (!explicitLoopback)
        require(policy.connectDenial("evil.example.com", "127.0.0.1", 80).has_value());
    }
  } catch (const tcpsocket::ManifestError&) {
    // the expected answer to bad input
  }
  return 0;
}
