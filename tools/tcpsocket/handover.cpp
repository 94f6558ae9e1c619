#include "handover.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <system_error>

extern char** environ;

namespace tcpsocket::cli {
namespace {

constexpr int kFirstListener = 3;  // SD_LISTEN_FDS_START
constexpr std::string_view kReady = "READY=1\n";

bool startsWith(const char* entry, std::string_view prefix) {
  return std::string_view(entry).substr(0, prefix.size()) == prefix;
}

int numberFrom(const char* text) {
  if (text == nullptr || *text == '\0') return -1;
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text, &end, 10);
  return errno == 0 && *end == '\0' && value >= 0 && value <= 1000000 ? static_cast<int>(value)
                                                                      : -1;
}

}  // namespace

std::vector<int> inheritedListeners() {
  std::vector<int> fds;
  const int pid = numberFrom(std::getenv("LISTEN_PID"));
  const int count = numberFrom(std::getenv("LISTEN_FDS"));
  if (pid == static_cast<int>(::getpid()) && count > 0) {
    for (int i = 0; i < count; ++i) fds.push_back(kFirstListener + i);
  }
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  return fds;
}

void notifyReady() {
  const int fd = numberFrom(std::getenv("TCPSOCKET_READY_FD"));
  ::unsetenv("TCPSOCKET_READY_FD");
  if (fd < 0) return;
  [[maybe_unused]] const ssize_t n = ::write(fd, kReady.data(), kReady.size());
  ::close(fd);
}

Handover::Handover(EventLoop& loop, std::vector<int> listeners, std::vector<std::string> arguments,
                   VerboseLog log, std::function<void()> tookOver)
    : loop_(loop),
      listeners_(std::move(listeners)),
      arguments_(std::move(arguments)),
      log_(log),
      tookOver_(std::move(tookOver)) {
  // The path, read now: run again at a handover, it is the binary installed there by then (an
  // upgrade), where /proc/self/exe would be the file this process started from.
  char path[4096] = {};
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  program_ = n > 0 ? std::string(path, static_cast<std::size_t>(n)) : "/proc/self/exe";
}

Handover::~Handover() {
  cancel();
  readyWatch_.cancel();
  if (readyFd_ >= 0) ::close(readyFd_);
}

// A stop that comes before the new process is ready ends the handover: the new process is told
// to stop too (it drains what it may have accepted), or it would serve on, orphaned.
void Handover::cancel() noexcept {
  if (child_ <= 0 || done_) return;
  log_("stopping: process " + std::to_string(child_) + " will not take over");
  ::kill(child_, SIGTERM);
  child_ = -1;
  done_ = true;
  readyWatch_.cancel();
  ::close(readyFd_);
  readyFd_ = -1;
}

// fork, not posix_spawn: LISTEN_PID must hold the new process's own pid, written between fork
// and exec. The child runs only async-signal-safe calls (dup2, signal, sigprocmask, execve,
// _exit).
void Handover::start() {
  if (child_ > 0 || done_) {
    log_("SIGUSR2: a handover is already under way");
    return;
  }
  const int count = static_cast<int>(listeners_.size());
  const int firstFree = kFirstListener + count + 1;
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) {
    printError("HandoverError", std::string("pipe: ") + std::strerror(errno));
    return;
  }
  // Copies above the range the child fills, so that no dup2 there overwrites a source.
  std::vector<int> sources;
  for (const int fd : listeners_) sources.push_back(::fcntl(fd, F_DUPFD_CLOEXEC, firstFree));
  const int readySource = ::fcntl(ready[1], F_DUPFD_CLOEXEC, firstFree);
  ::close(ready[1]);

  std::vector<std::string> env = {"LISTEN_FDS=" + std::to_string(count), "LISTEN_PID=0000000000",
                                  "TCPSOCKET_READY_FD=" + std::to_string(kFirstListener + count)};
  for (char** e = environ; *e != nullptr; ++e) {
    if (!startsWith(*e, "LISTEN_") && !startsWith(*e, "TCPSOCKET_READY_FD=")) env.emplace_back(*e);
  }
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  char* const pidDigits = env[1].data() + std::strlen("LISTEN_PID=");
  std::vector<std::string> args = {"tcpsocket"};
  args.insert(args.end(), arguments_.begin(), arguments_.end());
  if (std::find(args.begin(), args.end(), "--systemd") == args.end())
    args.emplace_back("--systemd");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  sigset_t none, all, before;
  sigemptyset(&none);
  sigfillset(&all);

  // Every signal blocked across the fork: until the child has put the default actions back, a
  // signal there would run the loop's handler, which writes to a pipe the parent reads (a stop
  // meant for the child would reach the parent, and the child would never see it).
  ::pthread_sigmask(SIG_SETMASK, &all, &before);
  const pid_t pid = ::fork();
  if (pid == 0) {
    for (int i = 0; i < count; ++i) {
      ::dup2(sources[static_cast<std::size_t>(i)], kFirstListener + i);
    }
    ::dup2(readySource, kFirstListener + count);
    unsigned value = static_cast<unsigned>(::getpid());
    for (int d = 9; d >= 0; --d, value /= 10) pidDigits[d] = static_cast<char>('0' + value % 10);
    for (int signal = 1; signal < NSIG; ++signal) {
      if (signal != SIGKILL && signal != SIGSTOP && signal != SIGPIPE) ::signal(signal, SIG_DFL);
    }
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(program_.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  ::pthread_sigmask(SIG_SETMASK, &before, nullptr);
  for (const int fd : sources) ::close(fd);
  ::close(readySource);
  if (pid < 0) {
    ::close(ready[0]);
    printError("HandoverError", std::string("fork: ") + std::strerror(errno));
    return;
  }
  child_ = pid;
  readyFd_ = ready[0];
  log_("SIGUSR2: handing the listeners over to process " + std::to_string(pid));
  readyWatch_ =
      loop_.watchDescriptor(readyFd_, {.readable = true}, [this](EventLoop::Ready) { answered(); });
}

void Handover::answered() {
  char buffer[16] = {};
  const ssize_t n = ::read(readyFd_, buffer, sizeof buffer);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  readyWatch_.cancel();
  ::close(readyFd_);
  readyFd_ = -1;
  const pid_t child = child_;
  if (n > 0 && std::string_view(buffer, static_cast<std::size_t>(n)).starts_with("READY=1")) {
    done_ = true;
    log_("process " + std::to_string(child) + " took over: draining");
    tookOver_();
    return;
  }
  // It ended before listening (its own error line says why); reaped here, since nothing else
  // waits for it.
  child_ = -1;
  int status = 0;
  ::waitpid(child, &status, 0);
  printError("HandoverError",
             "the new process " + std::to_string(child) + " did not take over; still serving");
}

}  // namespace tcpsocket::cli
