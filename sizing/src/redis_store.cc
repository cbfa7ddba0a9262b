#include "rightsize/sizing/redis_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>

#include "rightsize/core/text.h"
#include "rightsize/sizing/record_codec.h"

namespace rightsize::sizing {
namespace {

using Fields = RecordFields;

// Every fenced write compares the lease's whole value, "<owner> <token>": a
// sizer whose lease expired and was taken again, even under the same owner
// name, carries an older token and is refused. A refusal returns
// {0, holder}, a write 1.
constexpr std::string_view kSaveAppScript = R"lua(
local holder = redis.call('GET', KEYS[1])
if holder ~= ARGV[1] then return {0, holder or ''} end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], unpack(ARGV, 3))
redis.call('SADD', KEYS[3], ARGV[2])
return 1
)lua";

// Many records at once, the lease checked once. KEYS: the lease, the set of
// app ids, then one app hash per record; ARGV: the lease value, then per
// record its app id, the number n of field names and values, and those n.
constexpr std::string_view kSaveAppsScript = R"lua(
local holder = redis.call('GET', KEYS[1])
if holder ~= ARGV[1] then return {0, holder or ''} end
local a = 2
for i = 3, #KEYS do
  local n = tonumber(ARGV[a + 1])
  redis.call('DEL', KEYS[i])
  redis.call('HSET', KEYS[i], unpack(ARGV, a + 2, a + 1 + n))
  redis.call('SADD', KEYS[2], ARGV[a])
  a = a + 2 + n
end
return 1
)lua";

constexpr std::string_view kDeleteAppScript = R"lua(
local holder = redis.call('GET', KEYS[1])
if holder ~= ARGV[1] then return {0, holder or ''} end
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[3], ARGV[2])
return 1
)lua";

constexpr std::string_view kAppendDecisionScript = R"lua(
local holder = redis.call('GET', KEYS[1])
if holder ~= ARGV[1] then return {0, holder or ''} end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 3))
return 1
)lua";

// INCR only once the lease is known to be free, so that tokens are not
// consumed by sizers that keep trying while another holds the lease.
constexpr std::string_view kAcquireScript = R"lua(
local holder = redis.call('GET', KEYS[1])
if holder then return {0, holder} end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. string.format('%d', token), 'NX', 'PX', ARGV[2])
return {1, token}
)lua";

constexpr std::string_view kRenewScript = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
)lua";

constexpr std::string_view kReleaseScript = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua";

// KEYS: the lease, then one history key per app; ARGV: the lease value, the
// TTL in milliseconds, then one value per history key.
constexpr std::string_view kSaveHistoriesScript = R"lua(
local holder = redis.call('GET', KEYS[1])
if holder ~= ARGV[1] then return {0, holder or ''} end
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i + 1], 'PX', ARGV[2])
end
return 1
)lua";

// Rebuilds the set of app ids that something else overwrote (e.g. `SET
// <prefix>apps garbage`) from the records found. KEYS: the lease, the set;
// ARGV: the lease value, then the app ids.
constexpr std::string_view kRebuildIndexScript = R"lua(
local holder = redis.call('GET', KEYS[1])
if holder ~= ARGV[1] then return {0, holder or ''} end
if redis.call('TYPE', KEYS[2]).ok ~= 'set' then redis.call('DEL', KEYS[2]) end
for i = 2, #ARGV do redis.call('SADD', KEYS[2], ARGV[i]) end
return 1
)lua";

// In the order of RedisStateStore::Script.
constexpr std::string_view kScriptBodies[] = {kSaveAppScript,        kSaveAppsScript,      kDeleteAppScript,
                                              kAppendDecisionScript, kAcquireScript,       kRenewScript,
                                              kReleaseScript,        kSaveHistoriesScript, kRebuildIndexScript};

// A glob (SCAN MATCH) that matches `text` literally.
std::string globLiteral(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// Bounds the SCAN that finds app records when their index is damaged.
constexpr int kMaxScanRounds = 100000;

// Records per script call in saveApps(): bounds the arguments of one call
// and how long one call holds Redis.
constexpr std::size_t kRecordsPerScript = 250;

template <typename Number>
std::string formatNumber(Number value) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, end);
}

// A flat array of strings (HGETALL, a stream entry's fields) as pairs.
std::optional<Fields> pairsOf(const RedisReply& reply) {
  if (!reply.isArray() || reply.elements.size() % 2 != 0) return std::nullopt;
  Fields fields;
  fields.reserve(reply.elements.size() / 2);
  for (std::size_t i = 0; i < reply.elements.size(); i += 2) {
    const RedisReply& name = reply.elements[i];
    const RedisReply& value = reply.elements[i + 1];
    if (!name.isString() || !value.isString()) return std::nullopt;
    fields.emplace_back(name.text, value.text);
  }
  return fields;
}

bool finite(const std::optional<double>& value) { return !value || std::isfinite(*value); }

std::string leaseValue(const Lease& lease) { return lease.owner + " " + formatNumber(lease.token); }

std::string describeHolder(std::string_view value) {
  if (value.empty()) return "nobody";
  const auto space = value.rfind(' ');
  if (space == std::string_view::npos) return "\"" + sanitizeUtf8(value) + "\"";
  return sanitizeUtf8(value.substr(0, space)) + " with token " + sanitizeUtf8(value.substr(space + 1));
}

Expected<std::int64_t> ttlMilliseconds(Duration ttl) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(ttl).count();
  if (ms < 1) return Error(ErrorKind::kInvalidArgument, "a lease TTL must be at least 1ms, not " + formatDuration(ttl));
  return static_cast<std::int64_t>(ms);
}

}  // namespace

Expected<RedisOptions> parseRedisUrl(std::string_view url) {
  auto connection = rightsize::parseRedisUrl(url);
  if (!connection) return connection.error();
  RedisOptions options;
  static_cast<RedisConnectionOptions&>(options) = std::move(*connection);
  return options;
}

RedisStateStore::RedisStateStore(RedisOptions options, ErrorSink* errors)
    : options_(std::move(options)), client_(options_), errors_(errors) {
  options_.max_decisions = std::max<std::size_t>(options_.max_decisions, 1);
  // The scripts are loaded on every connection, in the handshake's round
  // trip, because a restarted Redis has an empty script cache.
  std::vector<Command> load_scripts;
  for (const auto body : kScriptBodies) load_scripts.push_back({"SCRIPT", "LOAD", std::string(body)});
  client_.setConnectCommands(std::move(load_scripts), [this](const RedisClient::Replies& replies) -> Status {
    for (std::size_t i = 0; i < replies.size(); ++i) {
      const RedisReply& reply = replies[i];
      if (!reply.isString()) {
        return reply.isError() ? client_.replyError(reply, "loading a Lua script")
                               : client_.malformed("loading a Lua script", "SCRIPT LOAD gave no SHA1");
      }
      script_shas_[i] = reply.text;
    }
    return Status::success();
  });
}

RedisStateStore::~RedisStateStore() = default;

RedisStateStore::Command RedisStateStore::scriptCommand(Script script, bool by_sha, const Command& keys_and_args,
                                                        int key_count) const {
  Command command;
  command.reserve(keys_and_args.size() + 3);
  command.emplace_back(by_sha ? "EVALSHA" : "EVAL");
  command.emplace_back(by_sha ? script_shas_[script] : std::string(kScriptBodies[script]));
  command.push_back(std::to_string(key_count));
  command.insert(command.end(), keys_and_args.begin(), keys_and_args.end());
  return command;
}

Expected<RedisReply> RedisStateStore::runScript(Script script, const Command& keys_and_args, int key_count,
                                                std::string_view doing) {
  static_assert(std::size(kScriptBodies) == kScriptCount);
  // Connected first: the SHA1s are known once a connection loaded the scripts.
  if (auto connected = client_.connect(); !connected) return connected.error().withContext(doing);
  auto reply = client_.command(scriptCommand(script, true, keys_and_args, key_count), doing);
  if (!reply || !reply->isError("NOSCRIPT")) return reply;
  // SCRIPT FLUSH, or a failover to a replica that never saw SCRIPT LOAD: EVAL
  // runs the body and caches it again.
  return client_.command(scriptCommand(script, false, keys_and_args, key_count), doing);
}

Status RedisStateStore::fencedResult(const RedisReply& reply, std::string_view doing) const {
  if (reply.isError()) return client_.replyError(reply, doing);
  if (reply.isInteger() && reply.integer == 1) return Status::success();
  if (reply.isArray() && reply.elements.size() == 2 && reply.elements[0].isInteger() && reply.elements[1].isString()) {
    return Error(ErrorKind::kConflict, client_.where() + ": " + std::string(doing) + ": the lease " + key("leader") +
                                           " is held by " + describeHolder(reply.elements[1].text));
  }
  return client_.malformed(doing, "unexpected reply from the fenced write script");
}

RedisStateStore::Command RedisStateStore::saveAppArguments(const AppRecord& record,
                                                           const std::string& lease_value) const {
  Command args = {key("leader"), key("app:" + record.app_id), key("apps"), lease_value, record.app_id};
  for (auto& [name, value] : appRecordFields(record)) {
    args.push_back(std::move(name));
    args.push_back(std::move(value));
  }
  return args;
}

Status RedisStateStore::checkRecords(const std::vector<AppRecord>& records) const {
  for (const auto& r : records) {
    if (r.app_id.empty()) return Error(ErrorKind::kInvalidValue, "an app record has an empty app_id");
    if (!finite(r.intent_cpus) || !finite(r.intent_mem_mib) || !finite(r.mem_hold_mib)) {
      return Error(ErrorKind::kInvalidValue, "app record " + r.app_id + ": intent is not a finite number");
    }
    for (const auto& limit : {r.intent_cpus_limit, r.intent_mem_limit_mib}) {
      if (limit && !(*limit > 0)) {
        return Error(ErrorKind::kInvalidValue, "app record " + r.app_id + ": intent limit is not above 0");
      }
    }
  }
  return Status::success();
}

void RedisStateStore::warnOnce(const std::string& what, const Error& error) {
  if (errors_ != nullptr) errors_->record("redis", error);
  if (warned_.insert(what).second) spdlog::warn("{}: skipped {}: {}", client_.where(), what, error.message());
}

Expected<std::vector<std::string>> RedisStateStore::scanAppIds(std::string_view doing) {
  const std::string prefix = key("app:");
  std::vector<std::string> ids;
  std::string cursor = "0";
  for (int round = 0; round < kMaxScanRounds; ++round) {
    auto reply = client_.command({"SCAN", cursor, "MATCH", globLiteral(prefix) + "*", "COUNT", "1000"}, doing);
    if (!reply) return reply.error();
    if (reply->isError()) return client_.replyError(*reply, doing);
    if (!reply->isArray() || reply->elements.size() != 2 || !reply->elements[0].isString() ||
        !reply->elements[1].isArray()) {
      return client_.malformed(doing, "SCAN did not return a cursor and keys");
    }
    for (const RedisReply& name : reply->elements[1].elements) {
      if (name.isString() && name.text.starts_with(prefix)) ids.push_back(name.text.substr(prefix.size()));
    }
    cursor = reply->elements[0].text;
    if (cursor == "0") break;
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

Expected<std::map<std::string, AppRecord>> RedisStateStore::loadApps() {
  constexpr std::string_view kDoing = "loading app records";
  auto members = client_.command({"SMEMBERS", key("apps")}, kDoing);
  if (!members) return members.error();
  const RedisReply& set = *members;
  std::vector<std::string> ids;
  if (set.isError("WRONGTYPE")) {
    // The index was overwritten: the records are found by their keys, and
    // the next fenced write puts the index back (no sizer may stop leading
    // over a key it can rebuild).
    warnOnce(key("apps"), Error(ErrorKind::kMalformed, key("apps") + " is not a set; the app records are found by "
                                                                     "their keys and the set is rebuilt"));
    auto scanned = scanAppIds(kDoing);
    if (!scanned) return scanned.error();
    ids = std::move(*scanned);
    rebuild_index_ = true;
  } else {
    if (set.isError()) return client_.replyError(set, kDoing);
    if (!set.isArray()) return client_.malformed(kDoing, "SMEMBERS " + key("apps") + " did not return a set");
    for (const RedisReply& member : set.elements) {
      if (!member.isString()) return client_.malformed(kDoing, "a member of the set is not a string");
      ids.push_back(member.text);
    }
  }
  std::vector<Command> reads;
  for (const auto& id : ids) reads.push_back({"HGETALL", key("app:" + id)});
  std::map<std::string, AppRecord> records;
  if (ids.empty()) return records;
  auto hashes = client_.pipeline(reads, kDoing);
  if (!hashes) return hashes.error();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const RedisReply& hash = (*hashes)[i];
    const std::string& hash_key = reads[i][1];
    if (hash.isError() && !hash.isError("WRONGTYPE")) return client_.replyError(hash, kDoing);
    std::optional<Fields> fields = pairsOf(hash);
    if (!fields) {
      warnOnce(hash_key, Error(ErrorKind::kMalformed, hash_key + " is not a hash of strings"));
      continue;
    }
    std::vector<Error> forgotten;
    auto record = parseAppRecord(ids[i], hash_key, *fields, &forgotten);
    if (!record) {
      warnOnce(hash_key, record.error());
      continue;
    }
    // Counted and logged once: the record stays as it is until the sizer
    // next saves it (its followers read it every cycle).
    for (const Error& error : forgotten) {
      if (!warned_.insert(error.message()).second) continue;
      if (errors_ != nullptr) errors_->record("redis", error);
      spdlog::warn("{}: {}", client_.where(), error.message());
    }
    records.emplace(ids[i], std::move(*record));
  }
  if (rebuild_index_) {
    loaded_ids_.clear();
    for (const auto& [id, record] : records) loaded_ids_.push_back(id);
  }
  return records;
}

Status RedisStateStore::rebuildIndex(const Lease& lease) {
  const std::string doing = "rebuilding " + key("apps");
  Command args = {key("leader"), key("apps"), leaseValue(lease)};
  args.insert(args.end(), loaded_ids_.begin(), loaded_ids_.end());
  auto reply = runScript(kRebuildIndex, args, 2, doing);
  if (!reply) return reply.error();
  if (auto written = fencedResult(*reply, doing); !written) return written;
  rebuild_index_ = false;
  loaded_ids_.clear();
  spdlog::info("{}: rebuilt {}", client_.where(), key("apps"));
  return Status::success();
}

Status RedisStateStore::saveApps(const std::vector<AppRecord>& records, const Lease& lease) {
  if (records.empty()) return Status::success();
  if (auto valid = checkRecords(records); !valid) return valid;
  const std::string doing = "saving " + std::to_string(records.size()) + " app records";
  if (auto connected = client_.connect(); !connected) return connected.error().withContext(doing);
  if (rebuild_index_) {
    if (Status rebuilt = rebuildIndex(lease); !rebuilt) return rebuilt;
  }
  const std::string lease_value = leaseValue(lease);
  // One script call per chunk of records, each checking the lease, in one
  // MULTI/EXEC so that the batch is all or nothing: Redis runs the calls back
  // to back, so the lease cannot change between two of them. If the
  // connection breaks before EXEC's reply, the caller cannot know whether it
  // ran, and retries: a record is replaced whole, so writing it twice is
  // harmless.
  std::vector<std::pair<Command, int>> chunks;  // keys and arguments, key count
  for (std::size_t first = 0; first < records.size(); first += kRecordsPerScript) {
    const std::size_t end = std::min(records.size(), first + kRecordsPerScript);
    Command keys = {key("leader"), key("apps")};
    Command args = {lease_value};
    for (std::size_t i = first; i < end; ++i) {
      keys.push_back(key("app:" + records[i].app_id));
      auto fields = appRecordFields(records[i]);
      args.push_back(records[i].app_id);
      args.push_back(std::to_string(fields.size() * 2));
      for (auto& [name, value] : fields) {
        args.push_back(std::move(name));
        args.push_back(std::move(value));
      }
    }
    const int key_count = static_cast<int>(keys.size());
    keys.insert(keys.end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
    chunks.emplace_back(std::move(keys), key_count);
  }
  const auto run = [&](bool by_sha) -> Expected<RedisClient::Replies> {
    std::vector<Command> commands;
    commands.reserve(chunks.size() + 2);
    commands.push_back({"MULTI"});
    for (const auto& [keys_and_args, key_count] : chunks)
      commands.push_back(scriptCommand(kSaveApps, by_sha, keys_and_args, key_count));
    commands.push_back({"EXEC"});
    return client_.pipeline(commands, doing);
  };
  auto replies = run(true);
  if (!replies) return replies.error();
  const auto exec_result = [&]() -> Expected<const RedisReply*> {
    for (std::size_t i = 0; i + 1 < replies->size(); ++i) {
      if ((*replies)[i].isError()) return client_.replyError((*replies)[i], doing);
    }
    const RedisReply& exec = replies->back();
    if (exec.isError()) return client_.replyError(exec, doing);
    if (!exec.isArray() || exec.elements.size() != chunks.size()) {
      return client_.malformed(doing, "EXEC did not return one reply per script call");
    }
    return &exec;
  };
  auto exec = exec_result();
  if (!exec) return exec.error();
  // Every call of the batch has the same SHA1: all ran or none did.
  if ((*exec)->elements[0].isError("NOSCRIPT")) {
    replies = run(false);
    if (!replies) return replies.error();
    exec = exec_result();
    if (!exec) return exec.error();
  }
  for (const RedisReply& result : (*exec)->elements) {
    if (auto written = fencedResult(result, doing); !written) return written;
  }
  return Status::success();
}

Status RedisStateStore::saveHistories(const std::vector<std::pair<std::string, std::string>>& histories, Duration ttl,
                                      const Lease& lease) {
  const auto ttl_ms = std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::milliseconds>(ttl).count());
  const std::string lease_value = leaseValue(lease);
  // One fenced script call per chunk: each call holds Redis briefly, and a
  // lease lost midway leaves the chunks before written, which is harmless
  // (each history is whole and the next leader's are newer).
  for (std::size_t first = 0; first < histories.size(); first += kRecordsPerScript) {
    const std::size_t end = std::min(histories.size(), first + kRecordsPerScript);
    const std::string doing = "saving the usage histories of " + std::to_string(end - first) + " apps";
    Command keys = {key("leader")};
    Command args = {lease_value, std::to_string(ttl_ms)};
    for (std::size_t i = first; i < end; ++i) {
      if (histories[i].first.empty()) {
        return Error(ErrorKind::kInvalidValue, "cannot save the usage history of an empty app_id");
      }
      keys.push_back(key("history:" + histories[i].first));
      args.push_back(histories[i].second);
    }
    const int key_count = static_cast<int>(keys.size());
    keys.insert(keys.end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
    auto reply = runScript(kSaveHistories, keys, key_count, doing);
    if (!reply) return reply.error();
    if (auto written = fencedResult(*reply, doing); !written) return written;
  }
  return Status::success();
}

Expected<std::map<std::string, std::string>> RedisStateStore::loadHistories(const std::vector<std::string>& app_ids) {
  constexpr std::string_view kDoing = "loading usage histories";
  std::map<std::string, std::string> out;
  if (app_ids.empty()) return out;
  std::vector<Command> reads;
  reads.reserve(app_ids.size());
  for (const auto& app_id : app_ids) reads.push_back({"GET", key("history:" + app_id)});
  auto values = client_.pipeline(reads, kDoing);
  if (!values) return values.error();
  for (std::size_t i = 0; i < app_ids.size(); ++i) {
    const RedisReply& value = (*values)[i];
    if (value.isString()) {
      out.emplace(app_ids[i], value.text);
    } else if (value.isError("WRONGTYPE")) {
      warnOnce(reads[i][1], Error(ErrorKind::kMalformed, reads[i][1] + " is not a string"));
    } else if (value.isError()) {
      return client_.replyError(value, kDoing);
    }
  }
  return out;
}

Status RedisStateStore::saveHostLosses(const std::string& encoded, Duration ttl, const Lease& lease) {
  constexpr std::string_view kDoing = "saving the fleet's host losses";
  const auto ttl_ms = std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::milliseconds>(ttl).count());
  auto reply =
      runScript(kSaveHistories,
                {key("leader"), key("capacity:hosts"), leaseValue(lease), std::to_string(ttl_ms), encoded}, 2, kDoing);
  if (!reply) return reply.error();
  return fencedResult(*reply, kDoing);
}

Expected<std::optional<std::string>> RedisStateStore::loadHostLosses() {
  constexpr std::string_view kDoing = "loading the fleet's host losses";
  const Command read = {"GET", key("capacity:hosts")};
  auto values = client_.pipeline({read}, kDoing);
  if (!values) return values.error();
  const RedisReply& value = (*values)[0];
  if (value.isString()) return std::optional<std::string>(value.text);
  if (value.isError("WRONGTYPE")) {
    warnOnce(read[1], Error(ErrorKind::kMalformed, read[1] + " is not a string"));
    return std::optional<std::string>();
  }
  if (value.isError()) return client_.replyError(value, kDoing);
  return std::optional<std::string>();
}

Status RedisStateStore::saveAppsOneByOne(const std::vector<AppRecord>& records, const Lease& lease) {
  if (auto valid = checkRecords(records); !valid) return valid;
  const std::string lease_value = leaseValue(lease);
  for (const auto& r : records) {
    const std::string doing = "saving app record " + r.app_id;
    auto reply = runScript(kSaveApp, saveAppArguments(r, lease_value), 3, doing);
    if (!reply) return reply.error();
    if (auto written = fencedResult(*reply, doing); !written) return written;
  }
  return Status::success();
}

Status RedisStateStore::deleteApp(const std::string& app_id, const Lease& lease) {
  if (app_id.empty()) return Error(ErrorKind::kInvalidValue, "cannot delete the app record of an empty app_id");
  const std::string doing = "deleting app record " + app_id;
  auto reply =
      runScript(kDeleteApp, {key("leader"), key("app:" + app_id), key("apps"), leaseValue(lease), app_id}, 3, doing);
  if (!reply) return reply.error();
  return fencedResult(*reply, doing);
}

Status RedisStateStore::appendDecision(const Decision& decision, const Lease& lease) {
  if (!finite(decision.from_cpus) || !finite(decision.to_cpus) || !finite(decision.from_mem_mib) ||
      !finite(decision.to_mem_mib)) {
    return Error(ErrorKind::kInvalidValue, "decision on " + decision.app_id + ": a figure is not a finite number");
  }
  const std::string doing = "appending a decision on " + decision.app_id;
  Command args = {key("leader"), key("decisions"), leaseValue(lease), std::to_string(options_.max_decisions)};
  for (auto& [name, value] : decisionFields(decision)) {
    args.push_back(std::move(name));
    args.push_back(std::move(value));
  }
  auto reply = runScript(kAppendDecision, args, 2, doing);
  if (!reply) return reply.error();
  return fencedResult(*reply, doing);
}

Expected<std::vector<Decision>> RedisStateStore::recentDecisions(std::size_t count) {
  std::vector<Decision> decisions;
  if (count == 0) return decisions;
  constexpr std::string_view kDoing = "reading recent decisions";
  auto reply = client_.command({"XREVRANGE", key("decisions"), "+", "-", "COUNT", std::to_string(count)}, kDoing);
  if (!reply) return reply.error();
  const RedisReply& entries = *reply;
  if (entries.isError()) return client_.replyError(entries, kDoing);
  if (!entries.isArray()) return client_.malformed(kDoing, "XREVRANGE did not return an array");
  for (const RedisReply& entry : entries.elements) {
    if (!entry.isArray() || entry.elements.size() != 2 || !entry.elements[0].isString()) {
      return client_.malformed(kDoing, "a stream entry is not [id, fields]");
    }
    const std::string name = key("decisions") + " entry " + entry.elements[0].text;
    const std::optional<Fields> fields = pairsOf(entry.elements[1]);
    if (!fields) return client_.malformed(kDoing, name + " has fields that are not strings");
    auto decision = parseDecision(name, *fields);
    if (!decision) {
      warnOnce(name, decision.error());
      continue;
    }
    decisions.push_back(std::move(*decision));
  }
  return decisions;
}

Expected<std::optional<Lease>> RedisStateStore::acquireLease(const std::string& owner, Duration ttl) {
  if (owner.empty()) return Error(ErrorKind::kInvalidArgument, "a lease owner must not be empty");
  const auto ttl_ms = ttlMilliseconds(ttl);
  if (!ttl_ms) return ttl_ms.error();
  const std::string doing = "acquiring the lease " + key("leader");
  auto reply = runScript(kAcquire, {key("leader"), key("leader:token"), owner, std::to_string(*ttl_ms)}, 2, doing);
  if (!reply) return reply.error();
  const RedisReply& r = *reply;
  if (r.isError()) return client_.replyError(r, doing);
  if (!r.isArray() || r.elements.size() != 2 || !r.elements[0].isInteger()) {
    return client_.malformed(doing, "unexpected reply from the acquire script");
  }
  if (r.elements[0].integer == 0) return std::optional<Lease>();
  if (!r.elements[1].isInteger() || r.elements[1].integer < 1) {
    return client_.malformed(doing, "the fencing token " + key("leader:token") + " is not a positive integer");
  }
  return std::optional<Lease>(Lease{owner, static_cast<std::uint64_t>(r.elements[1].integer)});
}

Expected<bool> RedisStateStore::renewLease(const Lease& lease, Duration ttl) {
  const auto ttl_ms = ttlMilliseconds(ttl);
  if (!ttl_ms) return ttl_ms.error();
  const std::string doing = "renewing the lease " + key("leader");
  auto reply = runScript(kRenew, {key("leader"), leaseValue(lease), std::to_string(*ttl_ms)}, 1, doing);
  if (!reply) return reply.error();
  const RedisReply& r = *reply;
  if (r.isError()) return client_.replyError(r, doing);
  if (!r.isInteger()) return client_.malformed(doing, "unexpected reply from the renew script");
  return r.integer == 1;
}

Status RedisStateStore::releaseLease(const Lease& lease) {
  const std::string doing = "releasing the lease " + key("leader");
  auto reply = runScript(kRelease, {key("leader"), leaseValue(lease)}, 1, doing);
  if (!reply) return reply.error();
  const RedisReply& r = *reply;
  if (r.isError()) return client_.replyError(r, doing);
  if (!r.isInteger()) return client_.malformed(doing, "unexpected reply from the release script");
  return Status::success();
}

}  // namespace rightsize::sizing
