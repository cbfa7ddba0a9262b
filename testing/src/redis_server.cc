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

#include "local_process.h"

namespace rightsize::testing {
namespace {

using namespace std::chrono_literals;

constexpr auto kReadyTimeout = 10s;
using local::kPortAttempts;
using local::kStopTimeout;

}  // namespace

Expected<std::unique_ptr<RedisServer>> RedisServer::start(RedisServerOptions options) {
  std::string binary = local::findExecutable("redis-server");
  if (binary.empty()) {
    return Error(ErrorKind::kUnavailable,
                 "redis-server not found in PATH nor at /usr/bin/redis-server: install the Debian package "
                 "redis-server (scripts/setup does)");
  }
  auto directory = local::makeDirectory("rightsize-redis");
  if (!directory) return directory.error();
  std::unique_ptr<RedisServer> server(new RedisServer(std::move(binary), std::move(*directory), std::move(options)));
  for (int attempt = 1;; ++attempt) {
    auto port = local::freePort();
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
