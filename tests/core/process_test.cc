#include "rightsize/core/process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstdlib>
#include <thread>

namespace rightsize {
namespace {

using namespace std::chrono_literals;

TEST(ChildProcessTest, CapturesOutputAndExitStatus) {
  auto child = ChildProcess::start({"/bin/sh", "-c", "echo hello; echo world >&2; exit 3"});
  ASSERT_TRUE(child.ok());
  EXPECT_EQ((*child)->waitForLine("world", 10s), "world");
  const int status = (*child)->wait(10s);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3);
  EXPECT_NE((*child)->output().find("hello"), std::string::npos);
}

// A child that writes more than a pipe holds (64 KiB) blocks until it is
// read: drain(0ms) must empty the pipe, not return at once.
TEST(ChildProcessTest, DrainWithoutTimeoutEmptiesThePipe) {
  auto child = ChildProcess::start({"/bin/sh", "-c", "head -c 200000 /dev/zero | tr '\\0' x; echo; echo done"});
  ASSERT_TRUE(child.ok());
  for (int i = 0; i < 500 && (*child)->output().find("done") == std::string::npos; ++i) {
    std::this_thread::sleep_for(10ms);
    (*child)->drain(0ms);
  }
  EXPECT_NE((*child)->output().find("done"), std::string::npos) << (*child)->output().size() << " bytes read";
  EXPECT_EQ((*child)->wait(10s), 0);
}

TEST(ChildProcessTest, ExtraEnvironmentOverridesInheritedVariables) {
  ::setenv("RIGHTSIZE_TEST_VARIABLE", "inherited", 1);
  auto child = ChildProcess::start({"/bin/sh", "-c", "echo value=$RIGHTSIZE_TEST_VARIABLE"},
                                   {"RIGHTSIZE_TEST_VARIABLE=overridden"});
  ::unsetenv("RIGHTSIZE_TEST_VARIABLE");
  ASSERT_TRUE(child.ok());
  EXPECT_EQ((*child)->waitForLine("value=", 10s), "value=overridden");
}

TEST(ChildProcessTest, ChildrenStartWithNoBlockedSignals) {
  sigset_t term, previous;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &term, &previous);
  auto child = ChildProcess::start({"/bin/sh", "-c", "grep SigBlk /proc/self/status"});
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  ASSERT_TRUE(child.ok());
  const std::string line = (*child)->waitForLine("SigBlk", 10s);
  EXPECT_NE(line.find("0000000000000000"), std::string::npos) << line;
}

TEST(ChildProcessTest, StopSignalsAndReaps) {
  auto child = ChildProcess::start({"/bin/sh", "-c", "echo started; exec sleep 60"});
  ASSERT_TRUE(child.ok());
  ASSERT_EQ((*child)->waitForLine("started", 10s), "started");
  const int status = (*child)->stop(SIGTERM, 10s);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  EXPECT_FALSE((*child)->running());
}

TEST(ChildProcessTest, AMissingProgramExitsWith127) {
  auto child = ChildProcess::start({"/nonexistent/program"});
  ASSERT_TRUE(child.ok());
  const int status = (*child)->wait(10s);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 127);
}

}  // namespace
}  // namespace rightsize
