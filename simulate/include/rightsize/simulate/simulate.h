#pragma once

// The replay engine of `rightsize simulate`, the product's own policy under
// simulation, and the figures of docs/api.md ("Simulate output"):
//   slack = max(reserved - used, 0), shortfall = max(used - reserved, 0),
//   a sample is insufficient when used > reserved;
// reserved and used integrated over time (core-hours, GiB-hours), each
// sample standing for the step that ends at it.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "rightsize/simulate/isolation.h"
#include "rightsize/simulate/replay.h"
#include "rightsize/simulate/trace.h"
#include "rightsize/sizing/app_settings.h"
#include "rightsize/sizing/policy.h"
#include "rightsize/sizing/usage_history.h"

namespace rightsize::simulate {

struct ReplayOptions {
  // A change takes effect this long after the policy asked for it.
  Duration deploy_delay = std::chrono::minutes(5);
  // Keep each app's series (for per-app CSV and plots).
  bool keep_series = false;
  // What the containers' CPU limit does (--cpu-isolation); a memory limit
  // always kills.
  CpuIsolation cpu_isolation = CpuIsolation::kCfs;
  // The hosts' cores (--host-cores): containers are placed on hosts by their
  // CPU requests, and use beyond them (shares without a quota, a burstable
  // app's limit) comes from what their host's other containers leave
  // (isolation.h). 0: every host always has CPU to spare.
  double host_cores = 32;
  // Their memory (--host-memory): a host short of it kills the container
  // furthest above its request (a burstable app's). 0: always enough.
  double host_mem_mib = 128 * 1024;
  // The order in which the apps are taken at the same instant, and so in
  // which the deployment slots and the hosts' first-fit placement serve
  // them: 0, their ids' (as the sizer goes through Marathon's list, sorted
  // by id); otherwise a shuffle of it drawn from this seed (--orders): a
  // fleet's ids are as arbitrary as a trace's.
  std::uint64_t order_seed = 0;
};

struct ResourceFigures {
  double reserved_hours = 0;  // core-hours or GiB-hours
  // The part of it over the steps observed (not a gap in the trace, whose
  // use is unknown): what the slack is a share of.
  double observed_reserved_hours = 0;
  double static_reserved_hours = 0;  // what the trace itself reserved
  double used_hours = 0;             // the trace's use: for CPU, its demand
  double slack_hours = 0;
  double shortfall_hours = 0;  // used above the limit (CPU) or the reservation (memory)
  // CPU demand the containers could not use: above a CFS quota, or what a
  // full host could not give (ReplayOptions::host_cores). Memory: 0.
  double unmet_hours = 0;
  // Used above the request, out of the host's spare (a burstable app's
  // limit, shares without a quota): core-hours or GiB-hours.
  double burst_hours = 0;
  std::size_t samples = 0;
  std::size_t insufficient_samples = 0;

  double slackPct() const { return observed_reserved_hours > 0 ? 100 * slack_hours / observed_reserved_hours : 0; }
  double unmetPct() const { return used_hours > 0 ? 100 * unmet_hours / used_hours : 0; }
  double insufficientPct() const {
    return samples > 0 ? 100 * static_cast<double>(insufficient_samples) / static_cast<double>(samples) : 0;
  }
  void add(const ResourceFigures& other);
};

struct SeriesPoint {
  TimePoint at{};
  double cpu_used = 0;
  double cpu_reserved = 0;
  std::optional<double> mem_used_mib;
  std::optional<double> mem_reserved_mib;
  std::optional<double> cpu_limit;  // a burstable app's limits (sizing::kUnlimited: none)
  std::optional<double> mem_limit_mib;
};

struct AppResult {
  std::string app_id;
  ResourceFigures cpu;
  ResourceFigures mem;
  std::size_t redeploys = 0;
  std::size_t oom_kills = 0;       // samples whose memory use exceeded the limit
  std::size_t host_oom_kills = 0;  // of those, killed because their host ran out
  double days = 0;                 // the span the app's samples stand for
  // After the app's first redeploy (decided): its restarts but that one, and
  // the span; an app never redeployed, all of its. A fleet pays each app's
  // first resize once: these are what it pays every day after.
  std::size_t restarts_after_first_redeploy = 0;
  double days_after_first_redeploy = 0;
  std::vector<SeriesPoint> series;  // with ReplayOptions::keep_series
  // The reservation the policy left the app with: in force at the end, or
  // the one a redeploy in flight brings (what it recommends now).
  Reservation final_reservation;
};

struct PolicyResult {
  std::string policy;
  std::size_t apps = 0;
  std::size_t samples = 0;
  double days = 0;  // the trace's span: from the first sample's step to the last sample
  ResourceFigures cpu;
  ResourceFigures mem;
  std::size_t redeploys = 0;
  std::size_t oom_kills = 0;
  std::size_t host_oom_kills = 0;
  double app_days = 0;
  // The apps' figures after their first redeploy (AppResult); 0 where not
  // replayed app by app (a hindsight plan).
  std::size_t restarts_after_first_redeploy = 0;
  double app_days_after_first_redeploy = 0;
  std::vector<AppResult> per_app;  // in the trace's order
  CpuIsolation cpu_isolation = CpuIsolation::kCfs;

  double redeploysPerAppDay() const { return app_days > 0 ? static_cast<double>(redeploys) / app_days : 0; }
  // On Mesos a redeploy restarts every instance of the app, and an OOM kill
  // the task killed: both are restarts (one instance per app in a trace).
  std::size_t restarts() const { return redeploys + oom_kills; }
  double restartsPerAppDay() const { return app_days > 0 ? static_cast<double>(restarts()) / app_days : 0; }
  // Restarts per app-day once each app had its first resize (the steady
  // rate a trace of a day or two hides under each app's first descent);
  // none when no app-day came after one.
  std::optional<double> restartsPerAppDayAfterFirstRedeploy() const {
    if (!(app_days_after_first_redeploy > 0)) return std::nullopt;
    return static_cast<double>(restarts_after_first_redeploy) / app_days_after_first_redeploy;
  }
};

// Accounts a step of `hours` in which `used` was used (for CPU: the demand)
// under `reserved`, where the trace itself reserved `static_reserved`: the
// replay's accounting, which the demo's simulated cluster uses too. `limit`
// is what the container could use at once (for CPU its limit, which holds
// the command executor's share too: isolation.h): use above it is the
// shortfall, and makes the sample insufficient. Without it, `reserved`.
// `unobserved_hours` more of reservation follow (a gap in the trace, whose
// use is unknown): the reservations count through them, nothing else does.
void accountStep(ResourceFigures& figures, double used, double reserved, double static_reserved, double hours,
                 std::optional<double> limit = std::nullopt, double unobserved_hours = 0);

// Replays every app of `trace` through a fresh policy of `spec`.
PolicyResult replay(const Trace& trace, const PolicySpec& spec, const ReplayOptions& options);

// Where `a` fails to dominate `b`, by figure: "cpu.reserved_core_hours" when
// it reserves no fewer core-hours, "cpu.insufficient_sample_pct" when it has
// more insufficient samples, the same for memory ("mem.reserved_gib_hours",
// "mem.insufficient_sample_pct"; only when both have memory samples), and
// "redeploys_per_app_day" when it redeploys more. Empty: `a` dominates `b`.
std::vector<std::string> notDominating(const PolicyResult& a, const PolicyResult& b);

// One object per policy, as docs/api.md shows ("Simulate output", `--json`).
std::string resultJson(const PolicyResult& result);

// One policy's figures over replays that differ only in the order the apps
// are taken in (ReplayOptions::order_seed; `rightsize simulate --orders`).
struct Spread {
  double min = 0;
  double median = 0;  // of an even count, the mean of the middle two
  double max = 0;
};
struct OrderSpread {
  std::string policy;
  std::size_t orders = 0;
  Spread core_hours;
  Spread cpu_insufficient_pct;
  Spread cpu_unmet_pct;
  Spread gib_hours;  // all 0 without memory samples
  Spread oom_kills;
  Spread redeploys_per_app_day;
  Spread restarts_per_app_day;
};
// The spread of `results`: one policy, one result per order (not empty).
OrderSpread orderSpread(const std::vector<PolicyResult>& results);
// One object per policy, as docs/api.md shows ("Simulate output", `--orders`).
std::string orderSpreadJson(const OrderSpread& spread);

// The product's policy: what the sizer does, on the figures an agent would
// report. Per app, the figures of an agent with `--window` (moving average
// with that time constant, p95 of CPU and peak of memory over it) go through
// the sizer's sizing::UsageHistory into sizing::evaluate with the sizer's
// defaults; a resize starts the cooldown.
struct RightsizePolicyOptions {
  Duration window = std::chrono::minutes(5);  // the agent's --window
  sizing::HistoryOptions history;             // the sizer's --history
  // Bands, cooldown. A trace app is one container standing for an app's
  // alike instances: it may be shrunk (rightsize.allow-single-instance).
  sizing::AppSettings settings{.allow_single_instance = true};
  sizing::PolicyOptions policy;  // sustain, steps, headroom
  // The sizer's --max-concurrent-deployments: redeploys in flight across
  // the trace's apps, beyond which a resize waits for a slot.
  std::size_t max_concurrent_deployments = 1;
  // The sizer's --max-concurrent-oom-deployments: beyond them, for the
  // memory grows of OOM-killed apps.
  std::size_t max_concurrent_oom_deployments = 2;
  // Which resize that can wait a freed slot goes to (the sizer's --slot-order).
  sizing::SlotOrder slot_order = sizing::SlotOrder::kIds;
  // The sizer's --search-back-window.
  Duration search_back_window = std::chrono::days(7);
  // The sizer's --downsize-window (the budget's) and --oom-hold. (Its
  // --sustain is policy.sustain; --cooldown and --max-downsizes-per-day
  // the settings'.)
  Duration downsize_window = std::chrono::hours(24);
  Duration oom_hold = std::chrono::hours(24);
};
PolicySpec rightsizePolicy(RightsizePolicyOptions options = {});

}  // namespace rightsize::simulate
