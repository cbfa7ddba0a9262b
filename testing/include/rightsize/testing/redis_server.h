#pragma once

// A real redis-server (Debian package redis-server) on 127.0.0.1 and a free
// port, in a scratch directory removed on destruction: the demo's Redis and
// the tests'. The destructor kills a server still running.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "rightsize/core/process.h"
#include "rightsize/core/status.h"

namespace rightsize::testing {

struct RedisServerOptions {
  // Append-only file, fsynced on every write, in the server's own scratch
  // directory: what was written survives stop() and restart(). Off, the
  // server keeps nothing (--save "" --appendonly no).
  bool persistence = false;
  std::string password;  // requirepass, when not empty
};

// Not thread-safe; start it from a long-lived thread (see ChildProcess).
class RedisServer {
 public:
  // Fails (never skips) when redis-server is missing, naming the fix.
  static Expected<std::unique_ptr<RedisServer>> start(RedisServerOptions options = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  const std::string& host() const { return host_; }
  std::uint16_t port() const { return port_; }
  pid_t pid() const { return process_ != nullptr ? process_->pid() : -1; }
  bool running() const { return process_ != nullptr && process_->running(); }
  // SIGTERM, then waits (bounded) for the exit.
  Status stop();
  // Starts again on the same port and directory: empty without persistence.
  Status restart();
  // Everything the server printed, for failure messages.
  std::string log() const;

 private:
  RedisServer(std::string binary, std::string directory, RedisServerOptions options)
      : binary_(std::move(binary)), directory_(std::move(directory)), options_(std::move(options)) {}
  // Starts the server on port_; kConflict when the port is taken.
  Status launch();

  std::string binary_;
  std::string directory_;
  RedisServerOptions options_;
  std::string host_ = "127.0.0.1";
  std::uint16_t port_ = 0;
  std::unique_ptr<ChildProcess> process_;
  std::string previous_log_;  // of servers already stopped
};

}  // namespace rightsize::testing
