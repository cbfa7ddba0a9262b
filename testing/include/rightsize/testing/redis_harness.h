#pragma once

// The real redis-server of the Redis store's tests and benchmark
// (testing/redis_server.h), and a plain hiredis connection to look at what the
// store wrote. No gtest here: the
// benchmark compiles this file too.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rightsize/core/status.h"
#include "rightsize/testing/redis_server.h"

struct redisContext;
struct redisReply;

namespace rightsize::testing {

using testing::RedisServer;
using testing::RedisServerOptions;

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
