#include "shutdown_signal.hpp"

#include <pthread.h>
#include <signal.h>

#include <cstring>
#include <string>

namespace tcpsocket::cli {
namespace {

sigset_t serverSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (const int s : {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2}) sigaddset(&set, s);
  return set;
}

}  // namespace

void blockServerSignals() {
  const sigset_t set = serverSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

bool isStopSignal(int signal) { return signal == SIGINT || signal == SIGTERM || signal == SIGQUIT; }

ShutdownSignal::ShutdownSignal(EventLoop& loop, std::function<void()> onStop, VerboseLog log) {
  blockServerSignals();
  watcher_ =
      std::thread([this, &loop, onStop = std::move(onStop), log] { watch(loop, onStop, log); });
}

// Loops until the destructor says so: returning after one signal would leave every signal of the
// set blocked for good, SIGTERM included.
void ShutdownSignal::watch(EventLoop& loop, const std::function<void()>& onStop, VerboseLog log) {
  const sigset_t set = serverSignals();
  bool stopping = false;
  for (;;) {
    int received = 0;
    if (sigwait(&set, &received) != 0) continue;
    if (leaving_.load()) return;
    const std::string name = sigabbrev_np(received);
    if (!isStopSignal(received)) {
      loop.post([log, name] { log("SIG" + name + " ignored"); });
    } else if (!stopping) {
      stopping = true;
      loop.post([log, name, onStop] {
        log("SIG" + name + ": stopping");
        onStop();
      });
    }
  }
}

ShutdownSignal::~ShutdownSignal() {
  leaving_.store(true);
  pthread_kill(watcher_.native_handle(), SIGUSR2);  // any signal of the set wakes the watcher
  watcher_.join();
}

}  // namespace tcpsocket::cli
