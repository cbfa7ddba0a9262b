#pragma once

// A child process started with fork/exec whose stdout and stderr are captured
// through one pipe. Used by the demo to run agents and by tests to run the
// binary and real peers (promtool, redis-server). The owner stops it by pid;
// the destructor kills (SIGKILL) and reaps a child still running. The child
// starts with no blocked signals and is killed (PR_SET_PDEATHSIG) when the
// thread that started it exits, so start children from a long-lived thread.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rightsize/core/status.h"

namespace rightsize {

// Not thread-safe.
class ChildProcess {
 public:
  // `argv[0]` is a path (no PATH search). `extra_env` entries ("NAME=value")
  // are added to this process's environment, replacing same-named ones.
  // With `with_input`, the child's stdin is a pipe fed by writeInput();
  // otherwise it is /dev/null.
  static Expected<std::unique_ptr<ChildProcess>> start(const std::vector<std::string>& argv,
                                                       const std::vector<std::string>& extra_env = {},
                                                       bool with_input = false);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running() const { return !exited_; }

  // Reads output until a line contains `needle` or `timeout` passes; returns
  // that line, or "" on timeout or end of output. Everything read is kept.
  std::string waitForLine(const std::string& needle, std::chrono::milliseconds timeout);
  // Reads what the child writes within `timeout` (until end of output at
  // most), and at least what is already there, also with a zero timeout.
  void drain(std::chrono::milliseconds timeout);
  const std::string& output() const { return output_; }

  // Writes to the child's stdin (started with_input); false once it is gone.
  // The process must ignore SIGPIPE (the programs' mains do).
  bool writeInput(std::string_view text);
  void closeInput();

  // Waits for the child to exit by itself; returns its waitpid status, or -1
  // when it did not exit within `timeout` (it is then SIGKILLed and reaped).
  int wait(std::chrono::milliseconds timeout);
  // Sends `signal`, then wait(timeout).
  int stop(int signal, std::chrono::milliseconds timeout);

 private:
  ChildProcess(pid_t pid, int out_fd, int in_fd) : pid_(pid), out_fd_(out_fd), in_fd_(in_fd) {}
  bool readSome(std::chrono::milliseconds timeout);

  pid_t pid_;
  int out_fd_;
  int in_fd_;  // -1 without input
  bool exited_ = false;
  std::string output_;
  std::size_t scanned_ = 0;
};

}  // namespace rightsize
