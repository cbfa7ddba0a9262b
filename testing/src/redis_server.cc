#include "rightsize/testing/redis_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <vector>

namespace rightsize::testing {
namespace {

using namespace std::chrono_literals;

constexpr auto kReadyTimeout = 10s;
constexpr auto kStopTimeout = 10s;
constexpr int kPortAttempts = 5;

// PATH first, then where Debian puts it.
std::string findRedisServer() {
  std::vector<std::string> candidates;
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    std::string_view rest(path);
    while (!rest.empty()) {
      const auto colon = rest.find(':');
      const std::string_view dir = rest.substr(0, colon);
      if (!dir.empty()) candidates.push_back(std::string(dir) + "/redis-server");
      rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    }
  }
  candidates.emplace_back("/usr/bin/redis-server");
  for (const auto& candidate : candidates) {
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

// The kernel picks a port that is free now; another process may take it
// before redis-server binds it, hence the retries in start().
Expected<std::uint16_t> freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error(ErrorKind::kInternal, "socket: " + systemErrorText(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  auto* generic = reinterpret_cast<sockaddr*>(&address);
  if (::bind(fd, generic, sizeof address) != 0 || ::getsockname(fd, generic, &length) != 0) {
    const int saved = errno;
    ::close(fd);
    return Error(ErrorKind::kInternal, "binding 127.0.0.1:0: " + systemErrorText(saved));
  }
  ::close(fd);
  return static_cast<std::uint16_t>(ntohs(address.sin_port));
}

Expected<std::string> makeDirectory() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/rightsize-redis-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    return Error(ErrorKind::kInternal, "mkdtemp " + pattern + ": " + systemErrorText(errno));
  }
  return pattern;
}

}  // namespace

Expected<std::unique_ptr<RedisServer>> RedisServer::start(RedisServerOptions options) {
  std::string binary = findRedisServer();
  if (binary.empty()) {
    return Error(ErrorKind::kUnavailable,
                 "redis-server not found in PATH nor at /usr/bin/redis-server: install the Debian package "
                 "redis-server (scripts/setup does)");
  }
  auto directory = makeDirectory();
  if (!directory) return directory.error();
  std::unique_ptr<RedisServer> server(new RedisServer(std::move(binary), std::move(*directory), std::move(options)));
  for (int attempt = 1;; ++attempt) {
    auto port = freePort();
    if (!port) return port.error();
    server->port_ = *port;
    auto launched = server->launch();
    if (launched) return server;
    if (launched.error().kind() != ErrorKind::kConflict || attempt == kPortAttempts) return launched.error();
  }
}

RedisServer::~RedisServer() {
  process_.reset();  // SIGKILL when still running
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

Status RedisServer::launch() {
  std::vector<std::string> argv = {binary_, "--port", std::to_string(port_), "--bind", host_, "--dir", directory_,
                                   "--daemonize", "no", "--loglevel", "notice", "--logfile", "", "--save", "",
                                   // DEBUG SLEEP plays a slow Redis.
                                   "--enable-debug-command", "local"};
  if (options_.persistence) {
    argv.insert(argv.end(), {"--appendonly", "yes", "--appendfsync", "always"});
  } else {
    argv.insert(argv.end(), {"--appendonly", "no"});
  }
  if (!options_.password.empty()) argv.insert(argv.end(), {"--requirepass", options_.password});
  auto process = ChildProcess::start(argv);
  if (!process) return process.error().withContext("starting " + binary_);
  process_ = std::move(*process);
  if (!process_->waitForLine("Ready to accept connections", kReadyTimeout).empty()) return Status::success();
  process_->stop(SIGKILL, kStopTimeout);
  const std::string output = process_->output();
  previous_log_ += output;
  process_.reset();
  const bool clash = output.find("Address already in use") != std::string::npos;
  return Error(clash ? ErrorKind::kConflict : ErrorKind::kUnavailable,
               binary_ + " on port " + std::to_string(port_) + " was not ready within " +
                   std::to_string(std::chrono::seconds(kReadyTimeout).count()) + "s; its output:\n" + output);
}

Status RedisServer::stop() {
  if (process_ == nullptr) return Status::success();
  const int status = process_->stop(SIGTERM, kStopTimeout);
  previous_log_ += process_->output();
  process_.reset();
  if (status == -1) {
    return Error(ErrorKind::kInternal, "redis-server on port " + std::to_string(port_) +
                                           " did not exit within 10s of SIGTERM and was killed");
  }
  return Status::success();
}

Status RedisServer::restart() {
  if (auto stopped = stop(); !stopped) return stopped;
  return launch();
}

std::string RedisServer::log() const { return previous_log_ + (process_ ? process_->output() : std::string()); }

}  // namespace rightsize::testing
