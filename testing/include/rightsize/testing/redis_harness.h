#pragma once

// The real redis-server of the Redis store's tests and benchmark
// (testing/redis_server.h), and a plain connection to look at what the store
// wrote, on core's RedisClient. No gtest here: the benchmark compiles this
// file too.

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "rightsize/core/redis.h"
#include "rightsize/core/status.h"
#include "rightsize/testing/redis_server.h"

namespace rightsize::testing {

using testing::RedisServer;
using testing::RedisServerOptions;

// A blocking connection with a timeout (each reply), database 0. Not
// thread-safe. The process must ignore SIGPIPE (see core/redis.h).
class RedisConnection {
 public:
  // Connects (and authenticates with `password` unless empty) at once: an
  // error names the host and port.
  static Expected<std::unique_ptr<RedisConnection>> open(const std::string& host, std::uint16_t port,
                                                         std::chrono::milliseconds timeout = std::chrono::seconds(5),
                                                         const std::string& password = "");
  // Waits for the reply of a command sent and not received.
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // The reply, error replies included; an Error only when the I/O failed.
  Expected<RedisReply> run(const std::vector<std::string>& argv);
  // Sends a command without waiting for its reply, on a connection of its
  // own, and returns once Redis is running it (it stopped answering, as
  // during DEBUG SLEEP) or has answered it; receive() reads the reply. One
  // command at a time: a send() before the receive() of the last fails.
  Status send(const std::vector<std::string>& argv);
  Expected<RedisReply> receive();

  // Conveniences for assertions: "" for nil, the error text for an error
  // reply, the number for an integer.
  std::string text(const std::vector<std::string>& argv);
  // The strings of an array reply (sorted with `sorted`), empty otherwise.
  std::vector<std::string> strings(const std::vector<std::string>& argv, bool sorted = false);

 private:
  explicit RedisConnection(RedisConnectionOptions options);

  RedisConnectionOptions options_;
  RedisClient client_;
  std::future<Expected<RedisReply>> pending_;  // the reply of send()
};

}  // namespace rightsize::testing
