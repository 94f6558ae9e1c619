#include "shutdown_signal.hpp"

#include <pthread.h>
#include <signal.h>

namespace tcpsocket::cli {
namespace {
sigset_t shutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR2);  // used only to wake the watcher when we exit
  return set;
}
}  // namespace

ShutdownSignal::ShutdownSignal(EventLoop& loop, std::function<void()> onSignal) {
  const sigset_t set = shutdownSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  watcher_ = std::thread([&loop, onSignal = std::move(onSignal), set] {
    int received = 0;
    if (sigwait(&set, &received) == 0 && received != SIGUSR2) loop.post(onSignal);
  });
}

ShutdownSignal::~ShutdownSignal() {
  pthread_kill(watcher_.native_handle(), SIGUSR2);
  watcher_.join();
}

}  // namespace tcpsocket::cli
