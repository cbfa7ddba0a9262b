#include "rightsize/core/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace rightsize {

Expected<std::unique_ptr<ChildProcess>> ChildProcess::start(const std::vector<std::string>& argv,
                                                            const std::vector<std::string>& extra_env,
                                                            bool with_input) {
  if (argv.empty()) return Error(ErrorKind::kInvalidArgument, "no command given");
  // Everything the child needs is built before fork: between fork and exec
  // only async-signal-safe calls are allowed.
  // extra_env overrides inherited variables of the same name (getenv finds
  // the first entry, so an appended duplicate would lose).
  std::vector<std::string> env_strings;
  env_strings.reserve(extra_env.size() + 64);
  const auto name_of = [](std::string_view entry) { return entry.substr(0, entry.find('=')); };
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const bool overridden = std::any_of(extra_env.begin(), extra_env.end(),
                                        [&](const std::string& extra) { return name_of(extra) == name_of(entry); });
    if (!overridden) env_strings.emplace_back(entry);
  }
  for (const auto& e : extra_env) env_strings.push_back(e);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(env_strings.size() + 1);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return Error(ErrorKind::kInternal, std::string("pipe2: ") + systemErrorText(errno));
  }
  int input[2] = {-1, -1};
  if (with_input && ::pipe2(input, O_CLOEXEC) != 0) {
    const int saved = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return Error(ErrorKind::kInternal, std::string("pipe2: ") + systemErrorText(saved));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int saved = errno;
    for (int fd : {fds[0], fds[1], input[0], input[1]}) {
      if (fd >= 0) ::close(fd);
    }
    return Error(ErrorKind::kInternal, std::string("fork: ") + systemErrorText(saved));
  }
  if (pid == 0) {
    // Signals the parent blocks (SIGINT/SIGTERM, waited for explicitly) must
    // reach the child; and the child dies with the thread that started it,
    // so that no process outlives a parent killed with SIGKILL.
    sigset_t all;
    sigemptyset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(fds[1], STDOUT_FILENO);
    ::dup2(fds[1], STDERR_FILENO);
    if (input[0] >= 0) {
      ::dup2(input[0], STDIN_FILENO);
    } else {
      const int null = ::open("/dev/null", O_RDONLY);
      if (null >= 0) ::dup2(null, STDIN_FILENO);
    }
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  if (input[0] >= 0) ::close(input[0]);
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, fds[0], input[1]));
}

ChildProcess::~ChildProcess() {
  if (!exited_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  ::close(out_fd_);
  closeInput();
}

bool ChildProcess::writeInput(std::string_view text) {
  while (in_fd_ >= 0 && !text.empty()) {
    const ssize_t n = ::write(in_fd_, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return in_fd_ >= 0;
}

void ChildProcess::closeInput() {
  if (in_fd_ >= 0) ::close(in_fd_);
  in_fd_ = -1;
}

bool ChildProcess::readSome(std::chrono::milliseconds timeout) {
  pollfd pfd{out_fd_, POLLIN, 0};
  if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char buffer[4096];
  const ssize_t n = ::read(out_fd_, buffer, sizeof buffer);
  if (n <= 0) return false;
  output_.append(buffer, static_cast<std::size_t>(n));
  return true;
}

std::string ChildProcess::waitForLine(const std::string& needle, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    while (true) {
      const auto end = output_.find('\n', scanned_);
      if (end == std::string::npos) break;
      std::string line = output_.substr(scanned_, end - scanned_);
      scanned_ = end + 1;
      if (line.find(needle) != std::string::npos) return line;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !readSome(left)) return {};
  }
}

void ChildProcess::drain(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    // Past the deadline, what is already there is still read (poll with 0).
    const auto left =
        std::max(std::chrono::milliseconds::zero(),
                 std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
    if (!readSome(left)) return;
  }
}

int ChildProcess::wait(std::chrono::milliseconds timeout) {
  if (exited_) return -1;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      return status;
    }
    // Keep the pipe flowing so that a chatty child cannot block on it.
    readSome(std::chrono::milliseconds(20));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  exited_ = true;
  return -1;
}

int ChildProcess::stop(int signal, std::chrono::milliseconds timeout) {
  if (exited_) return -1;
  ::kill(pid_, signal);
  return wait(timeout);
}

}  // namespace rightsize
