#pragma once

// The sizing policy: given what an app reserves and what its tasks use,
// whether to resize it and to what. Pure and clock-free (time comes in as
// `now`), so the sizer and `rightsize simulate` run the very same code.
//
// Each resource has a band for its lying factor (reserved - used; cores,
// MiB). Outside it for `sustain` (a fifth of that for a container using
// clearly more CPU than it reserves, `short_margin` above it, or throttled in
// nearly every period; no wait for memory at its limit nor for a hot spot an
// alert reported; a container throttled in fewer periods waits the whole
// sustain: a restart costs more than a saturation shorter than that), the
// resource is
// resized to what the window of use asks for:
//   cpus = max(avg + target, p95 * (1 + cpu_p95_headroom)),
//          and while throttled at least the limit plus the demand it held
//          back (the agents' throttled cores, a mean) times
//          1 + peak_headroom_multiple x cpu_p95_headroom, or throttle_bump x
//          the limit where that is not measured;
//   mem  = max(used + target, peak * (1 + mem_peak_headroom)),
//          and at least oom_bump x the current mem when at its limit;
// where target is the lying factor `target_in_band` of the way up the band
// (a third: below its middle, so that a resize buys the most time before
// the next one on the side that costs money, p95 and peak guarding the
// other). Nothing shrinks on less than `min_history` (and `sustain`) of
// history.
// rounded up to a step (0.05 cores, 32 MiB) and kept within the floors and
// the app's min/max. A resource inside its band keeps its reservation. No
// resource goes down while one of the app's Kafka consumer groups is
// falling behind, nor while its use has collapsed against its time of day
// (an anomaly: UsageHistory). The time of day also floors a CPU shrink at
// the peak expected over the next day, and grows an app ahead of a
// recurring peak within the hour (both with peak_headroom_multiple x
// cpu_p95_headroom over the peak).

#include <optional>
#include <string>

#include "rightsize/core/clock.h"
#include "rightsize/sizing/app_settings.h"
#include "rightsize/sizing/resource_limits.h"

namespace rightsize::sizing {

// What the agents say about one app, over its tasks. The busiest task
// decides: every task gets the same reservation.
struct AppUsage {
  int tasks = 0;                       // tasks with figures
  std::optional<double> cpu_used_avg;  // cores: highest moving average
  std::optional<double> cpu_used_p95;  // cores: highest p95 over the window
  // Over the history (UsageHistory): the mean of the averages over its CPU
  // span (a burstable app's request is sized on it), and the highest p95.
  std::optional<double> cpu_used_sustained;
  std::optional<double> cpu_used_peak;
  double cpu_throttled = 0;  // highest throttled ratio
  // Cores of demand the CFS quota held back (the agents' throttled_cores,
  // the highest task's; nullopt: an agent of one of its tasks does not
  // measure it): known, a throttled
  // app grows to its limit plus these, with peak_headroom_multiple x the p95's headroom,
  // instead of by throttle_bump blind.
  std::optional<double> cpu_throttled_cores;
  std::optional<double> mem_used_mib;  // highest
  std::optional<double> mem_peak_mib;  // highest peak over the window
  // Where the days the history remembers (UsageHistory) set those figures
  // above the recent hours': the CPU histogram's percentile (cores:
  // --cpu-half-life) and the highest daily memory peak (MiB:
  // --memory-days). The reasons say so: what holds or moves the app.
  std::optional<double> cpu_p95_days;
  std::optional<double> mem_peak_days;
  bool mem_near_limit = false;  // a task within 5 % of its memory limit
  // The share of its cores the busiest host of the app's tasks uses (the
  // agents' host figures): a burstable app's CPU limit is not raised on a
  // host that has nothing to spare.
  std::optional<double> host_busy;
  bool lag_growing = false;  // a consumer group of the app is WARN, STALL or STOP
  // Horizontal scaling (scaling.h): the sum of the tasks' CPU averages (the
  // mean task is this over `tasks`; unset when the source does not give it:
  // the Prometheus source's figures are the busiest task's), the app's
  // consumer groups' highest lag
  // in seconds, whether any of its groups reported a status (its lag is
  // known: OK unless lag_growing), and the fewest partitions one of its
  // groups consumes (more instances than that would idle).
  std::optional<double> cpu_used_sum;
  std::optional<double> lag_seconds;
  bool lag_reported = false;
  std::optional<int> kafka_partitions;
  // What the containers get beyond Marathon's cpus/mem: the Mesos command
  // executor's own 0.1 cpus and 32 MiB when the measured limits show them
  // (0 for Docker tasks, whose executor lives outside the container). Use is
  // measured over the whole container, so it is compared with cpus + this,
  // and a recommendation in Marathon units is what is wanted minus this.
  double cpu_overhead = 0;
  double mem_overhead_mib = 0;
  // A hot-spot alert fired for the app (Alertmanager's webhook): Prometheus
  // has already seen it last, so growing it does not wait.
  bool alerted = false;
  // How long the figures look back (UsageHistory); unknown when absent. A
  // resize down waits until they cover `sustain`: a restarted sizer does not
  // shrink on a few minutes of history.
  std::optional<Duration> history;
  // Marathon's view of the app, which the agents cannot see:
  // - OOM-killed (Mesos' memory isolator) since its current version was
  //   deployed, at this memory (Marathon's mem, MiB): memory grows at once,
  //   by at least max(+oom_kill_min_mib, x oom_kill_ratio), even with no
  //   figures (a restarted task's use starts from zero);
  std::optional<double> oom_killed_mem_mib;
  // - how many kills in a row it is: each one at the growth the previous
  //   kill gave, within --oom-hold (1: the first). The growth escalates
  //   (oomGrowth).
  int oom_streak = 1;
  // - memory does not go below this: the growth after an OOM kill, or after
  //   memory at its limit (`mem_hold_at_limit`: no kill), held for the
  //   sizer's --oom-hold;
  std::optional<double> mem_hold_mib;
  bool mem_hold_at_limit = false;
  // - at risk within --search-back-window of the sizer's last shrink of a resource
  //   (OOM-killed, at its memory limit, or short of CPU: throttled, or
  //   under CPU shares using clearly more than it reserves): the shrink proved
  //   wrong, and each resource it took grows at least to this, half way
  //   back, in ratio, from what the app has to what the shrink took it from
  //   (their geometric mean; Marathon units): a search by halves between a
  //   size known too small and one known to hold, a few restarts at most
  //   where oomGrowth's and throttle_bump's steps alone take many (under a
  //   CFS quota a throttled container shows no more than its limit). Both
  //   resources, whichever is at risk: the burst that proves a shrink wrong
  //   mostly wants both. All the way back (the flags below) for CPU when
  //   throttled in nearly every period (saturated_throttle: its demand is
  //   unseen), and for both when OOM-killed (a kill loses the task's work:
  //   the shrink is undone, not searched).
  std::optional<double> shrink_undone_mem_mib;
  std::optional<double> shrink_undone_cpus;
  bool shrink_undone_mem_all = false;
  bool shrink_undone_cpus_all = false;
  // The app's time of day (UsageHistory's profile), where known:
  // - the highest CPU p95 expected over the next day, and when: a shrink
  //   holds through it;
  std::optional<double> cpu_forecast_peak;
  std::optional<TimePoint> cpu_forecast_at;
  // - the highest over the next hour (the forecast lead): grown ahead of it;
  std::optional<double> cpu_forecast_soon;
  std::optional<TimePoint> cpu_forecast_soon_at;
  // - the CPU this hour of the day expects, and how many standard deviations
  //   use now is below it; `anomaly`: collapsed beyond the threshold and to
  //   less than half: nothing shrinks.
  std::optional<double> cpu_expected;
  std::optional<double> anomaly_score;
  bool anomaly = false;
  // - why the app is sick (tasks not all running and healthy, in Marathon's
  //   launch queue, its last deployment failed): it is not resized, except
  //   to grow memory after an OOM kill. "" when it is well.
  std::string sick;
};

// Mesos' default executor resources, added to a command task's container.
inline constexpr double kExecutorCpus = 0.1;
inline constexpr double kExecutorMemMib = 32;

struct PolicyOptions {
  Duration sustain = std::chrono::minutes(10);
  double cpu_step = 0.05;
  double mem_step_mib = 32;
  double cpu_floor = 0.05;
  double mem_floor_mib = 32;
  double cpu_p95_headroom = 0.10;
  // A size made for one peak of CPU demand (a throttled app's measured
  // demand, a mean over the agent's interval; the daily peak a shrink is
  // floored at or an app grows ahead of) gets this multiple of the p95's
  // headroom: with the p95's alone the peak lands at 91 % of the limit,
  // where bursts within a sample throttle again (a quota throttles from
  // about 90 %, the replay's model), and the next restart follows. On the
  // shared traces, for the shrink's floor (2026-12-06, docs/simulate.md):
  // PlanetLab with 1,000 slots 0.98 -> 0.94 and 1.02 -> 0.97 restarts per
  // app-day, for 2-3 % more core-hours there; the default slot +-1 %.
  double peak_headroom_multiple = 2;
  double mem_peak_headroom = 0.15;
  double throttle_threshold = 0.05;
  // Using more CPU than reserved by this fraction (possible where Mesos sets
  // CPU shares without a CFS quota, the agents' default) is a hot spot that
  // grows after a fifth of `sustain`; a container throttled at its limit, or
  // using less above it, waits the whole sustain. On the shared traces this
  // cut PlanetLab's redeploys by 4-6 % and its core-hours by 1-2 % for
  // 0.1 point more insufficient samples (docs/simulate.md).
  double short_margin = 0.05;
  // Under a CFS quota a container cannot use more than its limit: throttled
  // in nearly every period (this share or more) is the same evidence, and
  // grows after a fifth of `sustain` too. On the shared traces under `cfs`
  // this cut PlanetLab's unmet CPU demand by a quarter (1.69 -> 1.29 %,
  // 2.28 -> 1.73 %) and its insufficient samples by 0.4 points, for 9-12 %
  // more core-hours (docs/simulate.md).
  double saturated_throttle = 0.95;
  // A throttled container whose held-back demand is not measured (an agent
  // without throttled time): grow by half at least.
  double throttle_bump = 1.5;
  double oom_bump = 1.5;
  // Growth after an OOM kill, from the memory it was killed at: VPA's rule,
  // max(+100 MiB, x1.2).
  double oom_kill_ratio = 1.2;
  double oom_kill_min_mib = 100;
  // Killed again at that growth: the app wants far more than it had, and
  // every kill is a restart. The growth's excess over 1 doubles with each
  // kill in a row (x1.2, x1.4, x1.8, ...), up to this.
  double oom_kill_max_ratio = 2;
  // A memory shrink goes at most this share of the way, in ratio, from what
  // the app reserves to what its figures want (new >= reserved^(1/3) x
  // wanted^(2/3)), and at least the app's minimum change: a cut of 10x or
  // more on the hours of an idle VM is an OOM-kill ladder when its job wakes
  // up (each kill a restart), where a second, smaller shrink a day later
  // costs one. Memory only: a CPU shrink proved wrong is throttling, not a
  // restart. On the shared traces (docs/simulate.md) Bitbrains' OOM kills
  // halved (162 -> 81), its restarts fell 0.81 -> 0.71 per app-day at the
  // default slot and 1.78 -> 1.50 with 1,000, for no more GiB-hours at the
  // default slot and 5 % more with 1,000. 1: all the way at once.
  double mem_shrink_reach = 2.0 / 3;
  // No recommendation goes above these, whatever the figures or labels say
  // (--max-cpus, --max-mem): no container is bigger than the largest host.
  double cpu_ceiling = 128;
  double mem_ceiling_mib = 1024.0 * 1024;
  // Where a resize aims the lying factor: 0 the band's low edge, 1 its high.
  // A third of the way up (0.135 cores in the default band): the high side
  // costs money, the low side is guarded by the p95 and peak headroom.
  double target_in_band = 0.335;
  // A resize down waits until the figures cover this much history
  // (--min-history; 6 hours: a whole CPU window, --history, so that a shrink
  // rests on the p95 of a full window, not on the first quiet half hour), and
  // at least `sustain`. Growing an app at risk never waits for it.
  Duration min_history = std::chrono::hours(6);
  // A resize that takes something away waits until the app's youngest task
  // has run this long (--min-task-age): a task shows its range of use over
  // hours, and a shrink soon after a restart (a grow for a burst) is the
  // second restart of a pair. VPA's updater waits 12 h before small changes
  // to a running pod; here 6 h, a quarter of a day: a task grown for a burst
  // gives it back the same day. On the shared traces 2-6 h cost nothing and
  // 12 h 10 % more of Bitbrains' core-hours for no fewer restarts (the
  // downsize budget already spaces shrinks; docs/simulate.md). Applied by the
  // sizer's flow (resize_flow.h), which sees Marathon's tasks.
  Duration min_task_age = std::chrono::hours(6);
  // A resize that takes something away waits until an app born while the
  // sizer watched the fleet (AppRecord::born_at) has lived this long
  // (--min-app-age): a day, a whole daily cycle, since a young app may be a
  // batch job that ends before a shrink pays for its restart (a restart that
  // may also lose its work), and has not shown its day. The apps found when
  // the sizer first lists a fleet are taken as old (the fleet it is switched
  // on over: services). Applied by the sizer's flow (resize_flow.h).
  Duration min_app_age = std::chrono::hours(24);
  // After a shrink of the sizer's proved wrong (the app at risk within
  // --search-back-window of it, and searched back: AppUsage::shrink_undone_*),
  // nothing of the app shrinks for this long from the last time it did
  // (--wrong-shrink-hold; 0: no hold). Each shrink proved wrong costs two
  // restarts (the shrink, the grow back); one made again the next day on
  // the same quiet hours mostly proves wrong again. Two days: twice the
  // downsize window, so that an app that bounced is shrunk at most every
  // other day. On the shared traces it saves the default slot a little and
  // halves the OOM kills of Bitbrains played for 30 days (docs/simulate.md).
  // Applied by the sizer's flow (resize_flow.h), which keeps the time in
  // AppRecord::shrink_proved_wrong_at.
  Duration wrong_shrink_hold = std::chrono::hours(48);
  // A host using this share of its cores or more is hot (--hot-host): a
  // burstable app's CPU limit is not raised there, as a higher limit would
  // only take from its neighbours; its request may still grow.
  double hot_host = 0.9;
  // Whether evaluate(), evaluateResources() and the sizer's flow
  // (resize_flow.h) write their reasons for people (Evaluation::reason,
  // AppStep::reason). The sizer shows them (/v1/apps, its decisions);
  // `rightsize simulate` and `rightsize report` read none and turn this off,
  // as formatting them cost a replay a fifth of its time. Nothing else
  // depends on it: the decisions are the same either way.
  bool explain = true;
};

enum class Direction { kNone, kUp, kDown };
std::string_view directionName(Direction direction);  // "", "up", "down"

// Carried from one evaluation to the next (persisted by the sizer).
struct PolicyState {
  std::optional<TimePoint> out_of_band_since;
  Direction direction = Direction::kNone;
};

struct Evaluation {
  bool has_data = false;
  double cpus = 0;  // recommended reservation, Marathon units
  double mem_mib = 0;
  std::optional<double> cpu_lying;  // cores: current cpus (+ overhead) - moving average of use
  std::optional<double> mem_lying;  // MiB: current mem (+ overhead) - use
  bool cpu_out_of_band = false;
  bool mem_out_of_band = false;
  bool hot = false;  // throttled, at its memory limit, or using more than it reserves
  Direction direction = Direction::kNone;
  bool resize = false;  // act now: out of band long enough, and the recommendation differs
  std::string reason;   // for people: what is wrong, since when, or why nothing is done
  // The limits the app has after the resize: a burstable app's recommended
  // ones, else the app's own, untouched; written as Marathon's
  // resourceLimits (`write_limits`) for a burstable app and for any app that
  // has some (a PUT without them drops them).
  ResourceLimits limits;
  bool write_limits = false;
};

// What an app has in Marathon: its request and its resourceLimits.
struct Resources {
  double cpus = 0;
  double mem_mib = 0;
  ResourceLimits limits;
};

Evaluation evaluate(const AppSettings& settings, const PolicyOptions& options, double cpus, double mem_mib,
                    const AppUsage& usage, PolicyState& state, TimePoint now);

// The app's evaluation with its limits (the sizer's flow calls this one):
//  - an app that is not burstable is evaluate()d on its request; an
//    existing resourceLimits is kept (written back with each resize: a PUT
//    without it drops it), and its request is never raised above a numeric
//    limit there (Marathon would refuse it): the reason says so.
//  - a burstable app (AppSettings::burstable) has two: its request is
//    evaluate()d on its sustained use alone (the history's mean, no p95 nor
//    peak, no throttling nor memory limit: those are the limit's), its
//    limits on everything, as a non-burstable app's reservation would be,
//    with their own `limit_state`. A limit only grows (with a resize of the
//    request, or alone when the app is at risk: throttled at it, OOM-killed
//    at it): it reserves nothing, so lowering one saves nothing and risks
//    the next burst; the app's reservation before it became burstable is
//    its first. Never below the request; "unlimited" where the labels say
//    so.
Evaluation evaluateResources(const AppSettings& settings, const PolicyOptions& options, const Resources& current,
                             const AppUsage& usage, PolicyState& state, PolicyState& limit_state, TimePoint now);

// How long after a resize ends the app waits before the next one: its
// cooldown, but only a fifth of it for a hot spot that must grow (as it
// waits a fifth of `sustain`): a container capped below its demand shows
// only throttling, so it may take several steps up, and each step waiting a
// whole cooldown starves it for hours.
Duration cooldownBefore(const Evaluation& evaluation, Duration cooldown);

// The memory (MiB, on the step, before the app's bounds) after the
// `streak`-th OOM kill in a row at `killed_mib`: max(+oom_kill_min_mib,
// x ratio), the ratio's excess over 1 doubling with each kill in a row, up to
// oom_kill_max_ratio.
double oomGrowth(double killed_mib, int streak, const PolicyOptions& options);

// Whether the app's CPU average is clearly above all it reserves (`cpus` and
// the executor's overhead, by short_margin): short of CPU without a quota
// (CPU shares; under a quota it is throttled instead). False without figures.
bool usesMoreCpuThanReserved(const AppUsage& usage, double cpus, const PolicyOptions& options);

// `value` rounded up to a whole number of `step`s, as the decimal the step
// is written in (0.35, not 0.35000000000000003): what Marathon is sent.
double roundUpToStep(double value, double step);

// Whether `a` is more than half a `step` above `b`: half a step or less is
// the same size (an off-grid reservation and its value on the grid). The
// policy and the flow judge every grow, shrink and change by it; its
// tolerance absorbs a decimal step's binary fraction (0.375 - 0.025 is not
// exactly 0.35), so that they agree on a change of exactly half a step.
bool moreThanHalfAStepAbove(double a, double b, double step);

// "09:00 UTC": the time of day of a forecast peak (within the next day).
std::string clockTime(TimePoint t);

}  // namespace rightsize::sizing
