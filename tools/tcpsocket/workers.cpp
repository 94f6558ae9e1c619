#include "workers.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <tcpsocket/errors.hpp>
#include <thread>
#include <vector>

#include "app_manifest.hpp"
#include "listen_command.hpp"
#include "messages.hpp"
#include "shutdown_signal.hpp"

namespace tcpsocket::cli {
namespace {

// Binds (without listening) a SO_REUSEPORT socket to host:port, so that port 0 becomes a real
// port every worker can then bind too; a socket that does not listen takes no connections.
int reservePort(const std::string& host, std::uint16_t port, std::uint16_t& bound) {
  sockaddr_storage addr{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof *v4;
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof *v6;
  } else {
    throw InvalidAddressError("\"" + host + "\" is not an IPv4 or IPv6 address");
  }
  const int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    throwListenError(std::error_code(err, std::system_category()), hostPort(host, port));
  }
  len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  bound = ntohs(addr.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
  return fd;
}

// A worker: one server on one loop; reports 'k' (listening) or 'x' (failed) on `report`, then
// closes it, so that the supervisor sees end-of-file once every worker has answered or died.
// Never returns: whatever happens, the child must not run its parent's code after fork().
[[noreturn]] void worker(ListenOptions options, bool verbose, int report) {
  auto answer = [&report](const char* what) {
    if (report < 0) return;
    [[maybe_unused]] const ssize_t n = ::write(report, what, 1);
    ::close(report);
    report = -1;
  };
  int status = 1;
  try {
    status = serve(options, verbose, [&answer](const std::string&, std::uint16_t) { answer("k"); });
  } catch (const Error& e) {
    printError(e.name(), e.what());
  } catch (const std::exception& e) {
    printError("Error", e.what());
  } catch (...) {
    printError("Error", "worker failed");
  }
  answer("x");
  std::fflush(stdout);
  _exit(status);
}

// Each worker leaves its loop within 3.4 s of SIGTERM (listen_command.cpp); one that is stopped
// (SIGSTOP) or wedged must not hold the supervisor, and so the whole group, past the 5 s a stop is
// promised in.
constexpr auto kWorkerStopDeadline = std::chrono::milliseconds(4800);

int stopAll(std::vector<pid_t> children) {
  for (const pid_t pid : children) ::kill(pid, SIGTERM);
  int result = 0;
  const auto deadline = std::chrono::steady_clock::now() + kWorkerStopDeadline;
  while (!children.empty()) {
    const bool late = std::chrono::steady_clock::now() >= deadline;
    for (auto it = children.begin(); it != children.end();) {
      if (late) {
        printError("WorkerError",
                   "worker " + std::to_string(*it) + " did not stop in time and was killed");
        ::kill(*it, SIGKILL);
      }
      int status = 0;
      const pid_t done = ::waitpid(*it, &status, late ? 0 : WNOHANG);
      if (done == 0) {
        ++it;
        continue;
      }
      if (done < 0 || late || !WIFEXITED(status) || WEXITSTATUS(status) != 0) result = 1;
      it = children.erase(it);
    }
    if (!children.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return result;
}

}  // namespace

int runWorkers(const ListenOptions& options, bool verbose) {
  checkListenAllowed(options.manifest, options.host, options.port);  // one error line, not N
  std::uint16_t port = 0;
  const int reservation = reservePort(options.host, options.port, port);
  ListenOptions perWorker = options;
  perWorker.port = port;

  // Blocked before fork: the workers inherit the mask (each takes the signals on its loop), and
  // this process takes them with sigwait() below — every signal a server takes, and SIGCHLD, so
  // that none of them can kill the supervisor and leave its workers behind.
  blockServerSignals();
  sigset_t signals;
  pthread_sigmask(SIG_BLOCK, nullptr, &signals);
  sigaddset(&signals, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  const pid_t supervisor = ::getpid();

  int pipeFds[2];
  if (::pipe2(pipeFds, O_CLOEXEC) != 0)
    throw NetworkError("pipe: " + std::string(std::strerror(errno)));
  std::vector<pid_t> children;
  for (std::uint32_t i = 0; i < options.workers; ++i) {
    std::fflush(stdout);
    const pid_t pid = ::fork();
    if (pid == 0) {
      // Even a supervisor killed with SIGKILL takes its workers along: each gets SIGTERM and
      // drains. (Checked after setting it: the supervisor may already be gone.)
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != supervisor) _exit(1);
      ::close(pipeFds[0]);
      ::close(reservation);
      // SIGCHLD is the supervisor's to wait for; a worker's --exec reaps through its own watch.
      sigset_t child;
      sigemptyset(&child);
      sigaddset(&child, SIGCHLD);
      pthread_sigmask(SIG_UNBLOCK, &child, nullptr);
      worker(perWorker, verbose, pipeFds[1]);
    }
    if (pid < 0) break;
    children.push_back(pid);
  }
  ::close(pipeFds[1]);
  std::uint32_t ready = 0;
  char answer = 0;
  while (ready < children.size() && ::read(pipeFds[0], &answer, 1) == 1 && answer == 'k') ++ready;
  ::close(pipeFds[0]);
  ::close(reservation);
  if (ready != options.workers) {
    stopAll(children);
    return 1;
  }
  announceListening(options.host, port);

  for (;;) {
    int received = 0;
    if (sigwait(&signals, &received) != 0) continue;
    if (isStopSignal(received)) return stopAll(children);  // forwarded to each as SIGTERM
    if (received != SIGCHLD) continue;  // SIGHUP, SIGUSR1, SIGUSR2: ignored, as by the workers
    // A worker ended by itself: the group is no longer whole; stop it and fail.
    int status = 0;
    const pid_t gone = ::waitpid(-1, &status, WNOHANG);
    if (gone > 0) {
      printError("WorkerError", "worker " + std::to_string(gone) + " ended unexpectedly");
      std::erase(children, gone);
      stopAll(children);
      return 1;
    }
  }
}

}  // namespace tcpsocket::cli
