#pragma once

// What the sizer keeps across restarts, and the leader lease that lets only
// one of several sizers write. The real store is Redis (RedisStateStore);
// the interface lets the sizer's logic be tested without it.
//
// Keys, under a prefix (--redis-prefix, default "rightsize:"):
//   <prefix>app:<app_id>   hash, one AppRecord
//   <prefix>apps           set of the app ids that have a record
//   <prefix>decisions      stream of Decision entries (capped)
//   <prefix>leader         "<owner> <token>" with a TTL: the lease
//   <prefix>leader:token   counter handing out fencing tokens
//   <prefix>history:<app_id>  string, the app's UsageHistory::encode(), with a TTL
//   <prefix>capacity:hosts    string, the fleet's HostLossTracker::encode(), with a TTL

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rightsize/core/clock.h"
#include "rightsize/core/status.h"

namespace rightsize::sizing {

// Where an app stands with the sizer (/v1/apps "state", the records' "state").
enum class AppState {
  kIdle,       // inside its bands
  kWatching,   // out of a band, not long enough yet (or waiting for a slot)
  kDeploying,  // a deployment of the app is in progress (the sizer's or another)
  kCooldown,   // after a resize, a failed attempt or a refusal
  kDisabled,   // not to be resized (no rightsize.enabled=true, or disabled)
  kNoData,     // no figures from the agents yet
  kSick,       // tasks not all running and healthy, launch back-off, a failed deployment
  kUnusable,   // Marathon's definition could not be used: never touched
};
inline constexpr AppState kEveryAppState[] = {AppState::kIdle,     AppState::kWatching, AppState::kDeploying,
                                              AppState::kCooldown, AppState::kDisabled, AppState::kNoData,
                                              AppState::kSick,     AppState::kUnusable};
std::string_view appStateName(AppState state);  // "idle", "watching", ..., "no_data", "unusable"
std::optional<AppState> parseAppState(std::string_view name);

// What a line of the audit trail records.
enum class DecisionAction {
  kResize,             // a PUT Marathon took: a deployment carries it out
  kScale,              // a PUT of instances alone Marathon took (docs/scaling.md)
  kResizeUnconfirmed,  // a PUT whose answer was lost (timeout, 5xx)
  kResizeRefused,      // a PUT Marathon refused (locked, 404, 422): nothing changed
  kDeploymentDone,     // the sizer's deployment ended with its change
  kDeploymentFailed,   // ... ended without it (failed, rolled back, replaced, app deleted)
};
std::string_view decisionActionName(DecisionAction action);  // "resize", ..., "deployment_failed"
std::optional<DecisionAction> parseDecisionAction(std::string_view name);

// The sizer's durable state of one app.
struct AppRecord {
  std::string app_id;
  // What /v1/apps shows as the app's state as of the last checkpoint; unset
  // in records written before it was kept (or holding a name this sizer does
  // not know). For people and tools reading Redis: the sizer decides from the
  // fields below, never from this one.
  std::optional<AppState> state;
  // When the app's figures left the band, and in which direction ("up",
  // "down"); unset while inside it.
  std::optional<TimePoint> out_of_band_since;
  std::string out_of_band_direction;
  // The same for a burstable app's limits (its request above).
  std::optional<TimePoint> limit_out_of_band_since;
  std::string limit_out_of_band_direction;
  // A resize the sizer decided and is carrying out. The intent is written
  // before the PUT to Marathon, the deployment id after it: a sizer that
  // restarts with an intent and no deployment id checks Marathon before
  // doing anything, so the same change is never PUT twice.
  std::optional<double> intent_cpus;
  std::optional<double> intent_mem_mib;
  // The resourceLimits the intent writes (a burstable app's; kUnlimited:
  // "unlimited"); unset: it writes none.
  std::optional<double> intent_cpus_limit;
  std::optional<double> intent_mem_limit_mib;
  // A scale (a PUT of instances alone): the instances it asks for. The
  // intent's cpus and mem are then the app's own, unchanged, so that every
  // rule about an intent in flight holds for a scale too. Unset: a resize
  // (and in records older sizers wrote).
  std::optional<int> intent_instances;
  std::string intent_id;  // unique per decision
  std::string deployment_id;
  std::optional<TimePoint> intent_at;
  // The last resize that finished, and the cooldown it started.
  std::optional<TimePoint> last_change_at;
  std::optional<TimePoint> cooldown_until;
  std::uint64_t resizes = 0;
  // The last resize Marathon refused (404, 422: nothing was applied): the
  // app version it was refused for, Marathon's explanation, and until when
  // the sizer does not ask again for that version (the app's cooldown). A new
  // version of the app (someone changed it) lifts the wait.
  std::string refused_version;
  std::string refusal;
  std::optional<TimePoint> refused_until;
  // The last OOM kill seen in Marathon's lastTaskFailure (its task id), so
  // that it is counted once; and the memory the app does not shrink below
  // after one (the kill's growth), until when (--oom-hold).
  std::string oom_task_id;
  std::optional<double> mem_hold_mib;
  std::optional<TimePoint> mem_hold_until;
  // Kills in a row while the hold lasts, each at the growth the previous
  // one gave: the next growth escalates (policy.h, oomGrowth). 0: none.
  std::uint64_t oom_streak = 0;
  // What the sizer's last shrink of each resource took the app from (its
  // memory, its cpus), and when: at risk within --search-back-window of it
  // (OOM-killed, at its memory limit, throttled or, under CPU shares, using
  // clearly more CPU than it reserves), the shrink proved wrong,
  // and the app goes at least half way back to these at once, on both
  // resources, all the way when OOM-killed (not up by steps, a restart
  // each; resize_flow.cc).
  std::optional<double> shrunk_from_mem_mib;
  std::optional<TimePoint> mem_shrunk_at;
  std::optional<double> shrunk_from_cpus;
  std::optional<TimePoint> cpu_shrunk_at;
  // The app version a deployment of the sizer's ended without its change
  // (failed, rolled back): the app is not resized again while it runs that
  // version, until failed_until (--failed-deployment-hold).
  std::string failed_version;
  std::optional<TimePoint> failed_until;
  // When the resizes that took something away were made, within the last
  // --downsize-window, oldest first: the app's restart budget.
  std::vector<TimePoint> downsizes;
  // The last time a shrink of the sizer's proved wrong (the app at risk
  // within --search-back-window of it, below what the shrink took it from):
  // nothing of the app shrinks before --wrong-shrink-hold after it.
  std::optional<TimePoint> shrink_proved_wrong_at;
  // Horizontal scaling (scaling.h): since when the app's scale metric is
  // beyond a threshold, and which ("out", "in"; unset: within them); when
  // the last scale was decided (the next waits rightsize.scale.interval);
  // scales started, ever.
  std::optional<TimePoint> scale_since;
  std::string scale_direction;
  std::optional<TimePoint> last_scale_at;
  std::uint64_t scales = 0;
  // When the app first appeared in a listing of a fleet the sizer already
  // watched: it was born (created, or recreated) then, and is not shrunk
  // before it has lived --min-app-age. Unset for the apps the sizer found
  // when it first listed the fleet (their age is unknown: taken as old) and
  // in records older sizers wrote.
  std::optional<TimePoint> born_at;

  bool operator==(const AppRecord&) const = default;
};

// One line of the audit trail.
struct Decision {
  TimePoint at{};
  std::string app_id;
  DecisionAction action = DecisionAction::kResize;
  std::optional<double> from_cpus, to_cpus;
  std::optional<double> from_mem_mib, to_mem_mib;
  std::optional<int> from_instances, to_instances;  // a scale's
  std::string reason;
  std::string deployment_id;
  std::uint64_t fencing_token = 0;
  bool operator==(const Decision&) const = default;
};

struct Lease {
  std::string owner;        // unique per sizer process
  std::uint64_t token = 0;  // fencing token: grows with every new holder
};

// Thread-safety: calls come from one thread at a time.
class StateStore {
 public:
  virtual ~StateStore() = default;

  // Every record (an empty map when there are none).
  virtual Expected<std::map<std::string, AppRecord>> loadApps() = 0;
  // Writes records (pipelined) only while `lease` is held: fails with kConflict
  // naming the current holder otherwise, and writes nothing.
  virtual Status saveApps(const std::vector<AppRecord>& records, const Lease& lease) = 0;
  virtual Status deleteApp(const std::string& app_id, const Lease& lease) = 0;

  // The apps' usage histories (app id, UsageHistory::encode()), each kept for
  // `ttl` unless written again, only while `lease` is held (kConflict
  // otherwise). Not all or nothing: histories are independent.
  virtual Status saveHistories(const std::vector<std::pair<std::string, std::string>>& histories, Duration ttl,
                               const Lease& lease) = 0;
  // The stored histories of these apps; apps without one are left out.
  virtual Expected<std::map<std::string, std::string>> loadHistories(const std::vector<std::string>& app_ids) = 0;

  // The fleet's hosts and their losses (HostLossTracker::encode(),
  // docs/capacity.md), kept for `ttl` unless written again, only while
  // `lease` is held (kConflict otherwise); nullopt when none is stored.
  virtual Status saveHostLosses(const std::string& encoded, Duration ttl, const Lease& lease) = 0;
  virtual Expected<std::optional<std::string>> loadHostLosses() = 0;

  // Appends to the decisions stream, capped at about `max_decisions` entries.
  virtual Status appendDecision(const Decision& decision, const Lease& lease) = 0;
  // The newest first.
  virtual Expected<std::vector<Decision>> recentDecisions(std::size_t count) = 0;

  // Takes the lease if nobody holds it (SET NX PX), with a new fencing token;
  // nullopt when another owner holds it.
  virtual Expected<std::optional<Lease>> acquireLease(const std::string& owner, Duration ttl) = 0;
  // Extends the lease if `lease` still holds it; false when it was lost.
  virtual Expected<bool> renewLease(const Lease& lease, Duration ttl) = 0;
  virtual Status releaseLease(const Lease& lease) = 0;
};

// The state of a sizer that has no store to share (a look-only sizer without
// --redis): kept in memory, lost with the process. The lease is granted to
// whoever asks first and held until released; histories never expire.
class MemoryStateStore final : public StateStore {
 public:
  explicit MemoryStateStore(std::size_t max_decisions = 1000) : max_decisions_(max_decisions) {}

  Expected<std::map<std::string, AppRecord>> loadApps() override { return records_; }
  Status saveApps(const std::vector<AppRecord>& records, const Lease& lease) override;
  Status deleteApp(const std::string& app_id, const Lease& lease) override;
  Status saveHistories(const std::vector<std::pair<std::string, std::string>>& histories, Duration ttl,
                       const Lease& lease) override;
  Expected<std::map<std::string, std::string>> loadHistories(const std::vector<std::string>& app_ids) override;
  Status saveHostLosses(const std::string& encoded, Duration ttl, const Lease& lease) override;
  Expected<std::optional<std::string>> loadHostLosses() override { return host_losses_; }
  Status appendDecision(const Decision& decision, const Lease& lease) override;
  Expected<std::vector<Decision>> recentDecisions(std::size_t count) override;
  Expected<std::optional<Lease>> acquireLease(const std::string& owner, Duration ttl) override;
  Expected<bool> renewLease(const Lease& lease, Duration ttl) override;
  Status releaseLease(const Lease& lease) override;

 private:
  Status held(const Lease& lease) const;

  std::size_t max_decisions_;
  std::map<std::string, AppRecord> records_;
  std::map<std::string, std::string> histories_;
  std::optional<std::string> host_losses_;
  std::vector<Decision> decisions_;  // oldest first
  std::optional<Lease> holder_;
  std::uint64_t tokens_ = 0;
};

}  // namespace rightsize::sizing
