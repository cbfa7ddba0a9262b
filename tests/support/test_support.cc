#include "test_support.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace rightsize::testing {

std::string readFixture(const std::string& relative) {
  const std::string path = std::string(RIGHTSIZE_FIXTURES_DIR) + "/" + relative;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "missing fixture %s\n", path.c_str());
    std::abort();
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string rightsizeBinary() { return RIGHTSIZE_BINARY; }

CommandResult promtoolCheckMetrics(const std::string& exposition) {
  TempDir dir;
  dir.write("metrics.txt", exposition);
  Subprocess promtool(
      {"/bin/sh", "-c", std::string(RIGHTSIZE_PROMTOOL) + " check metrics < " + dir.path() + "/metrics.txt"});
  promtool.drain(std::chrono::seconds(30));
  CommandResult result;
  result.output = promtool.output();
  const int status = promtool.wait(std::chrono::seconds(5));
  result.exit_code = status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/rightsize-test-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed: " + pattern);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

void TempDir::makeDirectories(const std::string& relative) const {
  std::filesystem::create_directories(path_ + "/" + relative);
}

void TempDir::write(const std::string& relative, const std::string& content) const {
  const std::filesystem::path file = path_ + "/" + relative;
  std::filesystem::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << content;
}

void TempDir::remove(const std::string& relative) const { std::filesystem::remove_all(path_ + "/" + relative); }

Subprocess::Subprocess(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  for (const auto& e : extra_env) env_strings.push_back(e);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::dup2(fds[1], STDERR_FILENO);
    ::execve(args[0], args.data(), envp.data());
    std::_Exit(127);
  }
  ::close(fds[1]);
  out_fd_ = fds[0];
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !exited_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) ::close(out_fd_);
}

bool Subprocess::readSome(std::chrono::milliseconds timeout) {
  pollfd pfd{out_fd_, POLLIN, 0};
  if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char buffer[4096];
  const ssize_t n = ::read(out_fd_, buffer, sizeof buffer);
  if (n <= 0) return false;
  output_.append(buffer, static_cast<std::size_t>(n));
  return true;
}

std::string Subprocess::waitForLine(const std::string& needle, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    // Look for a complete line containing the needle in what is buffered.
    std::size_t start = scanned_;
    while (true) {
      const auto end = output_.find('\n', start);
      if (end == std::string::npos) break;
      const std::string line = output_.substr(start, end - start);
      start = end + 1;
      scanned_ = start;
      if (line.find(needle) != std::string::npos) return line;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !readSome(left)) return {};
  }
}

void Subprocess::drain(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !readSome(left)) return;
  }
}

int Subprocess::wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0 || exited_) return -1;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exited_ = true;
      return status;
    }
    readSome(std::chrono::milliseconds(20));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  exited_ = true;
  return -1;
}

int Subprocess::stop(int signal, std::chrono::milliseconds timeout) {
  if (pid_ <= 0 || exited_) return -1;
  ::kill(pid_, signal);
  return wait(timeout);
}

}  // namespace rightsize::testing
