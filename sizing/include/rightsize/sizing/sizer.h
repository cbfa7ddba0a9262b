#pragma once

// The sizer's decision cycle: read Marathon and the agents, evaluate the
// policy for every app, and (in apply mode, as the leader) redeploy apps
// whose reservations lie, one deployment at a time, checkpointing in the
// StateStore so that a restart loses nothing and never redeploys twice.
//
// Safety, in order of precedence:
//  - no write to Marathon unless this sizer holds the lease, and the intent
//    was written to the store first (fenced by the lease);
//  - never act on an app with a deployment in progress, nor during its
//    cooldown, nor beyond --max-concurrent-deployments;
//  - a PUT whose outcome is unknown (timeout, 5xx) is not repeated: the next
//    cycle reads Marathon to learn whether it happened;
//  - its own deployment is followed through GET /v2/deployments (one request
//    a cycle, only while one is in flight) until Marathon no longer lists it;
//  - a PUT Marathon refused (404, 422) is not sent again for the same app
//    version before the app's cooldown has passed;
//  - the policy never takes resources from a lagging Kafka consumer.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "rightsize/core/error_sink.h"
#include "rightsize/sizing/agent_reader.h"
#include "rightsize/sizing/app_settings.h"
#include "rightsize/sizing/capacity.h"
#include "rightsize/sizing/instance_speed.h"
#include "rightsize/sizing/marathon.h"
#include "rightsize/sizing/policy.h"
#include "rightsize/sizing/resize_flow.h"
#include "rightsize/sizing/state_store.h"
#include "rightsize/sizing/usage_history.h"

namespace rightsize::sizing {

enum class Mode { kRecommend, kApply };

struct SizerOptions {
  Mode mode = Mode::kRecommend;
  bool apply_all = false;  // apply to apps without rightsize.enabled=true
  std::size_t max_concurrent_deployments = 1;
  std::size_t max_concurrent_oom_deployments = 2;  // see FlowOptions
  SlotOrder slot_order = SlotOrder::kIds;          // see FlowOptions
  bool force_deployments = false;
  AppSettings defaults;    // for apps without labels (--cpu-band, --mem-band, --cooldown)
  PolicyOptions policy;    // --sustain
  HistoryOptions history;  // --history: how far back p95 and peak look
  std::string owner;       // unique per sizer process, for the lease
  // Where per-app figures come from when set (not owned; --usage-source
  // prometheus): instead of reading the agents. Unset: the agents.
  UsageSource* usage_source = nullptr;
  Duration lease_ttl = std::chrono::seconds(90);
  std::vector<std::string> agents;  // --agents: fixed agent URLs; else the tasks of agent_app
  std::string agent_app = "/rightsize/agent";
  // After a PUT that was refused with 409 (locked) or did not happen: wait
  // this long before trying that app again, doubled after each further
  // failure, up to the app's cooldown. (A 404 or 422 waits the cooldown.)
  Duration retry_after = std::chrono::minutes(1);
  // A PUT whose answer was lost (timeout, 5xx) is taken as not done only if
  // Marathon still shows the old resources this long after it was sent: a
  // slow Marathon may apply it after the client gave up.
  Duration unconfirmed_grace = std::chrono::minutes(1);
  // After an OOM kill the app's memory does not shrink below its growth for
  // this long (--oom-hold).
  Duration oom_hold = std::chrono::hours(24);
  // At risk within this long of the sizer's last shrink of a resource, an
  // app goes back towards what the shrink took away (--search-back-window;
  // resize_flow.h).
  Duration search_back_window = std::chrono::days(7);
  // A deployment of the sizer's that ended without its change: the app is not
  // resized again, while it runs the same version, for this long
  // (--failed-deployment-hold).
  Duration failed_deployment_hold = std::chrono::hours(24);
  // The window of the apps' downsize budget (--downsize-window; the budget
  // is AppSettings::max_downsizes, --max-downsizes-per-day).
  Duration downsize_window = std::chrono::hours(24);
  // Horizontal scaling's waits (--scale-interval, --scale-sustain; the
  // throttle share is the policy's).
  ScaleOptions scale;
  // Figures no task can have (--max-cpus, --max-mem): refused from the agents;
  // the same ceilings bound every recommendation (policy.cpu_ceiling, ...).
  FigureLimits limits;
  // The fleet's headroom for hosts that vanish (--headroom-lead-time,
  // --headroom-window, --headroom-multiple, --host-lost-after;
  // docs/capacity.md).
  HeadroomOptions headroom;
  // Instance types' CPU speed (--speed-min-apps, --speed-min-samples;
  // docs/capacity.md): when to trust a type's factor.
  SpeedOptions speed;
};

// One app as /v1/apps shows it.
struct AppView {
  std::string app_id;
  bool enabled = false;  // the sizer may redeploy it
  int instances = 0;
  // What its scaling rules want (docs/scaling.md): nullopt without rules
  // (rightsize.instances.min and .max), and why.
  std::optional<int> recommended_instances;
  std::string scale_reason;
  double cpus = 0;
  double mem_mib = 0;
  std::optional<double> recommended_cpus;
  std::optional<double> recommended_mem_mib;
  // Marathon's resourceLimits of the app (kUnlimited: "unlimited"), and
  // those the sizer writes with its next resize (a burstable app's, or the
  // app's own written back); nullopt: none written.
  ResourceLimits limits;
  std::optional<ResourceLimits> recommended_limits;
  bool burstable = false;  // rightsize.limits=burstable, or --limits burstable
  // Sick apps are not resized but to grow memory after an OOM kill;
  // unusable ones (Marathon's definition could not be parsed) are never
  // touched, their records kept.
  AppState state = AppState::kIdle;
  std::string reason;
  // OOM kills of the app's tasks this sizer has seen (Marathon's
  // lastTaskFailure), and the last one's time.
  std::uint64_t oom_kills = 0;
  std::optional<TimePoint> last_oom_kill_at;
  std::string deployment_id;
  // When the sizer decided the resize it has in flight for the app (its
  // own deployments only); nullopt otherwise. Exported as the deployment's
  // age, so that one that never ends can be alerted on per app.
  std::optional<TimePoint> resizing_since;
  std::vector<std::string> label_errors;
  // The lying-factor bands the app is judged by: its rightsize.cpu.band and
  // rightsize.mem.band labels, else the defaults (--cpu-band, --mem-band).
  // Exported per app in /metrics so that alert rules and dashboards use them;
  // nullopt: not known, not exported.
  std::optional<Band> cpu_band_cores;
  std::optional<Band> mem_band_mib;
  // The time of day (UsageHistory's profile), where it has seen days: the
  // highest CPU p95 expected over the next day and when; how many standard
  // deviations use now is below what this hour expects, and whether that is
  // an anomaly (nothing shrinks).
  std::optional<double> forecast_peak_cpus;
  std::optional<TimePoint> forecast_peak_at;
  std::optional<double> usage_anomaly_score;
  bool usage_anomaly = false;
  // The markets (marketName()) the app's tasks run in that its recommended
  // grow would leave below their headroom, or that are below it already.
  std::vector<std::string> eats_headroom;
  // Its CPU figures scaled from the slowest trusted instance type its tasks
  // run on to the slowest its constraints let it land on (1: none applies).
  double cpu_speed_scale = 1;
  std::string sized_for_instance_type;
  // A resize or scale of the app is due and waits for one of the sizer's
  // --max-concurrent-deployments slots; and the app is at risk (it goes
  // first). Exported as counts, so that a backlog shows.
  bool waiting_for_slot = false;
  bool waiting_at_risk = false;
};

// The fleet's capacity as the sizer last saw it through the agents
// (/v1/capacity, docs/capacity.md).
struct FleetCapacityView {
  bool known = false;  // the agents were read (not with --usage-source prometheus)
  TimePoint at{};
  HeadroomOptions options;
  std::vector<MarketCapacity> markets;
  std::vector<HostLoss> losses;                // in the window, oldest first
  std::map<Market, std::uint64_t> hosts_lost;  // cumulative, this process
  std::vector<SpeedFactor> speed;              // the instance types' CPU factors
};

struct SizerSnapshot {
  TimePoint timestamp{};
  bool leader = false;
  Mode mode = Mode::kRecommend;
  std::vector<AppView> apps;  // sorted by id
  bool marathon_ok = false;
  bool store_ok = false;  // the store answered (or there is none)
  std::size_t agents = 0;
  std::size_t agents_reachable = 0;
  std::uint64_t cycles = 0;
  std::uint64_t fencing_token = 0;
  // Cumulative: OOM kills seen, by app (rightsize_app_oom_kills_total).
  std::map<std::string, std::uint64_t> oom_kills;
  // Cumulative: resizes by (app, resource "cpu"/"mem", direction "up"/"down").
  std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t> resizes;
  FleetCapacityView capacity;
  // Cumulative: scales started by (app, direction "out"/"in").
  std::map<std::pair<std::string, std::string>, std::uint64_t> scales;
};

// Thread-safety: runCycle() from one thread at a time; snapshot() and
// recentDecisions() from any thread.
class Sizer {
 public:
  // In recommend mode the store is only read (records and decisions, to show
  // them): a look-only sizer never takes the lease nor writes. Without a store
  // (nullptr: a look-only sizer without --redis) the sizer keeps its state in
  // a MemoryStateStore of its own, and counts as the leader of itself.
  Sizer(MarathonClient& marathon, AgentSource& agents, StateStore* store, const Clock& clock, ErrorSink& errors,
        SizerOptions options);
  ~Sizer();

  void runCycle();
  std::shared_ptr<const SizerSnapshot> snapshot() const;
  // Newest first, at most 100 with a store: the store's as the last cycle
  // read them (the store is used from the cycle's thread only; this is
  // called from HTTP workers), else those kept in memory.
  std::vector<Decision> recentDecisions(std::size_t count);
  // Gives up the lease (on shutdown) so another sizer takes over at once.
  void resign();
  // Hot-spot alerts fired for these apps (from any thread): the next cycle
  // grows them without waiting for its own evidence (see AppUsage::alerted).
  // The caller runs that cycle at once.
  void alerted(const std::vector<std::string>& app_ids);
  // Alerts asking to scale these apps ("out" or "in", by app id; from any
  // thread): the next cycle decides a scale of each within its rules
  // (docs/scaling.md). The caller runs that cycle at once.
  void scaleAlerted(const std::map<std::string, std::string>& requests);

 private:
  // Whether this sizer leads; `store_ok`: the store answered (or there is none).
  bool refreshLeadership(TimePoint now, bool& store_ok);
  void logDecision(Decision decision);
  bool save(const AppRecord& record);
  // The stored usage histories of these apps, where they look further back
  // than this sizer's own; once per lease.
  void restoreHistories(const std::set<std::string>& app_ids);
  void checkpointHistories(TimePoint now);
  // Fleet capacity (sizer_capacity.cc): the hosts of this cycle's agents
  // into the loss tracker (restored from the store once per lease,
  // checkpointed once a bucket and at each loss), and which markets each
  // app's tasks run in; then the apps whose grow would eat a market's
  // headroom.
  void trackCapacity(const std::vector<AgentReport>& reports, TimePoint now, bool may_write);
  void markHeadroomEaters(SizerSnapshot& snapshot) const;
  // Each app's CPU figures scaled for the slowest instance type it may land
  // on (sizer_capacity.cc); noted in its view after the cycle.
  void scaleForSpeed(std::map<std::string, AppUsage>& usage, const std::vector<MarathonApp>& apps);
  void noteSpeed(SizerSnapshot& snapshot) const;

  MarathonClient& marathon_;
  AgentSource& agents_;
  std::unique_ptr<StateStore> own_store_;  // without a store given
  StateStore& store_;
  const Clock& clock_;
  ErrorSink& errors_;
  SizerOptions options_;
  FlowOptions flow_;  // from options_
  bool standalone_;   // the store is this sizer's own
  std::optional<Lease> lease_;
  bool records_loaded_ = false;
  bool listed_before_ = false;  // a complete listing of the fleet was read
  std::map<std::string, AppRecord> records_;
  std::uint64_t cycles_ = 0;
  std::uint64_t intents_ = 0;
  std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t> resizes_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> scales_;
  std::map<std::string, int> failed_attempts_;  // consecutive, by app
  // Apps at risk whose resize waits for a deployment slot (resize_flow.h).
  std::set<std::string> at_risk_waiting_;
  // Apps whose resize that can wait waits for a slot, and their claims.
  SlotQueue slot_queue_;
  std::map<std::string, std::uint64_t> oom_kills_;        // seen, by app
  std::map<std::string, std::string> counted_oom_tasks_;  // the last OOM-killed task counted, by app
  std::set<std::string> reported_unusable_;               // "<app id>\n<problem>" already logged
  std::map<std::string, UsageHistory> histories_;         // by app
  std::uint64_t histories_restored_for_ = 0;              // the lease token they were restored under
  std::optional<TimePoint> histories_saved_at_;
  HostLossTracker hosts_;
  std::uint64_t hosts_restored_for_ = 0;  // the lease token the tracker was restored under
  std::optional<TimePoint> hosts_saved_at_;
  FleetCapacityView capacity_;
  InstanceSpeed speed_;
  std::map<std::string, SpeedScale> speed_scales_;                  // this cycle's, by app (scale != 1 only)
  std::map<std::string, std::vector<std::string>> speed_problems_;  // by app
  std::map<std::string, std::map<Market, int>> app_markets_;        // this cycle's tasks per market, by app
  std::mutex alerted_mutex_;
  std::set<std::string> alerted_;
  std::map<std::string, std::string> scale_alerted_;  // app id -> out or in
  std::mutex decisions_mutex_;
  std::vector<Decision> memory_decisions_;  // until the store's are read
  // The store's newest decisions as the last cycle read them: the store's
  // connection is used by the cycle's thread only.
  std::optional<std::vector<Decision>> stored_decisions_;
  mutable std::mutex snapshot_mutex_;
  std::shared_ptr<const SizerSnapshot> snapshot_;
};

}  // namespace rightsize::sizing
