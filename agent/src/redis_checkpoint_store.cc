#include "rightsize/agent/redis_checkpoint_store.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace rightsize::agent {

std::string checkpointKey(const std::string& prefix, const std::string& host) { return prefix + "agent:" + host; }

RedisCheckpointStore::RedisCheckpointStore(RedisConnectionOptions options, std::string key)
    : client_(std::move(options)), key_(std::move(key)) {}

std::string RedisCheckpointStore::describe() const { return client_.where() + " key " + key_; }

Expected<std::map<std::string, std::string>> RedisCheckpointStore::load() {
  const std::string doing = "loading the checkpoint " + key_;
  auto reply = client_.command({"HGETALL", key_}, doing);
  if (!reply) return reply.error();
  if (reply->isError()) return client_.replyError(*reply, doing);
  if (!reply->isArray() || reply->elements.size() % 2 != 0) {
    return client_.malformed(doing, "HGETALL did not return pairs of fields and values");
  }
  std::map<std::string, std::string> entries;
  for (std::size_t i = 0; i < reply->elements.size(); i += 2) {
    const RedisReply& field = reply->elements[i];
    const RedisReply& value = reply->elements[i + 1];
    if (!field.isString() || !value.isString()) return client_.malformed(doing, "a field or value is not a string");
    entries.emplace(field.text, value.text);
  }
  return entries;
}

Status RedisCheckpointStore::replace(const std::map<std::string, std::string>& entries, Duration ttl) {
  const std::string doing = "writing the checkpoint " + key_;
  std::vector<RedisClient::Command> commands = {{"MULTI"}, {"DEL", key_}};
  if (!entries.empty()) {
    RedisClient::Command hset = {"HSET", key_};
    hset.reserve(2 + 2 * entries.size());
    for (const auto& [field, value] : entries) {
      hset.push_back(field);
      hset.push_back(value);
    }
    commands.push_back(std::move(hset));
    const auto ttl_ms = std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::milliseconds>(ttl).count());
    commands.push_back({"PEXPIRE", key_, std::to_string(ttl_ms)});
  }
  commands.push_back({"EXEC"});
  auto replies = client_.pipeline(commands, doing);
  if (!replies) return replies.error();
  // MULTI and the queued commands answer OK and QUEUED; an error there (a
  // command refused before EXEC) aborts the transaction.
  for (std::size_t i = 0; i + 1 < replies->size(); ++i) {
    if ((*replies)[i].isError()) return client_.replyError((*replies)[i], doing);
  }
  const RedisReply& exec = replies->back();
  if (exec.isError()) return client_.replyError(exec, doing);
  if (!exec.isArray() || exec.elements.size() != commands.size() - 2) {
    return client_.malformed(doing, "EXEC did not return one reply per command");
  }
  for (const RedisReply& result : exec.elements) {
    if (result.isError()) return client_.replyError(result, doing);
  }
  return Status::success();
}

}  // namespace rightsize::agent
