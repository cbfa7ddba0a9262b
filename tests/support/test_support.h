#pragma once

// Helpers for tests: fixtures, scratch directories and child processes.

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "rightsize/core/process.h"

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

// Starts a child process; aborts the test binary when fork/exec fails.
std::unique_ptr<ChildProcess> spawn(const std::vector<std::string>& argv,
                                    const std::vector<std::string>& extra_env = {});

// Paths of the built `rightsize` and `rightsize-demo` binaries (set by CMake).
std::string rightsizeBinary();
std::string rightsizeDemoBinary();

struct CommandResult {
  int exit_code = -1;  // -1 when the command could not run or timed out
  std::string output;  // stdout and stderr
};

// Runs `promtool check metrics` on an exposition text (promtool comes from
// Debian's prometheus package, installed by scripts/test).
CommandResult promtoolCheckMetrics(const std::string& exposition);

// Sets environment variables for the scope of a test, unsetting them after.
class ScopedEnvironment {
 public:
  ScopedEnvironment() = default;
  ScopedEnvironment(const ScopedEnvironment&) = delete;
  ScopedEnvironment& operator=(const ScopedEnvironment&) = delete;
  ~ScopedEnvironment() {
    for (const auto& name : names_) ::unsetenv(name.c_str());
  }
  void set(const std::string& name, const std::string& value) {
    names_.push_back(name);
    ::setenv(name.c_str(), value.c_str(), 1);
  }

 private:
  std::vector<std::string> names_;
};

}  // namespace rightsize::testing
