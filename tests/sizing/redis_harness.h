#pragma once

// A real redis-server for the Redis store's tests and benchmark, and a plain
// hiredis connection to look at what the store wrote. No gtest here: the
// benchmark compiles this file too.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rightsize/core/process.h"
#include "rightsize/core/status.h"

struct redisContext;
struct redisReply;

namespace rightsize::testing {

struct RedisServerOptions {
  // Append-only file, fsynced on every write, in the server's own scratch
  // directory: what was written survives stop() and restart(). Off, the
  // server keeps nothing (--save "" --appendonly no).
  bool persistence = false;
  std::string password;  // requirepass, when not empty
};

// redis-server (Debian package redis-server, installed by scripts/setup) on
// 127.0.0.1 and a free port, in a scratch directory removed on destruction.
// The destructor kills a server still running. Not thread-safe; start it from
// a long-lived thread (see ChildProcess).
class RedisServer {
 public:
  // Fails (never skips) when redis-server is missing, naming the fix.
  static Expected<std::unique_ptr<RedisServer>> start(RedisServerOptions options = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  const std::string& host() const { return host_; }
  std::uint16_t port() const { return port_; }
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

struct FreeRedisReply {
  void operator()(redisReply* reply) const;
};
using RedisReplyPtr = std::unique_ptr<redisReply, FreeRedisReply>;

// A blocking hiredis connection with a timeout. Not thread-safe.
class RedisConnection {
 public:
  static Expected<std::unique_ptr<RedisConnection>> open(const std::string& host, std::uint16_t port,
                                                         std::chrono::milliseconds timeout = std::chrono::seconds(5),
                                                         const std::string& password = "");
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // The reply, error replies included; an Error only when the I/O failed.
  Expected<RedisReplyPtr> run(const std::vector<std::string>& argv);
  // Sends a command without waiting for its reply (DEBUG SLEEP), and reads
  // a reply later.
  Status send(const std::vector<std::string>& argv);
  Expected<RedisReplyPtr> receive();

  // Conveniences for assertions: "" for nil, the error text for an error
  // reply, the number for an integer.
  std::string text(const std::vector<std::string>& argv);
  // The strings of an array reply (sorted with `sorted`), empty otherwise.
  std::vector<std::string> strings(const std::vector<std::string>& argv, bool sorted = false);

 private:
  explicit RedisConnection(redisContext* context) : context_(context) {}
  redisContext* context_;
};

}  // namespace rightsize::testing
