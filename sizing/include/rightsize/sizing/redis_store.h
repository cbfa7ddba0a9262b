#pragma once

// StateStore on Redis, through the shared connection of rightsize/core/redis.h
// (timeouts, reconnection after a lost connection, AUTH and SELECT, and the
// mapping of failures to ErrorKind are described there). Writes that require
// the lease check it atomically in a Lua script (fencing): a sizer that lost
// its lease cannot write, even if it does not know yet.
//
// Errors: a refused or broken connection, a timeout or a Redis that refuses
// to serve (LOADING, BUSY, READONLY...) is kUnavailable and names host:port
// and what was being done; the connection is then dropped and the next call
// reconnects. A reply of an unexpected type (a key holding something else
// than this store wrote) is kMalformed; a rejected AUTH or SELECT is
// kInvalidArgument; a lease held by someone else is kConflict.
//
// Records and decisions are written with stable field names (docs/sizer.md),
// times as Unix seconds with nanosecond digits ("1700000000.25"), unset
// optional fields absent. Unknown fields are ignored on load, so a newer
// sizer can add some, and absent ones take their defaults, so records older
// sizers wrote load (a record without "state" has an empty state). Decisions
// are written with the names of /v1/decisions ("timestamp", "from_mem"...);
// the names older sizers used ("at", "from_mem_mib", "to_mem_mib") are read.
//
// hiredis writes with write(2): the process must ignore SIGPIPE (the
// programs' mains and the test main do) or a Redis that goes away kills it.

#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "rightsize/core/error_sink.h"
#include "rightsize/core/redis.h"
#include "rightsize/sizing/state_store.h"

namespace rightsize::sizing {

// Where Redis is and how to reach it (host, port, database, password,
// timeout: see RedisConnectionOptions), and the sizer's own settings.
struct RedisOptions : RedisConnectionOptions {
  std::string prefix = "rightsize:";
  // The decisions stream is trimmed with MAXLEN ~: Redis drops whole stream
  // nodes only (100 entries by default), so it may hold about 100 more.
  std::size_t max_decisions = 10000;
};

// "redis://host:port/db" as rightsize::parseRedisUrl reads it (a URL holding
// a password is refused), the sizer's defaults for the rest.
Expected<RedisOptions> parseRedisUrl(std::string_view url);

// Thread-safety: one caller at a time (see StateStore).
//
// Semantics beyond StateStore:
// - saveApps() sends every record in one MULTI/EXEC transaction, pipelined,
//   a script call per 250 records checking the lease: either the lease holds
//   when the transaction runs and every record is written, or none is. Records with an empty app id or a non-finite
//   number are refused (kInvalidValue) before anything is sent.
// - loadApps() and recentDecisions() skip an entry that cannot be parsed,
//   count it (the ErrorSink, if any) and warn once per entry (spdlog). A set
//   of app ids of another type (overwritten by hand) is replaced by a SCAN of
//   the records, and rebuilt by the next saveApps(). One damaged record must not stop the sizer
//   from managing every other app, and an app without a record is treated as
//   new, which the sizer's check of Marathon deployments keeps safe.
// - acquireLease() returns nullopt whenever the lease is held, also by the
//   same owner with another token. The fencing token is consumed only by a
//   successful acquisition (INCR and SET run in one script).
// - releaseLease() of a lease no longer held succeeds and deletes nothing.
class RedisStateStore final : public StateStore {
 public:
  // `errors` (optional) counts what could not be loaded, as source "redis".
  explicit RedisStateStore(RedisOptions options, ErrorSink* errors = nullptr);
  ~RedisStateStore() override;
  RedisStateStore(const RedisStateStore&) = delete;
  RedisStateStore& operator=(const RedisStateStore&) = delete;

  Expected<std::map<std::string, AppRecord>> loadApps() override;
  Status saveApps(const std::vector<AppRecord>& records, const Lease& lease) override;
  Status deleteApp(const std::string& app_id, const Lease& lease) override;
  Status saveHistories(const std::vector<std::pair<std::string, std::string>>& histories, Duration ttl,
                       const Lease& lease) override;
  Expected<std::map<std::string, std::string>> loadHistories(const std::vector<std::string>& app_ids) override;
  Status saveHostLosses(const std::string& encoded, Duration ttl, const Lease& lease) override;
  Expected<std::optional<std::string>> loadHostLosses() override;
  Status appendDecision(const Decision& decision, const Lease& lease) override;
  Expected<std::vector<Decision>> recentDecisions(std::size_t count) override;
  Expected<std::optional<Lease>> acquireLease(const std::string& owner, Duration ttl) override;
  Expected<bool> renewLease(const Lease& lease, Duration ttl) override;
  Status releaseLease(const Lease& lease) override;

  // Writes records one command at a time, each waiting for its reply: the
  // baseline the pipelined saveApps() is measured against (bench/). Each
  // record is fenced, but a lease lost midway leaves the first ones written.
  Status saveAppsOneByOne(const std::vector<AppRecord>& records, const Lease& lease);

 private:
  using Command = RedisClient::Command;

  enum Script : std::size_t {
    kSaveApp,
    kSaveApps,
    kDeleteApp,
    kAppendDecision,
    kAcquire,
    kRenew,
    kRelease,
    kSaveHistories,
    kRebuildIndex,
    kScriptCount
  };

  // EVALSHA of a script, again as EVAL when Redis lost its script cache.
  Expected<RedisReply> runScript(Script script, const Command& keys_and_args, int key_count, std::string_view doing);
  Command scriptCommand(Script script, bool by_sha, const Command& keys_and_args, int key_count) const;
  Command saveAppArguments(const AppRecord& record, const std::string& lease_value) const;
  Status checkRecords(const std::vector<AppRecord>& records) const;
  // Interprets a fenced write's reply: 1, or {0, holder}.
  Status fencedResult(const RedisReply& reply, std::string_view doing) const;
  std::string key(std::string_view suffix) const { return options_.prefix + std::string(suffix); }
  void warnOnce(const std::string& what, const Error& error);
  // The app ids of the records (SCAN), when their set is damaged.
  Expected<std::vector<std::string>> scanAppIds(std::string_view doing);
  Status rebuildIndex(const Lease& lease);

  RedisOptions options_;
  RedisClient client_;
  std::array<std::string, kScriptCount> script_shas_;  // from SCRIPT LOAD on connect
  std::set<std::string> warned_;                       // entries already reported as unparseable
  ErrorSink* errors_ = nullptr;
  // loadApps() found the set of app ids damaged: the next fenced write
  // rebuilds it from these.
  bool rebuild_index_ = false;
  std::vector<std::string> loaded_ids_;
};

}  // namespace rightsize::sizing
