// EventLoop::watchSignals and EventLoop::watchDescriptor (include/tcpsocket/event_loop.hpp): what
// a server needs to stop on SIGTERM and to read stdin or a pipe without helper threads.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "support/test_support.hpp"

namespace test {
namespace {

bool handledByDefault(int signal) {
  struct sigaction current {};
  ::sigaction(signal, nullptr, &current);
  return current.sa_handler == SIG_DFL;
}

struct Pipe {
  Pipe() {
    if (::pipe(fds) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  }
  ~Pipe() {
    ::close(fds[0]);
    ::close(fds[1]);
  }
  int reader() const { return fds[0]; }
  int writer() const { return fds[1]; }
  int fds[2];
};

TEST(LoopSignals, ASignalRunsTheCallbackOnTheLoopAndCancelRestoresTheDefaultAction) {
  ts::EventLoop loop;
  ASSERT_TRUE(handledByDefault(SIGUSR1));
  std::vector<int> seen;
  std::thread::id ranOn;
  auto watch = loop.watchSignals({SIGUSR1, SIGUSR2}, [&](int signal) {
    seen.push_back(signal);
    ranOn = std::this_thread::get_id();
  });
  EXPECT_FALSE(handledByDefault(SIGUSR1)) << "the process would die of the signal";
  ::kill(::getpid(), SIGUSR2);
  ASSERT_TRUE(runUntil(loop, [&] { return seen.size() == 1; }));
  ::kill(::getpid(), SIGUSR1);
  ASSERT_TRUE(runUntil(loop, [&] { return seen.size() == 2; }));
  EXPECT_EQ(seen, (std::vector<int>{SIGUSR2, SIGUSR1}));
  EXPECT_EQ(ranOn, std::this_thread::get_id());
  watch.cancel();
  EXPECT_TRUE(handledByDefault(SIGUSR1));
  EXPECT_TRUE(handledByDefault(SIGUSR2));
}

TEST(LoopSignals, AWatchKeepsRunGoingUntilItIsCancelled) {
  ts::EventLoop loop;
  std::atomic<bool> returned{false};
  std::atomic<bool> stoppedByWatchdog{false};
  ts::EventLoop::Watch watch;
  watch = loop.watchSignals({SIGUSR1}, [&](int) { watch.cancel(); });
  loop.setTimeout(50ms, [] { ::kill(::getpid(), SIGUSR1); });
  std::thread watchdog([&] {
    for (int i = 0; i < 1000 && !returned; ++i) std::this_thread::sleep_for(10ms);
    if (!returned) {
      stoppedByWatchdog = true;
      loop.stop();
    }
  });
  loop.run();  // the timer fires at 50 ms; after it only the watch keeps run() going
  returned = true;
  watchdog.join();
  EXPECT_FALSE(stoppedByWatchdog) << "run() did not return once the watch was cancelled";
  EXPECT_TRUE(handledByDefault(SIGUSR1));
}

TEST(LoopSignals, SignalsThatCannotBeCaughtAreRefused) {
  ts::EventLoop loop;
  for (int signal : {SIGKILL, SIGSTOP, 0, -1, 4096}) {
    EXPECT_THROW(loop.watchSignals({signal}, [](int) {}), std::invalid_argument) << signal;
  }
  EXPECT_THROW(loop.watchSignals({}, [](int) {}), std::invalid_argument);
  // Signals the C library keeps for itself (glibc: 32 and 33) are refused the same way; Asio
  // threw std::system_error for them.
  for (int signal = 32; signal < SIGRTMIN; ++signal) {
    EXPECT_THROW(loop.watchSignals({signal}, [](int) {}), std::invalid_argument) << signal;
  }
}

TEST(LoopDescriptors, LevelTriggeredACallbackThatReadsOneByteIsCalledUntilAllIsRead) {
  ts::EventLoop loop;
  Pipe pipe;
  const int flagsBefore = ::fcntl(pipe.reader(), F_GETFL);
  std::string read;
  int calls = 0;
  auto watch = loop.watchDescriptor(pipe.reader(), {.readable = true}, [&](ts::EventLoop::Ready r) {
    ++calls;
    EXPECT_TRUE(r.readable);
    EXPECT_FALSE(r.writable);
    char c = 0;
    if (::read(pipe.reader(), &c, 1) == 1) read += c;
  });
  runFor(loop, 20ms);
  EXPECT_EQ(calls, 0) << "called with nothing to read";
  ASSERT_EQ(::write(pipe.writer(), "abc", 3), 3);
  ASSERT_TRUE(runUntil(loop, [&] { return read == "abc"; }));
  runFor(loop, 20ms);
  EXPECT_EQ(calls, 3);
  ASSERT_EQ(::write(pipe.writer(), "d", 1), 1);  // and it waits again, for more
  ASSERT_TRUE(runUntil(loop, [&] { return read == "abcd"; }));
  watch.cancel();
  ASSERT_EQ(::write(pipe.writer(), "e", 1), 1);
  runFor(loop, 20ms);
  EXPECT_EQ(read, "abcd") << "called after cancel()";
  EXPECT_EQ(::fcntl(pipe.reader(), F_GETFL), flagsBefore) << "the loop changed the descriptor";
  // Taken out of the loop's set on cancel(): it can be watched again, and "e" is still there.
  auto again = loop.watchDescriptor(pipe.reader(), {.readable = true}, [&](ts::EventLoop::Ready) {
    char c = 0;
    if (::read(pipe.reader(), &c, 1) == 1) read += c;
  });
  ASSERT_TRUE(runUntil(loop, [&] { return read == "abcde"; }));
  again.cancel();
}

// Found by an attack (AddressSanitizer: heap-use-after-free): a callback run from a readiness
// edge that cancelled its own watch freed the watch, and the callback with it, while it ran.
TEST(LoopDescriptors, ACallbackMayCancelItsOwnWatchAndGoOnUsingWhatItCaptured) {
  ts::EventLoop loop;
  Pipe pipe;
  auto log = std::make_shared<std::string>();
  ts::EventLoop::Watch watch;
  watch = loop.watchDescriptor(pipe.reader(), {.readable = true},
                               [&watch, log, fd = pipe.reader()](ts::EventLoop::Ready) {
                                 char c = 0;
                                 if (::read(fd, &c, 1) == 1) *log += c;
                                 watch.cancel();
                                 *log += " cancelled";  // the closure must still be alive here
                               });
  runFor(loop, 20ms);  // the first look finds nothing: the call below comes from an edge
  ASSERT_EQ(::write(pipe.writer(), "x", 1), 1);
  ASSERT_TRUE(runUntil(loop, [&] { return !log->empty(); }));
  ASSERT_EQ(::write(pipe.writer(), "y", 1), 1);
  runFor(loop, 20ms);
  EXPECT_EQ(*log, "x cancelled");
}

TEST(LoopDescriptors, WritableAndEndOfFileAreReported) {
  ts::EventLoop loop;
  auto pipe = std::make_unique<Pipe>();
  bool writable = false;
  auto w = loop.watchDescriptor(pipe->writer(), {.writable = true},
                                [&](ts::EventLoop::Ready r) { writable = r.writable; });
  ASSERT_TRUE(runUntil(loop, [&] { return writable; }));
  w.cancel();
  bool sawEnd = false;
  auto r = loop.watchDescriptor(pipe->reader(), {.readable = true}, [&](ts::EventLoop::Ready) {
    char c = 0;
    if (::read(pipe->reader(), &c, 1) == 0) sawEnd = true;
  });
  ::close(pipe->fds[1]);
  pipe->fds[1] = ::open("/dev/null", O_WRONLY);  // keeps ~Pipe's close harmless
  ASSERT_TRUE(runUntil(loop, [&] { return sawEnd; })) << "end of file was not reported readable";
  r.cancel();
}

TEST(LoopDescriptors, WhatTheKernelCannotWatchIsRefused) {
  ts::EventLoop loop;
  char path[] = "/tmp/tcpsocket-watch-XXXXXX";
  const int file = ::mkstemp(path);
  ASSERT_GE(file, 0);
  ::unlink(path);
  try {
    loop.watchDescriptor(file, {.readable = true}, [](ts::EventLoop::Ready) {});
    ADD_FAILURE() << "a regular file was accepted";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EPERM);
  }
  ::close(file);
  EXPECT_THROW(loop.watchDescriptor(-1, {.readable = true}, [](ts::EventLoop::Ready) {}),
               std::system_error);
  Pipe pipe;
  EXPECT_THROW(loop.watchDescriptor(pipe.reader(), {}, [](ts::EventLoop::Ready) {}),
               std::invalid_argument);
}

TEST(LoopDescriptors, AnExceptionGoesToTheHandlerAndTheWatchGoesOn) {
  ts::EventLoop loop;
  int reported = 0;
  loop.setExceptionHandler([&](std::exception_ptr) { ++reported; });
  Pipe pipe;
  std::string read;
  auto watch = loop.watchDescriptor(pipe.reader(), {.readable = true}, [&](ts::EventLoop::Ready) {
    char c = 0;
    if (::read(pipe.reader(), &c, 1) == 1) read += c;
    throw std::runtime_error("listener bug");
  });
  ASSERT_EQ(::write(pipe.writer(), "xy", 2), 2);
  ASSERT_TRUE(runUntil(loop, [&] { return read == "xy"; }));
  EXPECT_EQ(reported, 2);
  watch.cancel();
}

TEST(LoopDescriptors, ALoopDestroyedWithWatchesLeavesTheDescriptorsOpen) {
  Pipe pipe;
  {
    ts::EventLoop loop;
    auto r = loop.watchDescriptor(pipe.reader(), {.readable = true}, [](ts::EventLoop::Ready) {});
    auto s = loop.watchSignals({SIGUSR1}, [](int) {});
    runFor(loop, 10ms);
  }
  EXPECT_TRUE(handledByDefault(SIGUSR1));
  EXPECT_NE(::fcntl(pipe.reader(), F_GETFD), -1) << "the loop closed the caller's descriptor";
  ASSERT_EQ(::write(pipe.writer(), "z", 1), 1);
  char c = 0;
  EXPECT_EQ(::read(pipe.reader(), &c, 1), 1);
}

}  // namespace
}  // namespace test
