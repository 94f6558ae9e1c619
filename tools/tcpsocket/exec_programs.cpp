#include "exec_programs.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

extern char** environ;

namespace tcpsocket::cli {
namespace {

class Pipe {
 public:
  Pipe() {
    if (::pipe2(fds_, O_CLOEXEC) != 0)
      throw std::system_error(errno, std::generic_category(), "pipe");
  }
  ~Pipe() {
    for (const int fd : fds_) {
      if (fd >= 0) ::close(fd);
    }
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  int readEnd() const { return fds_[0]; }
  int writeEnd() const { return fds_[1]; }
  /// Hands one end over to the caller (the other is closed with the Pipe).
  int take(int end) {
    const int fd = fds_[end];
    fds_[end] = -1;
    return fd;
  }

 private:
  int fds_[2] = {-1, -1};
};

struct Spawned {
  pid_t pid;
  int toStdin;     // ours, non-blocking
  int fromStdout;  // ours, non-blocking
};

// posix_spawn: no fork of a process that may hold thousands of connections. The child gets a
// clean signal state (our mask blocks the server's signals on some threads; SIGPIPE is ignored
// here) and no descriptor beyond its three.
Spawned spawnShell(const std::string& command, const std::vector<std::string>& extraEnv) {
  Pipe in, out;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.readEnd(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out.writeEnd(), STDOUT_FILENO);
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigfillset(&defaults);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  // Its own process group (of its pid), so that terminating it reaches what the shell started.
  posix_spawnattr_setpgroup(&attributes, 0);
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  std::vector<std::string> env(extraEnv);
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string shell = "/bin/sh", dashC = "-c", script = command;
  char* argv[] = {shell.data(), dashC.data(), script.data(), nullptr};

  pid_t pid = -1;
  const int err = ::posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (err != 0) throw std::system_error(err, std::generic_category(), "posix_spawn /bin/sh");
  const int toStdin = in.take(1), fromStdout = out.take(0);
  for (const int fd : {toStdin, fromStdout})
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return {pid, toStdin, fromStdout};
}

constexpr auto kGrace = std::chrono::seconds(5);

void closeFd(int& fd) noexcept {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

struct ExecPrograms::Program {
  explicit Program(const Spawned& child)
      : pid(child.pid), toStdin(child.toStdin), fromStdout(child.fromStdout) {}
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;

  pid_t pid;
  int toStdin;
  int fromStdout;
  std::unique_ptr<Relay> relay;
  bool exited = false;
  bool connectionClosed = false;
  bool stdinClosed = false;  // what the connection sent is written to the program, then EOF
  EventLoop::Timer grace;    // from the connection's end to the program's SIGTERM

  ~Program() {
    grace.cancel();
    relay.reset();  // before the descriptors it watches
    closeFd(toStdin);
    closeFd(fromStdout);
  }
};

ExecPrograms::ExecPrograms(EventLoop& loop, std::string command, VerboseLog log)
    : loop_(loop), command_(std::move(command)), log_(log) {
  ::signal(SIGPIPE, SIG_IGN);  // a program gone before its input: EPIPE, not our death
  childWatch_ = loop.watchSignals({SIGCHLD}, [this](int) { reap(); });
}

ExecPrograms::~ExecPrograms() { childWatch_.cancel(); }

void ExecPrograms::start(TCPSocket socket) {
  Spawned child{};
  try {
    child = spawnShell(command_, {"TCPSOCKET_REMOTE_ADDR=" + socket.remoteAddress(),
                                  "TCPSOCKET_REMOTE_PORT=" + std::to_string(socket.remotePort()),
                                  "TCPSOCKET_LOCAL_PORT=" + std::to_string(socket.localPort())});
  } catch (const std::system_error& e) {
    printError("ExecError", std::string("cannot start the program: ") + e.what());
    socket.closeImmediately();
    return;
  }
  log_("started program " + std::to_string(child.pid) + " for " +
       hostPort(socket.host(), socket.port()));
  auto program = std::make_unique<Program>(child);
  const pid_t pid = child.pid;
  // The peer's FIN (allowHalfOpen) or the connection's end closes the program's stdin once it
  // has everything; a program that stops reading only ends that direction.
  program->relay = std::make_unique<Relay>(
      loop_, socket, Relay::End{child.fromStdout, "the program's output"},
      Relay::End{child.toStdin, "the program's input", false}, log_, [this, pid] {
        auto it = programs_.find(pid);
        if (it == programs_.end()) return;
        closeFd(it->second->toStdin);
        it->second->stdinClosed = true;
        forgetIfDone(pid);
      });
  Program& p = *program;
  programs_.emplace(pid, std::move(program));
  socket.addEventListener(SocketEventType::Close,
                          [this, &p](const TCPSocketEvent&) { connectionClosed(p); });
  p.relay->startInput();
  reap();  // it may have exited already, its SIGCHLD merged with an earlier one
}

// What the peer sent is still delivered to the program; its stdout is no longer read: nobody
// would receive it. A program that has not ended kGrace later is terminated: it no longer
// serves anyone, and would otherwise escape --max-connections.
void ExecPrograms::connectionClosed(Program& p) {
  p.connectionClosed = true;
  p.relay->stopInput();
  closeFd(p.fromStdout);
  p.relay->endOutput();
  const pid_t pid = p.pid;
  p.grace = loop_.setTimeout(kGrace, [this, pid] {
    auto it = programs_.find(pid);
    if (it != programs_.end() && !it->second->exited) terminate(pid);
  });
}

// Only our own programs, each by its pid: another loop's programs are its own to reap.
void ExecPrograms::reap() {
  for (auto& [pid, program] : programs_) {
    if (program->exited) continue;
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) != pid) continue;
    program->exited = true;
    log_("program " + std::to_string(pid) + " exited with status " +
         std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)));
  }
  for (auto it = programs_.begin(); it != programs_.end();) {
    const pid_t pid = (it++)->first;  // forgetIfDone erases
    forgetIfDone(pid);
  }
}

void ExecPrograms::forgetIfDone(pid_t pid) {
  auto it = programs_.find(pid);
  if (it == programs_.end()) return;
  const Program& p = *it->second;
  if (p.exited && p.connectionClosed && p.stdinClosed) programs_.erase(it);  // destroys p
}

void ExecPrograms::terminateAll() noexcept {
  for (auto& [pid, program] : programs_) {
    if (!program->exited) terminate(pid);
  }
}

// The program's whole process group: the shell, and whatever it started.
void ExecPrograms::terminate(pid_t pid) noexcept {
  log_("terminating program " + std::to_string(pid));
  ::kill(-pid, SIGTERM);
}

}  // namespace tcpsocket::cli
