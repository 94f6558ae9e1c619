#include "shutdown_signal.hpp"

#include <pthread.h>
#include <signal.h>

#include <cstring>
#include <string>

namespace tcpsocket::cli {
namespace {

// SIGCHLD too: --exec reaps its programs through a watch of it.
sigset_t serverSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (const int s : {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGCHLD}) {
    sigaddset(&set, s);
  }
  return set;
}

}  // namespace

void blockServerSignals() {
  const sigset_t set = serverSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

bool isStopSignal(int signal) { return signal == SIGINT || signal == SIGTERM || signal == SIGQUIT; }

ShutdownSignal::ShutdownSignal(EventLoop& loop, std::function<void()> onStop, VerboseLog log,
                               std::function<void()> onHandover) {
  blockServerSignals();
  auto taken = [this, onStop = std::move(onStop), log,
                onHandover = std::move(onHandover)](int received) {
    const std::string name = std::string("SIG") + sigabbrev_np(received);
    if (received == SIGUSR2 && onHandover && !stopping_) {
      onHandover();
    } else if (!isStopSignal(received)) {
      log(name + " ignored");
    } else if (!stopping_) {
      stopping_ = true;
      log(name + ": stopping");
      onStop();
    }
  };
  watch_ = loop.watchSignals({SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2}, taken);
}

// Still blocked here (the Delivery is over): the default actions that come back with the watch's
// end cannot end the process on its way out.
ShutdownSignal::~ShutdownSignal() { watch_.cancel(); }

ShutdownSignal::Delivery::Delivery() {
  const sigset_t set = serverSignals();
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

ShutdownSignal::Delivery::~Delivery() { blockServerSignals(); }

}  // namespace tcpsocket::cli
