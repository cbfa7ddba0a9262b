#pragma once

// The sizer's state machine of one app, as pure functions: given the app as
// Marathon lists it, its record, the agents' figures, the deployments in
// flight and the time, what the app's next record is, what state it is in,
// which of the sizer's deployments ended, and whether to PUT new resources.
// No I/O, no clock, no lease: Sizer does those (it saves the intent, fenced,
// before it sends the PUT, and feeds the PUT's outcome back through
// afterPut()); `rightsize simulate` can drive the same steps on a simulated
// Marathon.
//
// One app's step:
//  1. OOM kills grow memory at once and hold it (--oom-hold); a failed
//     deployment's hold and a refusal lift when they expire or the app
//     changes; the app is sick when its tasks are not all running and
//     healthy, queued or backing off.
//  2. The policy evaluates the app's figures (evaluate(), policy.h).
//  3. A resize of the sizer's in flight is brought up to date with Marathon
//     (reconcile): an unconfirmed PUT is confirmed or given up after a grace,
//     a deployment no longer listed ended (done, or failed: the version is
//     held); either starts the cooldown.
//  4. The app's state: deploying, cooldown, no_data, sick, disabled,
//     watching or idle; a watching app whose evaluation says resize, when the
//     sizer may write and has a deployment slot, gets an intent and a PUT.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rightsize/core/clock.h"
#include "rightsize/core/status.h"
#include "rightsize/sizing/agent_reader.h"
#include "rightsize/sizing/app_settings.h"
#include "rightsize/sizing/marathon.h"
#include "rightsize/sizing/policy.h"
#include "rightsize/sizing/scaling.h"
#include "rightsize/sizing/state_store.h"

namespace rightsize::sizing {

// Which resize that can wait a freed deployment slot goes to
// (--slot-order): kIds, the first in Marathon's order of the apps' ids (the
// sizer goes through its list in it); kLargest, the largest claim
// (SlotClaim).
enum class SlotOrder { kIds, kLargest };
std::optional<SlotOrder> parseSlotOrder(std::string_view name);  // "ids", "largest"

// The sizer's waits and bounds that the flow applies (SizerOptions has them
// as flags).
struct FlowOptions {
  PolicyOptions policy;
  std::size_t max_concurrent_deployments = 1;
  // An OOM-killed app's memory grow starts while fewer than
  // max_concurrent_deployments plus these are in flight
  // (--max-concurrent-oom-deployments): such an app restarts at each kill
  // anyway, and a grow that waits behind others' resizes costs it a restart
  // per kill. Once started it holds a slot as any deployment does.
  std::size_t max_concurrent_oom_deployments = 2;
  SlotOrder slot_order = SlotOrder::kIds;
  Duration retry_after = std::chrono::minutes(1);
  Duration unconfirmed_grace = std::chrono::minutes(1);
  Duration oom_hold = std::chrono::hours(24);
  // How long the sizer's last shrink of each resource is remembered: at risk
  // within it, the app goes back towards what the shrink took away
  // (--search-back-window).
  Duration search_back_window = std::chrono::days(7);
  Duration failed_deployment_hold = std::chrono::hours(24);
  // The window of the apps' downsize budget (AppSettings::max_downsizes).
  Duration downsize_window = std::chrono::hours(24);
  // Horizontal scaling's waits (--scale-interval, --scale-sustain).
  ScaleOptions scale;
};

// What a resize that can wait claims of a free deployment slot under
// SlotOrder::kLargest: one that grows something goes before one that only
// shrinks, then the one that moves more of the fleet's reservation, in
// cores: instances x (the change of cpus + the change of mem / the fleet's
// MiB per core). With one slot and a fleet to shrink, a two-day replay
// reaches only part of it: the largest waste goes first.
struct SlotClaim {
  bool grows = false;
  double cores = 0;    // instances x the change of cpus
  double mem_mib = 0;  // instances x the change of mem
  double worth(double fleet_mem_per_core) const {
    return cores + (fleet_mem_per_core > 0 ? mem_mib / fleet_mem_per_core : 0);
  }
  bool operator==(const SlotClaim&) const = default;
};

// The fleet's MiB per core from the sums of its reservations (cpus and mem
// times instances): 0 (claims count cores alone) unless both are finite and
// it has cores. Sizer and replay price claims with it.
double fleetMemPerCore(double fleet_cpus, double fleet_mem_mib);

// Whether app `a` with claim `ca` goes before app `b` with `cb`, at the
// fleet's MiB per core (an equal claim: the smaller id first).
bool claimsFirst(std::string_view a, const SlotClaim& ca, std::string_view b, const SlotClaim& cb,
                 double fleet_mem_per_core);

// The apps whose resize that can wait was refused a slot, and their claims,
// as the sizer keeps them from cycle to cycle (and `rightsize simulate`
// from slot to slot): a resize takes a free slot only when no app waiting
// claims it more. The claims are priced at the fleet's MiB per core of the
// moment they are compared, so that every app of a cycle sees one order.
class SlotQueue {
 public:
  void wait(const std::string& app_id, SlotClaim claim) { claims_[app_id] = claim; }
  void leave(const std::string& app_id) { claims_.erase(app_id); }
  // Every app but those `keep` says to keep leaves.
  template <typename Keep>
  void keepOnly(Keep keep) {
    std::erase_if(claims_, [&keep](const auto& entry) { return !keep(entry.first); });
  }
  // The other apps waiting that go before `app_id` with `claim`, counted up
  // to `most`.
  std::size_t ahead(std::string_view app_id, const SlotClaim& claim, double fleet_mem_per_core, std::size_t most) const;
  std::size_t size() const { return claims_.size(); }

 private:
  std::map<std::string, SlotClaim, std::less<>> claims_;
};

// What one app's step sees.
struct AppInput {
  const MarathonApp& app;
  const AppSettings& settings;
  bool enabled = false;  // the sizer may redeploy it
  // The agents' figures over the app's history (empty: none), alerted or not.
  AppUsage usage;
  // The app's entry in Marathon's launch queue (nullopt: not queued), and
  // whether the queue could be read at all.
  std::optional<QueuedApp> queued;
  bool queue_known = true;
  // GET /v2/deployments just before the apps were listed; nullopt when it
  // failed or was not read (nothing is then taken as ended).
  const std::optional<std::vector<MarathonDeployment>>& deployments;
  // Leader in apply mode: in-flight resizes are followed and new ones made.
  bool may_write = false;
  // The sizer's resizes in flight (this app's included), and this app's
  // consecutive failed attempts at resizing.
  std::size_t in_flight = 0;
  int failed_attempts = 0;
  // Other apps at risk (a hot spot, an OOM kill) that were refused a
  // deployment slot and still wait for one: a resize that can wait (a
  // shrink, a grow of an app not at risk) leaves the free slots to them.
  std::size_t at_risk_waiting = 0;
  // Other apps whose resize that can wait waits for a slot (nullptr: none),
  // and the fleet's MiB per core (its reservations' sums; 0: count cores
  // alone), which prices this app's claim against theirs.
  const SlotQueue* slot_queue = nullptr;
  double fleet_mem_per_core = 0;
  std::string intent_id;  // for a new intent: unique per decision
  // A scale an alert asked for this cycle (docs/scaling.md), if any.
  ScaleDirection scale_alert = ScaleDirection::kNone;
  // The app is listed for the first time, in a fleet the sizer has listed
  // before: it was born now (the record keeps when, AppRecord::born_at).
  bool born = false;
  TimePoint now{};
};

// Resources to PUT: the intent is in the step's record, to be saved (fenced
// by the lease) before the PUT is sent.
struct ResizeRequest {
  double cpus = 0;
  double mem_mib = 0;
  std::optional<ResourceLimits> limits;  // a burstable app's resourceLimits
  // A scale: PUT these instances alone (cpus and mem above are the app's
  // own, unchanged), no resize.
  std::optional<int> instances;
};

// What one app's step decided.
struct AppStep {
  AppRecord record;  // the next record
  AppState state = AppState::kIdle;
  std::string reason;  // for people
  Evaluation evaluation;
  ScaleEvaluation scale;                    // the app's scaling rules' view (scaling.h)
  AppUsage usage;                           // as evaluated: with OOM growth, memory hold and sickness
  std::string deployment_id;                // the app's deployment in progress, if any
  std::optional<TimePoint> resizing_since;  // when the sizer decided its resize in flight
  // A resize of the sizer's that ended this step (deployment_done or
  // deployment_failed): the record is to be saved and the decision logged.
  std::optional<Decision> ended;
  std::optional<ResizeRequest> put;
  std::size_t in_flight = 0;  // after this step
  int failed_attempts = 0;    // after this step
  // A resize or a scale of the app is due and waits for a deployment slot
  // (--max-concurrent-deployments); and the app is at risk (the sizer counts
  // it in the other apps' AppInput::at_risk_waiting).
  bool waiting_for_slot = false;
  bool at_risk_waiting = false;
  // A resize that can wait, waiting for a slot under SlotOrder::kLargest:
  // its claim (the sizer keeps it in the SlotQueue the other apps'
  // AppInput::slot_queue sees).
  std::optional<SlotClaim> slot_claim;
};

// Steps 1 to 4 for one app; `record` is its record as last saved (or new).
AppStep stepApp(const AppInput& input, AppRecord record, const FlowOptions& options);

// The intent could not be saved (the store or the lease is gone): no PUT.
void intentNotSaved(AppStep& step);

// The PUT's outcome (an error: its answer was lost). Updates the step's
// record, state, reason and counts, and returns the decision to log; `error`
// is set to what is to be counted against Marathon, if anything.
Decision afterPut(AppStep& step, const AppInput& input, const Expected<UpdateOutcome>& outcome,
                  const FlowOptions& options, std::optional<Error>& error);

// How long to wait after the `attempts`-th consecutive failed attempt:
// retry_after, doubled after each further failure, up to the app's cooldown.
Duration backoffAfter(int attempts, Duration retry_after, Duration cooldown);

}  // namespace rightsize::sizing
