#include "app_manifest.hpp"

#include <memory>
#include <tcpsocket/app_policy.hpp>

namespace tcpsocket::cli {

void applyManifest(EventLoop& loop, const std::string& path) {
  if (path.empty()) return;
  loop.setPolicy(std::make_shared<const AppPolicy>(AppPolicy::fromManifestFile(path)));
}

void checkListenAllowed(const std::string& path, const std::string& host, std::uint16_t port) {
  if (!path.empty()) AppPolicy::fromManifestFile(path).checkListen(host, port);
}

}  // namespace tcpsocket::cli
