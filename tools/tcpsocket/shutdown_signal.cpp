#include "shutdown_signal.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

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

ShutdownSignal::ShutdownSignal(EventLoop& loop, std::function<void()> onStop, VerboseLog log,
                               std::function<void()> onHandover)
    : onStop_(std::move(onStop)), log_(log), onHandover_(std::move(onHandover)) {
  blockServerSignals();
  const sigset_t set = serverSignals();
  fd_ = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "signalfd");
  watch_ = loop.watchDescriptor(fd_, {.readable = true}, [this](EventLoop::Ready) {
    signalfd_siginfo info{};
    while (::read(fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      taken(static_cast<int>(info.ssi_signo));
    }
  });
}

void ShutdownSignal::taken(int received) {
  const std::string name = std::string("SIG") + sigabbrev_np(received);
  if (received == SIGUSR2 && onHandover_ && !stopping_) {
    onHandover_();
  } else if (!isStopSignal(received)) {
    log_(name + " ignored");
  } else if (!stopping_) {
    stopping_ = true;
    log_(name + ": stopping");
    onStop_();
  }
}

// The signals stay blocked: one that comes now stays queued, and ends nothing.
ShutdownSignal::~ShutdownSignal() {
  watch_.cancel();
  ::close(fd_);
}

}  // namespace tcpsocket::cli
