#include "app_manifest.hpp"

#include <memory>
#include <tcpsocket/app_policy.hpp>

namespace tcpsocket::cli {

void applyManifest(EventLoop& loop, const std::string& path) {
  if (path.empty()) return;
  loop.setPolicy(std::make_shared<const AppPolicy>(AppPolicy::fromManifestFile(path)));
}

}  // namespace tcpsocket::cli
