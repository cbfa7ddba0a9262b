#pragma once

// Helpers for tests: fixtures, scratch directories and child processes.

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace rightsize::testing {

// Contents of tests/fixtures/<relative>; aborts the test binary if missing.
std::string readFixture(const std::string& relative);

// A fresh directory under $TMPDIR, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // Writes `content` to path()/relative, creating parent directories.
  void write(const std::string& relative, const std::string& content) const;
  void makeDirectories(const std::string& relative) const;
  void remove(const std::string& relative) const;

 private:
  std::string path_;
};

// A child process started with fork/exec; stderr and stdout are captured
// through one pipe. The destructor kills it (SIGKILL, by pid) and reaps it.
class Subprocess {
 public:
  Subprocess(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env = {});
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  // Reads output until a line contains `needle` or `timeout` passes; returns
  // that line or "" on timeout or EOF. Everything read is kept in output().
  std::string waitForLine(const std::string& needle, std::chrono::milliseconds timeout);
  // Waits (bounded) for the child to exit by itself; returns its status as
  // from waitpid, or -1 if it did not exit in time (then SIGKILLed).
  int wait(std::chrono::milliseconds timeout);
  // Sends `signal` and waits (bounded) for exit; returns the exit status as
  // from waitpid, or -1 if the child did not exit in time (then SIGKILLed).
  int stop(int signal, std::chrono::milliseconds timeout);
  // Reads any remaining output until EOF or `timeout`.
  void drain(std::chrono::milliseconds timeout);
  const std::string& output() const { return output_; }

 private:
  bool readSome(std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  int out_fd_ = -1;
  bool exited_ = false;
  std::string output_;
  std::size_t scanned_ = 0;
};

// Path of the built `rightsize` binary (set by CMake).
std::string rightsizeBinary();

struct CommandResult {
  int exit_code = -1;  // -1 when the command could not run or timed out
  std::string output;  // stdout and stderr
};

// Runs `promtool check metrics` on an exposition text (promtool comes from
// Debian's prometheus package, installed by scripts/test).
CommandResult promtoolCheckMetrics(const std::string& exposition);

}  // namespace rightsize::testing
