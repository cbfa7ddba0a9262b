#pragma once

// The agent's checkpoint in Redis: one hash per agent, `<prefix>agent:<host>`,
// one field per container id holding its encoded entry (checkpoint.h), and a
// TTL so that the checkpoint of a host that is gone for good disappears.
//
// replace() writes MULTI, DEL, HSET, PEXPIRE, EXEC in one round trip: Redis
// applies the whole replacement or, when the connection breaks before EXEC
// arrives, none of it, so a failed write never leaves the hash emptied or
// half written. Connection, timeouts and errors: rightsize/core/redis.h.

#include <map>
#include <string>

#include "rightsize/agent/checkpoint.h"
#include "rightsize/core/redis.h"

namespace rightsize::agent {

// The key of `host`'s checkpoint: "<prefix>agent:<host>".
std::string checkpointKey(const std::string& prefix, const std::string& host);

// Thread-safety: one caller at a time (see CheckpointStore).
class RedisCheckpointStore final : public CheckpointStore {
 public:
  RedisCheckpointStore(RedisConnectionOptions options, std::string key);

  Expected<std::map<std::string, std::string>> load() override;
  Status replace(const std::map<std::string, std::string>& entries, Duration ttl) override;
  std::string describe() const override;

 private:
  RedisClient client_;
  std::string key_;
};

}  // namespace rightsize::agent
