// Out of file descriptors for real: a child process with a low RLIMIT_NOFILE runs an echo server
// while more clients connect than it may hold. The accept loop must neither spin (CPU time stays
// low while exhausted) nor stop for good (service resumes once descriptors are freed).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "support/test_support.hpp"

namespace test {
namespace {

// utime + stime of a process, in seconds.
double cpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));  // after "pid (comm) "
  std::string skip;
  for (int i = 3; i <= 13; ++i) fields >> skip;  // state .. cmajflt
  long utime = 0;
  long stime = 0;
  fields >> utime >> stime;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

[[noreturn]] void runEchoServerWithFewDescriptors(int reportFd, rlim_t limit) {
  const rlimit rl{limit, limit};
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) _exit(3);
  ts::EventLoop loop;
  auto server = ts::TCPServerSocket::listen(
      loop, 0, {.binaryType = ts::BinaryType::ArrayBuffer, .localAddress = "127.0.0.1"});
  server.onconnect([](const ts::TCPServerSocketEvent& e) {
    e.socket.ondata(
        [](const ts::TCPSocketEvent& d) { d.target.send(std::get<ts::ArrayBuffer>(d.data)); });
  });
  const std::uint16_t port = server.localPort();
  if (write(reportFd, &port, sizeof port) != sizeof port) _exit(4);
  loop.runFor(60s);  // bounded; the parent kills it long before
  _exit(0);
}

bool echoes(RawConn& conn, const std::string& text, std::chrono::milliseconds within) {
  conn.writeAll(text);
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    conn.pump();
    if (conn.received().find(text) != std::string::npos) return true;
    if (conn.failed() || conn.eof()) return false;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

TEST(DescriptorExhaustion, AcceptBacksOffWithoutSpinningAndServiceResumes) {
  int pipeFds[2];
  ASSERT_EQ(pipe(pipeFds), 0);
  constexpr rlim_t kLimit = 48;
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(pipeFds[0]);
    runEchoServerWithFewDescriptors(pipeFds[1], kLimit);
  }
  close(pipeFds[1]);
  std::uint16_t port = 0;
  ASSERT_EQ(read(pipeFds[0], &port, sizeof port), static_cast<ssize_t>(sizeof port));
  close(pipeFds[0]);

  // Twice the child's limit: the first ~40 are accepted, the rest wait in the kernel's backlog
  // while every accept() fails with EMFILE.
  std::vector<RawConn> clients;
  for (rlim_t i = 0; i < 2 * kLimit; ++i) clients.push_back(RawConn::connectTo("127.0.0.1", port));
  EXPECT_TRUE(echoes(clients.front(), "accepted before exhaustion", 5000ms));
  std::this_thread::sleep_for(300ms);  // exhausted by now

  const double before = cpuSeconds(child);
  std::this_thread::sleep_for(1500ms);
  const double spent = cpuSeconds(child) - before;
  // A spinning accept loop burns the whole 1.5 s; backing off costs a few wake-ups.
  EXPECT_LT(spent, 0.3) << "CPU seconds used by the exhausted server in 1.5 s";
  EXPECT_TRUE(echoes(clients.front(), "still serving", 5000ms))
      << "accepted connections keep working";

  // Free 30 descriptors: the child then accepts 30 backlogged clients, in order. Client kLimit
  // was certainly in the backlog (the child also holds its own few descriptors) and is now among
  // those 30.
  for (int i = 1; i <= 30; ++i) clients[static_cast<std::size_t>(i)].close();
  EXPECT_TRUE(echoes(clients[kLimit], "accepted after recovery", 10000ms))
      << "a connection from the backlog was accepted once descriptors were free";

  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
}

}  // namespace
}  // namespace test
