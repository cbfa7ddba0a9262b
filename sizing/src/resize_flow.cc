#include "rightsize/sizing/resize_flow.h"

#include <algorithm>
#include <cmath>

#include "shared.h"

#include "rightsize/core/text.h"

namespace rightsize::sizing {
namespace {

// Marathon's explanation of a refusal, as kept in the record and the
// decision: its details can be long.
constexpr std::size_t kMaxRefusalText = 500;

using detail::intentInFlight;
using detail::listed;
using detail::same;

PolicyState policyStateOf(const AppRecord& record) {
  PolicyState state;
  state.out_of_band_since = record.out_of_band_since;
  state.direction = record.out_of_band_direction == "up"     ? Direction::kUp
                    : record.out_of_band_direction == "down" ? Direction::kDown
                                                             : Direction::kNone;
  return state;
}

void storePolicyState(const PolicyState& state, AppRecord& record) {
  record.out_of_band_since = state.out_of_band_since;
  record.out_of_band_direction = std::string(directionName(state.direction));
}

PolicyState limitStateOf(const AppRecord& record) {
  AppRecord limit;
  limit.out_of_band_since = record.limit_out_of_band_since;
  limit.out_of_band_direction = record.limit_out_of_band_direction;
  return policyStateOf(limit);
}

void storeLimitState(const PolicyState& state, AppRecord& record) {
  record.limit_out_of_band_since = state.out_of_band_since;
  record.limit_out_of_band_direction = std::string(directionName(state.direction));
}

// The limits in force: each the app's resourceLimits', or its request.
double cpusLimitOf(const MarathonApp& app) { return limitOr(app.limits.cpus, app.cpus); }
double memLimitOf(const MarathonApp& app) { return limitOr(app.limits.mem_mib, app.mem_mib); }

void clearRefusal(AppRecord& record) {
  record.refused_version.clear();
  record.refusal.clear();
  record.refused_until.reset();
}

// A resize counted against the downsize budget that did not happen (its PUT
// was never applied, its deployment failed): it takes nothing away.
void refundDownsize(AppRecord& record) {
  if (record.intent_at) std::erase(record.downsizes, *record.intent_at);
}

void clearIntent(AppRecord& record) {
  record.intent_cpus.reset();
  record.intent_mem_mib.reset();
  record.intent_cpus_limit.reset();
  record.intent_mem_limit_mib.reset();
  record.intent_instances.reset();
  record.intent_id.clear();
  record.deployment_id.clear();
  record.intent_at.reset();
}

// Why an app is sick, or "" when it is well: a resize only adds restarts to
// an app whose tasks are failing.
std::string sickness(const AppInput& in, const AppRecord& record) {
  const MarathonApp& app = in.app;
  if (!record.failed_version.empty() && record.failed_version == app.version && record.failed_until &&
      in.now < *record.failed_until) {
    return "its last resize failed; not tried again before " + unixSecondsText(*record.failed_until) +
           " unless the app changes";
  }
  if (!in.queue_known) return "Marathon's launch queue could not be read";
  if (in.queued && in.queued->count > 0) {
    if (in.queued->backingOff()) {
      return std::to_string(in.queued->count) + " task(s) in Marathon's launch queue, backing off for " +
             formatFixed(in.queued->delay_seconds, 0) + "s";
    }
    return std::to_string(in.queued->count) + " task(s) waiting in Marathon's launch queue";
  }
  if (app.tasks_running < app.instances) {
    return std::to_string(app.tasks_running) + " of " + std::to_string(app.instances) + " tasks running";
  }
  if (app.tasks_unhealthy > 0 || (app.health_checked && app.tasks_healthy < app.tasks_running)) {
    return std::to_string(app.tasks_healthy) + " of " + std::to_string(app.tasks_running) + " tasks healthy";
  }
  return {};
}

// Memory is not shrunk below `growth` until `until`; a hold in force keeps
// the higher of the two growths, and the later end.
void holdMemory(AppRecord& record, double growth, TimePoint until, TimePoint now) {
  const bool holding = record.mem_hold_until && *record.mem_hold_until >= now;
  if (!holding || !record.mem_hold_mib || *record.mem_hold_mib < growth) {
    record.mem_hold_mib = std::max(growth, holding ? record.mem_hold_mib.value_or(0) : 0.0);
  }
  record.mem_hold_until = std::max(record.mem_hold_until.value_or(TimePoint{}), until);
}

// The OOM kill of the app since its current version, if any.
const TaskFailure* currentOomKill(const MarathonApp& app) {
  if (!app.last_task_failure || !app.last_task_failure->oomKill()) return nullptr;
  const TaskFailure& failure = *app.last_task_failure;
  // Of a task that ran the current configuration (a scaling keeps it): its
  // version, a Marathon timestamp, no older than the configuration. A task
  // of the configuration a deployment is replacing, killed while it does,
  // says nothing of the new limit (taken for the new one, a grow in flight
  // grew again). Where the version is no time, killed since the
  // configuration was deployed; where Marathon does not say when that was,
  // in the current version.
  if (app.config_changed_at && failure.version_at) {
    return *failure.version_at >= *app.config_changed_at ? &failure : nullptr;
  }
  if (app.config_changed_at && failure.at) return *failure.at >= *app.config_changed_at ? &failure : nullptr;
  return failure.version == app.version ? &failure : nullptr;
}

// A shrink of the sizer's proved wrong: within --search-back-window of it the
// app is at risk (OOM-killed, at its memory limit, or short of CPU: throttled,
// or under CPU shares using clearly more than it reserves). It was one
// decision on one stretch of quiet use, and the burst that proves it wrong
// mostly wants both resources (a batch job's cores and memory): each one it
// took goes at least half way back, in ratio, to what it was (the geometric
// mean, on the step); CPU all the way when throttled in nearly every period
// (under a quota its demand is unseen), and both all the way when `killed`
// (OOM-killed: the kill lost the task's work, and a half way killed again
// costs one more restart and kill than the way back). `mem_limit`: what an
// OOM kill is at.
void searchBack(const MarathonApp& app, const AppRecord& record, double mem_limit, bool killed, AppUsage& usage,
                const PolicyOptions& policy) {
  if (record.shrunk_from_cpus && moreThanHalfAStepAbove(*record.shrunk_from_cpus, app.cpus, policy.cpu_step)) {
    usage.shrink_undone_cpus_all = killed || usage.cpu_throttled >= policy.saturated_throttle;
    usage.shrink_undone_cpus = usage.shrink_undone_cpus_all
                                   ? *record.shrunk_from_cpus
                                   : roundUpToStep(std::sqrt(app.cpus * *record.shrunk_from_cpus), policy.cpu_step);
  }
  if (record.shrunk_from_mem_mib &&
      moreThanHalfAStepAbove(*record.shrunk_from_mem_mib, mem_limit, policy.mem_step_mib)) {
    usage.shrink_undone_mem_all = killed;
    usage.shrink_undone_mem_mib =
        killed ? *record.shrunk_from_mem_mib
               : roundUpToStep(std::sqrt(mem_limit * *record.shrunk_from_mem_mib), policy.mem_step_mib);
  }
}

// Times in the record further ahead than this sizer would have written them
// (a clock stepped back, another sizer's clock ahead, a damaged record) are
// brought back to the furthest it would write: a cooldown or hold no longer
// than its length from now, a start no later than now. Otherwise a
// cooldown a day ahead would hold an OOM-killed app's grow for that day.
void boundTimesAhead(AppRecord& record, const AppInput& in, const FlowOptions& options) {
  const TimePoint now = in.now;
  const auto at_most = [](std::optional<TimePoint>& time, TimePoint latest) {
    if (time && *time > latest) time = latest;
  };
  at_most(record.intent_at, now);
  at_most(record.born_at, now);
  at_most(record.last_change_at, now);
  at_most(record.mem_shrunk_at, now);
  at_most(record.cpu_shrunk_at, now);
  // (A back-off waits at least --retry-after, whatever the cooldown.)
  at_most(record.cooldown_until, now + std::max(in.settings.cooldown, options.retry_after));
  at_most(record.refused_until, now + in.settings.cooldown);
  at_most(record.mem_hold_until, now + options.oom_hold);
  at_most(record.failed_until, now + options.failed_deployment_hold);
}

// Step 1: what OOM kills, holds and the app's health add to its figures.
void holdsAndHealth(const AppInput& in, AppRecord& record, AppUsage& usage, const FlowOptions& options) {
  const MarathonApp& app = in.app;
  const TimePoint now = in.now;
  // The sizer's last shrink of each resource is remembered for
  // --search-back-window.
  if (record.mem_shrunk_at && now > *record.mem_shrunk_at + options.search_back_window) {
    record.shrunk_from_mem_mib.reset();
    record.mem_shrunk_at.reset();
  }
  if (record.cpu_shrunk_at && now > *record.cpu_shrunk_at + options.search_back_window) {
    record.shrunk_from_cpus.reset();
    record.cpu_shrunk_at.reset();
  }
  // The last shrink proved wrong holds the next for --wrong-shrink-hold:
  // forgotten once that ended, or when it is further ahead than a hold (a
  // time this sizer did not write; a clock step back keeps it).
  const Duration wrong_hold = options.policy.wrong_shrink_hold;
  if (const std::optional<TimePoint> wrong = record.shrink_proved_wrong_at;
      wrong && (now >= *wrong + wrong_hold || *wrong > now + wrong_hold)) {
    record.shrink_proved_wrong_at.reset();
  }
  // Killed (or to be killed) at its memory limit: its mem, or its
  // resourceLimits.mem.
  const double mem_limit = unlimited(memLimitOf(app)) ? app.mem_mib : memLimitOf(app);
  const TaskFailure* oom = currentOomKill(app);
  if (oom != nullptr) {
    // Killed again at the growth the last kill gave, while its hold lasts:
    // one more in a row (each cycle that sees this kill counts it once: the
    // hold then grows past the app's mem).
    const bool holding = record.mem_hold_mib && record.mem_hold_until && *record.mem_hold_until >= now;
    if (!holding || record.oom_streak == 0) {
      record.oom_streak = 1;
    } else if (!moreThanHalfAStepAbove(*record.mem_hold_mib, mem_limit, options.policy.mem_step_mib)) {
      ++record.oom_streak;
    }
    usage.oom_streak = static_cast<int>(std::min<std::uint64_t>(record.oom_streak, 64));
  }
  // Short of CPU: throttled under a quota, or, under CPU shares (no quota),
  // using clearly more than it reserves.
  const bool cpu_short = usage.cpu_throttled >= options.policy.throttle_threshold ||
                         usesMoreCpuThanReserved(usage, app.cpus, options.policy);
  if (oom != nullptr || usage.mem_near_limit || cpu_short) {
    searchBack(app, record, mem_limit, oom != nullptr, usage, options.policy);
    if ((usage.shrink_undone_cpus || usage.shrink_undone_mem_mib) && wrong_hold > Duration::zero()) {
      record.shrink_proved_wrong_at = now;
    }
  }
  if (oom != nullptr) {
    const double killed_at = mem_limit;
    usage.oom_killed_mem_mib = killed_at;
    // Held at least at the search back, if the kill proves a shrink wrong.
    const double growth =
        std::max(oomGrowth(killed_at, usage.oom_streak, options.policy), usage.shrink_undone_mem_mib.value_or(0));
    // Held from the kill (or from now, if Marathon does not say when).
    holdMemory(record, growth, oom->at.value_or(now) + options.oom_hold, now);
  } else if (usage.mem_near_limit) {
    // At its limit without a kill (the sign before one): it grows by the
    // bump (policy.h, oom_bump), held as a kill's growth is, so that a
    // shrink does not take it back within the hold to where it was at risk.
    holdMemory(record,
               roundUpToStep((mem_limit + usage.mem_overhead_mib) * options.policy.oom_bump - usage.mem_overhead_mib,
                             options.policy.mem_step_mib),
               now + options.oom_hold, now);
  }
  if (record.mem_hold_until && now >= *record.mem_hold_until) {
    record.mem_hold_mib.reset();
    record.mem_hold_until.reset();
    record.oom_streak = 0;
  }
  if (record.mem_hold_mib) {
    usage.mem_hold_mib = record.mem_hold_mib;
    // No kill in the hold's streak: it is the limit's.
    usage.mem_hold_at_limit = record.oom_streak == 0;
  }
  if (record.failed_until && (now >= *record.failed_until || record.failed_version != app.version)) {
    record.failed_version.clear();
    record.failed_until.reset();
  }
  usage.sick = sickness(in, record);
  // A refusal holds for the app version it was refused for, until the
  // cooldown passes.
  if (record.refused_until && (now >= *record.refused_until || record.refused_version != app.version)) {
    clearRefusal(record);
  }
}

// Step 3: brings the app's in-flight resize up to date with Marathon (`app`
// as listed, the deployments as listed just before). True while it is
// still in flight.
bool reconcile(const AppInput& in, AppRecord& record, AppStep& step, const FlowOptions& options) {
  if (!intentInFlight(record)) {
    // Half an intent (a damaged record): nothing to follow, dropped.
    if (record.intent_cpus || record.intent_mem_mib) clearIntent(record);
    return false;
  }
  const MarathonApp& app = in.app;
  const TimePoint now = in.now;
  const auto& deployments = in.deployments;
  const bool applied = same(app.cpus, *record.intent_cpus) && same(app.mem_mib, *record.intent_mem_mib) &&
                       (!record.intent_cpus_limit || same(cpusLimitOf(app), *record.intent_cpus_limit)) &&
                       (!record.intent_mem_limit_mib || same(memLimitOf(app), *record.intent_mem_limit_mib)) &&
                       (!record.intent_instances || app.instances == *record.intent_instances);
  if (record.deployment_id.empty()) {
    // The PUT's answer was never recorded (crash, timeout, 5xx). Marathon
    // decides: if the app already has the new resources the PUT happened.
    if (!applied) {
      if (record.intent_at && now - *record.intent_at < options.unconfirmed_grace) {
        return true;  // a PUT answered too late may still be on its way
      }
      refundDownsize(record);
      clearIntent(record);
      // Tried again later, not at once.
      record.cooldown_until = now + backoffAfter(++step.failed_attempts, options.retry_after, in.settings.cooldown);
      return false;
    }
    if (!deployments) return true;  // which deployment carries it out is learnt next cycle
    const auto carrying = std::find_if(deployments->begin(), deployments->end(), [&app](const auto& deployment) {
      return std::find(deployment.affected_apps.begin(), deployment.affected_apps.end(), app.id) !=
             deployment.affected_apps.end();
    });
    if (carrying != deployments->end()) {
      record.deployment_id = carrying->id;
      return true;
    }
    if (!app.deployment_ids.empty()) {
      // Started after the deployments were read, before the apps were.
      record.deployment_id = app.deployment_ids.front();
      return true;
    }
    record.deployment_id = "unknown";  // it has ended already
  } else if (!deployments || listed(*deployments, record.deployment_id)) {
    // Still listed, or GET /v2/deployments failed: an unknown end is never
    // taken for one.
    return true;
  }
  // No longer listed: ended before the apps were read (the list is read
  // first), so the app as read shows how.
  Decision done;
  done.at = now;
  done.app_id = app.id;
  done.deployment_id = record.deployment_id;
  done.to_cpus = record.intent_cpus;
  done.to_mem_mib = record.intent_mem_mib;
  done.to_instances = record.intent_instances;
  if (applied && record.intent_instances) {
    // A scale restarted nothing: no resize's cooldown after it.
    done.action = DecisionAction::kDeploymentDone;
    done.reason = "the app runs with " + std::to_string(*record.intent_instances) + " instances";
    clearIntent(record);
    step.ended = std::move(done);
    return false;
  }
  if (applied) {
    done.action = DecisionAction::kDeploymentDone;
    done.reason = "the app runs with its new reservation";
    record.last_change_at = now;
  } else {
    done.action = DecisionAction::kDeploymentFailed;
    done.reason = record.intent_instances
                      ? "the deployment ended without the new instances (failed, rolled back or replaced)"
                      : "the deployment ended without the new reservation (failed, rolled back or replaced)";
    // Not tried again on the same version for a while: a resize that failed
    // once is likely to fail again, restarting every task each time.
    record.failed_version = app.version;
    record.failed_until = now + options.failed_deployment_hold;
    refundDownsize(record);
  }
  record.cooldown_until = now + in.settings.cooldown;
  clearIntent(record);
  step.ended = std::move(done);
  return false;
}

// Whether a resize to `evaluation` takes something from `app`: a request,
// or a limit it writes.
bool shrinks(const Evaluation& evaluation, const MarathonApp& app, const PolicyOptions& policy) {
  if (moreThanHalfAStepAbove(app.cpus, evaluation.cpus, policy.cpu_step) ||
      moreThanHalfAStepAbove(app.mem_mib, evaluation.mem_mib, policy.mem_step_mib)) {
    return true;
  }
  if (!evaluation.write_limits) return false;
  return moreThanHalfAStepAbove(cpusLimitOf(app), evaluation.limits.cpus.value_or(evaluation.cpus), policy.cpu_step) ||
         moreThanHalfAStepAbove(memLimitOf(app), evaluation.limits.mem_mib.value_or(evaluation.mem_mib),
                                policy.mem_step_mib);
}

// Whether a resize to `evaluation` raises a limit of `app`'s (a burstable
// app at risk).
bool growsALimit(const Evaluation& evaluation, const MarathonApp& app, const PolicyOptions& policy) {
  return evaluation.write_limits &&
         (moreThanHalfAStepAbove(evaluation.limits.cpus.value_or(0), cpusLimitOf(app), policy.cpu_step) ||
          moreThanHalfAStepAbove(evaluation.limits.mem_mib.value_or(0), memLimitOf(app), policy.mem_step_mib));
}

// Whether a resize to `evaluation` grows `app`'s memory: its request, or
// the limit it writes (the one an OOM kill is at).
bool growsMemory(const Evaluation& evaluation, const MarathonApp& app, const PolicyOptions& policy) {
  return moreThanHalfAStepAbove(evaluation.mem_mib, app.mem_mib, policy.mem_step_mib) ||
         (evaluation.write_limits && moreThanHalfAStepAbove(evaluation.limits.mem_mib.value_or(evaluation.mem_mib),
                                                            memLimitOf(app), policy.mem_step_mib));
}

// What `evaluation`'s resize of `in.app` claims of a slot (SlotClaim).
SlotClaim claimOf(const AppInput& in, const Evaluation& evaluation, const PolicyOptions& policy) {
  const bool grows = moreThanHalfAStepAbove(evaluation.cpus, in.app.cpus, policy.cpu_step) ||
                     growsMemory(evaluation, in.app, policy) || growsALimit(evaluation, in.app, policy);
  const double instances = std::max(in.app.instances, 1);
  return {grows, instances * std::abs(evaluation.cpus - in.app.cpus),
          instances * std::abs(evaluation.mem_mib - in.app.mem_mib)};
}

// Whether a resize counts against the app's budget: it takes something
// away, or (a burstable app) it changes the request alone, which no risk
// asks for while the limits hold and the host has CPU to spare (on a hot
// host the CPU request is what the kernel's shares weigh: growing it is
// the app at risk).
bool budgeted(const AppInput& in, const Evaluation& evaluation, const PolicyOptions& policy) {
  if (shrinks(evaluation, in.app, policy)) return true;
  if (!in.settings.burstable || growsALimit(evaluation, in.app, policy)) return false;
  const bool hot_host = in.usage.host_busy && *in.usage.host_busy >= policy.hot_host;
  return !(hot_host && moreThanHalfAStepAbove(evaluation.cpus, in.app.cpus, policy.cpu_step));
}

// Whether a resize to `evaluation` changes nothing of `app`.
bool unchanged(const Evaluation& evaluation, const MarathonApp& app) {
  if (!same(evaluation.cpus, app.cpus) || !same(evaluation.mem_mib, app.mem_mib)) return false;
  return !evaluation.write_limits || (same(evaluation.limits.cpus.value_or(evaluation.cpus), cpusLimitOf(app)) &&
                                      same(evaluation.limits.mem_mib.value_or(evaluation.mem_mib), memLimitOf(app)));
}

// Step 4: what a resize would take away is kept, for `why`: a grow the app
// needs still happens ("growing only: ..."), one that only shrinks waits
// ("held: ..."). `why` (a callable giving the text) is only called when the
// reasons are written (PolicyOptions::explain).
template <typename Why>
void keepWhatShrinks(const AppInput& in, AppStep& step, bool explain, const Why& why) {
  Evaluation& evaluation = step.evaluation;
  evaluation.cpus = std::max(evaluation.cpus, in.app.cpus);
  evaluation.mem_mib = std::max(evaluation.mem_mib, in.app.mem_mib);
  if (evaluation.write_limits) {
    evaluation.limits.cpus = std::max(evaluation.limits.cpus.value_or(evaluation.cpus), cpusLimitOf(in.app));
    evaluation.limits.mem_mib = std::max(evaluation.limits.mem_mib.value_or(evaluation.mem_mib), memLimitOf(in.app));
  }
  const bool held = unchanged(evaluation, in.app);
  if (held) evaluation.resize = false;
  if (explain) step.reason += (held ? "; held: " : "; growing only: ") + why();
}

// How long the app's youngest task has run (0 for one not started yet);
// nullopt when Marathon lists none.
std::optional<Duration> youngestTaskAge(const MarathonApp& app, TimePoint now) {
  std::optional<Duration> youngest;
  for (const MarathonTask& task : app.tasks) {
    const Duration age = task.started_at ? std::max(now - *task.started_at, Duration::zero()) : Duration::zero();
    youngest = youngest ? std::min(*youngest, age) : age;
  }
  return youngest;
}

// Step 4: a single-instance app's restart is an outage, young tasks have not
// shown their range yet, and a young app may not live long enough for a
// shrink to pay for its restart: none is shrunk (a grow the app needs is
// never held).
void holdRiskyShrinks(const AppInput& in, const AppRecord& record, AppStep& step, const PolicyOptions& policy) {
  if (!step.evaluation.resize || !shrinks(step.evaluation, in.app, policy)) return;
  if (in.app.instances == 1 && !in.settings.allow_single_instance) {
    keepWhatShrinks(in, step, policy.explain, [] {
      return std::string("a single-instance app is shrunk only with rightsize.allow-single-instance=true");
    });
    return;
  }
  if (const std::optional<Duration> age = youngestTaskAge(in.app, in.now); age && *age < policy.min_task_age) {
    keepWhatShrinks(in, step, policy.explain, [&] {
      return "its youngest task has run " + formatDuration(std::chrono::duration_cast<std::chrono::minutes>(*age)) +
             ", a shrink waits until " + formatDuration(policy.min_task_age) + " (--min-task-age)";
    });
    return;
  }
  if (const std::optional<TimePoint> born = record.born_at; born && in.now - *born < policy.min_app_age) {
    keepWhatShrinks(in, step, policy.explain, [&] {
      const auto lived = std::chrono::duration_cast<std::chrono::minutes>(std::max(in.now - *born, Duration::zero()));
      return "the app was born " + formatDuration(lived) + " ago, a shrink waits until it has lived " +
             formatDuration(policy.min_app_age) + " (--min-app-age)";
    });
  }
}

// Step 4: a resize that only shrinks is worth a restart when it takes at
// least the app's minimum change off one resource: a share of what it
// reserves, and an amount (cores, MiB); a grow the app needs is never held.
void holdSmallShrinks(const AppInput& in, AppStep& step, const PolicyOptions& policy) {
  Evaluation& evaluation = step.evaluation;
  const MarathonApp& app = in.app;
  const bool grows = moreThanHalfAStepAbove(evaluation.cpus, app.cpus, policy.cpu_step) ||
                     moreThanHalfAStepAbove(evaluation.mem_mib, app.mem_mib, policy.mem_step_mib) ||
                     growsALimit(evaluation, app, policy);
  if (!evaluation.resize || grows || !shrinks(evaluation, app, policy)) return;
  const double cpu_share = app.cpus > 0 ? (app.cpus - evaluation.cpus) / app.cpus : 0;
  const double mem_share = app.mem_mib > 0 ? (app.mem_mib - evaluation.mem_mib) / app.mem_mib : 0;
  const double share = std::max(cpu_share, mem_share);
  const double cpus_off = app.cpus - evaluation.cpus;
  const double mem_off = app.mem_mib - evaluation.mem_mib;
  const bool cpu_worth = cpu_share + 1e-9 >= in.settings.min_change && cpus_off + 1e-9 >= in.settings.min_change_cpus;
  const bool mem_worth = mem_share + 1e-9 >= in.settings.min_change && mem_off + 1e-9 >= in.settings.min_change_mem_mib;
  if (cpu_worth || mem_worth) return;
  evaluation.resize = false;
  if (!policy.explain) return;
  if (share + 1e-9 < in.settings.min_change) {
    step.reason += "; held: a shrink of " + formatFixed(share * 100, 0) + "% is not worth a restart (at least " +
                   formatFixed(in.settings.min_change * 100, 0) + "%)";
    return;
  }
  step.reason += "; held: a shrink of " + formatFixed(std::max(cpus_off, 0.0), 2) + " cores and " +
                 formatFixed(std::max(mem_off, 0.0), 0) + " MiB is not worth a restart (at least " +
                 formatFixed(in.settings.min_change_cpus, 2) + " cores or " +
                 formatFixed(in.settings.min_change_mem_mib, 0) + " MiB, and " +
                 formatFixed(in.settings.min_change * 100, 0) + "%)";
}

// Step 4: restarts are a cost with a budget. Beyond the app's downsizes per
// window, a resize keeps what it would take away: a grow the app needs still
// happens, one that only shrinks waits until the oldest downsize leaves the
// window.
void budgetDownsizes(const AppInput& in, AppRecord& record, AppStep& step, const FlowOptions& options) {
  // Downsizes a little ahead of now (the clock stepped back) still count:
  // a clock step is no reason for more restarts. A window or more ahead is
  // no time this sizer wrote.
  auto& downsizes = record.downsizes;
  std::erase_if(downsizes, [&](TimePoint t) {
    return t <= in.now - options.downsize_window || t > in.now + options.downsize_window;
  });
  Evaluation& evaluation = step.evaluation;
  // A shrink proved wrong holds the next (PolicyOptions::wrong_shrink_hold;
  // holdsAndHealth keeps the time), whatever the budget.
  const Duration hold = options.policy.wrong_shrink_hold;
  if (const std::optional<TimePoint> wrong = record.shrink_proved_wrong_at;
      wrong && in.now < *wrong + hold && evaluation.resize && shrinks(evaluation, in.app, options.policy)) {
    keepWhatShrinks(in, step, options.policy.explain, [&] {
      return "a shrink proved wrong at " + unixSecondsText(*wrong) + " (the app at risk below what it was shrunk " +
             "from), the next from " + unixSecondsText(*wrong + hold) + " (--wrong-shrink-hold)";
    });
    return;
  }
  const auto budget = static_cast<std::size_t>(std::max(in.settings.max_downsizes, 0));
  if (!evaluation.resize || !budgeted(in, evaluation, options.policy) || downsizes.size() < budget) return;
  const auto spent = [&] {
    return budget == 0 ? std::string("the app is never shrunk (rightsize.max-downsizes-per-day=0)")
                       : std::to_string(budget) + " downsize(s) per " + formatDuration(options.downsize_window) +
                             " spent, the next from " + unixSecondsText(downsizes.front() + options.downsize_window);
  };
  if (!shrinks(evaluation, in.app, options.policy)) {
    // A burstable app's request that grows with its limits holding.
    evaluation.resize = false;
    if (options.policy.explain) {
      step.reason += "; held: its limits hold its use, and a change of its request alone is budgeted: " + spent();
    }
    return;
  }
  keepWhatShrinks(in, step, options.policy.explain, spent);
}

// Step 4's last part: a resize the evaluation asks for, if a slot is free.
void act(const AppInput& in, AppRecord& record, AppStep& step, const FlowOptions& options) {
  // Slots go to apps at risk first: a resize that can wait takes one only
  // when none of them waits for it. At risk: a hot spot that grows something
  // (not a burstable app's request alone, which its limits cover).
  const bool at_risk = step.evaluation.hot && step.evaluation.direction == Direction::kUp &&
                       !(in.settings.burstable && budgeted(in, step.evaluation, options.policy));
  // An OOM-killed app's memory grow may take the slots beyond them too
  // (FlowOptions::max_concurrent_oom_deployments).
  const bool killed =
      at_risk && currentOomKill(in.app) != nullptr && growsMemory(step.evaluation, in.app, options.policy);
  if (step.in_flight >= options.max_concurrent_deployments + (killed ? options.max_concurrent_oom_deployments : 0)) {
    if (options.policy.explain)
      step.reason += "; waiting: " + std::to_string(step.in_flight) + " deployment(s) of the sizer in progress";
    step.waiting_for_slot = true;
    step.at_risk_waiting = at_risk;
    if (!at_risk && options.slot_order == SlotOrder::kLargest) {
      step.slot_claim = claimOf(in, step.evaluation, options.policy);
    }
    return;
  }
  if (options.policy.explain && step.in_flight >= options.max_concurrent_deployments) {
    // Said in /v1/apps and in the decision log (the evaluation's reason).
    const std::string beyond =
        "; an OOM-killed app's grow: beyond the " + std::to_string(options.max_concurrent_deployments) +
        " deployment slot(s) of the sizer, with " + std::to_string(step.in_flight) + " in progress";
    step.reason += beyond;
    step.evaluation.reason += beyond;
  }
  if (!at_risk) {
    // A resize that can wait: after the apps at risk, and after those
    // waiting whose claim is larger.
    const SlotClaim claim = claimOf(in, step.evaluation, options.policy);
    const std::size_t taken = step.in_flight + in.at_risk_waiting;
    const std::size_t free =
        taken < options.max_concurrent_deployments ? options.max_concurrent_deployments - taken : 0;
    const bool largest = options.slot_order == SlotOrder::kLargest;
    const std::size_t ahead =
        largest && in.slot_queue && free > 0 ? in.slot_queue->ahead(in.app.id, claim, in.fleet_mem_per_core, free) : 0;
    if (free == 0 || ahead >= free) {
      if (options.policy.explain) {
        step.reason += free == 0 ? "; waiting: the free deployment slot(s) go to " +
                                       std::to_string(in.at_risk_waiting) + " app(s) at risk first"
                                 : "; waiting: the free deployment slot(s) go to " + std::to_string(ahead) +
                                       " resize(s) that move more of the fleet's reservation (" +
                                       formatFixed(claim.worth(in.fleet_mem_per_core), 2) + " cores' worth here) first";
      }
      step.waiting_for_slot = true;
      if (largest) step.slot_claim = claim;
      return;
    }
  }
  // An app that reserves no cpus (Marathon allows 0) keeps them where the
  // policy does not size them, and a PUT of less than Marathon's 0.001 is
  // refused: its memory could never grow. Such a resize takes the policy's
  // floor.
  if (!(step.evaluation.cpus >= 0.0005)) {
    if (options.policy.explain) {
      step.reason += "; its cpus " + formatRounded(step.evaluation.cpus, 4) + " raised to " +
                     formatRounded(options.policy.cpu_floor, 3) + " (Marathon takes at least 0.001)";
    }
    step.evaluation.cpus = options.policy.cpu_floor;
    if (step.evaluation.write_limits && step.evaluation.limits.cpus) {
      step.evaluation.limits.cpus = std::max(*step.evaluation.limits.cpus, step.evaluation.cpus);
    }
  }
  // The intent is what the PUT writes (3 decimals): Marathon answers with
  // that, and an intent of 0.0625 cpus would never be seen applied.
  step.evaluation.cpus = asWritten(step.evaluation.cpus);
  step.evaluation.mem_mib = asWritten(step.evaluation.mem_mib);
  if (step.evaluation.limits.cpus) step.evaluation.limits.cpus = asWritten(*step.evaluation.limits.cpus);
  if (step.evaluation.limits.mem_mib) step.evaluation.limits.mem_mib = asWritten(*step.evaluation.limits.mem_mib);
  record.intent_cpus = step.evaluation.cpus;
  record.intent_mem_mib = step.evaluation.mem_mib;
  if (step.evaluation.write_limits) {
    record.intent_cpus_limit = step.evaluation.limits.cpus;
    record.intent_mem_limit_mib = step.evaluation.limits.mem_mib;
  }
  record.intent_id = in.intent_id;
  record.intent_at = in.now;
  record.deployment_id.clear();
  step.put = ResizeRequest{step.evaluation.cpus, step.evaluation.mem_mib, std::nullopt};
  if (step.evaluation.write_limits) step.put->limits = step.evaluation.limits;
}

// Step 4's last part for a scale: a PUT of instances alone, if a slot is
// free. The intent keeps the app's cpus and mem, so that it is followed as
// a resize's is.
void actScale(const AppInput& in, AppRecord& record, AppStep& step, const FlowOptions& options) {
  if (step.in_flight >= options.max_concurrent_deployments) {
    step.scale.reason += "; waiting: " + std::to_string(step.in_flight) + " deployment(s) of the sizer in progress";
    step.waiting_for_slot = true;
    return;
  }
  if (record.refused_until) {
    step.scale.reason += "; the last change was refused (" + record.refusal + "): asking again after " +
                         unixSecondsText(*record.refused_until) + " or once the app changes";
    return;
  }
  record.intent_cpus = in.app.cpus;
  record.intent_mem_mib = in.app.mem_mib;
  record.intent_instances = step.scale.recommended;
  record.intent_id = in.intent_id;
  record.intent_at = in.now;
  record.deployment_id.clear();
  step.put = ResizeRequest{in.app.cpus, in.app.mem_mib, std::nullopt, step.scale.recommended};
}

// Step 4: a resize and a scale both due: one deployment at a time. A scale
// out goes first (it restarts nothing, and more instances take load off
// each), unless memory must grow (more instances do not give a task
// memory); otherwise the resize goes first. The other waits for the next
// step.
void resizeOrScale(const AppInput& in, AppRecord& record, AppStep& step, const FlowOptions& options) {
  bool resize = step.evaluation.resize;
  bool scale = step.scale.scale;
  if (resize && scale) {
    const bool memory = moreThanHalfAStepAbove(step.evaluation.mem_mib, in.app.mem_mib, options.policy.mem_step_mib);
    if (step.scale.direction == ScaleDirection::kOut && !memory) {
      resize = false;
      if (options.policy.explain) step.reason += "; the resize waits: scaling out first (it restarts nothing)";
    } else {
      scale = false;
      step.scale.reason += "; waits for the resize";
    }
  }
  if (!in.may_write) return;
  if (resize) {
    act(in, record, step, options);
  } else if (scale) {
    actScale(in, record, step, options);
  }
}

}  // namespace

Duration backoffAfter(int attempts, Duration retry_after, Duration cooldown) {
  attempts = std::min(attempts, 16);
  Duration wait = retry_after;
  for (int i = 1; i < attempts && wait < cooldown; ++i) wait *= 2;
  return std::min(wait, std::max(cooldown, retry_after));
}

AppStep stepApp(const AppInput& in, AppRecord record, const FlowOptions& options) {
  const MarathonApp& app = in.app;
  const AppSettings& settings = in.settings;
  const TimePoint now = in.now;
  AppStep step;
  step.in_flight = in.in_flight;
  step.failed_attempts = in.failed_attempts;
  AppUsage usage = in.usage;
  if (in.born && !record.born_at) record.born_at = now;
  boundTimesAhead(record, in, options);
  holdsAndHealth(in, record, usage, options);

  PolicyState policy_state = policyStateOf(record);
  PolicyState limit_state = limitStateOf(record);
  step.evaluation = evaluateResources(settings, options.policy, Resources{app.cpus, app.mem_mib, app.limits}, usage,
                                      policy_state, limit_state, now);
  storePolicyState(policy_state, record);
  storeLimitState(limit_state, record);
  const Evaluation& evaluation = step.evaluation;
  const bool explain = options.policy.explain;
  step.reason = evaluation.reason;
  {
    ScaleClock clock{record.scale_since, record.scale_direction == "out"  ? ScaleDirection::kOut
                                         : record.scale_direction == "in" ? ScaleDirection::kIn
                                                                          : ScaleDirection::kNone};
    const ScaleInput scale_input{.settings = settings.scale,
                                 .instances = app.instances,
                                 .cpus = app.cpus,
                                 .usage = usage,
                                 .kafka_consumer = !settings.kafka_groups.empty(),
                                 .last_scale_at = record.last_scale_at,
                                 .alert = in.scale_alert,
                                 .now = now};
    step.scale = evaluateScale(scale_input, options.scale, clock);
    record.scale_since = clock.since;
    record.scale_direction = std::string(scaleDirectionName(clock.direction));
  }

  const bool was_in_flight = intentInFlight(record);
  const bool in_flight_now = in.may_write && reconcile(in, record, step, options);
  if (was_in_flight && !intentInFlight(record) && step.in_flight > 0) --step.in_flight;
  if (in_flight_now) {
    step.state = AppState::kDeploying;
    step.deployment_id = record.deployment_id;
    step.resizing_since = record.intent_at;
    if (record.intent_instances) {
      step.reason = "scaling to " + std::to_string(*record.intent_instances) + " instances";
      step.scale.reason = step.reason;
    } else if (explain) {
      step.reason = "resizing to " + formatFixed(*record.intent_cpus, 2) + " cpus, " +
                    formatFixed(*record.intent_mem_mib, 0) + " MiB";
    }
    if (explain && record.intent_cpus_limit && record.intent_mem_limit_mib) {
      step.reason += " (limits " + limitText(*record.intent_cpus_limit) + " cpus, " +
                     limitText(*record.intent_mem_limit_mib) + " MiB)";
    }
    if (explain && !in.deployments) {
      step.reason += "; Marathon's deployments could not be read: following it next cycle";
    }
  } else if (!app.deployment_ids.empty()) {
    step.state = AppState::kDeploying;
    step.deployment_id = app.deployment_ids.front();
    step.reason = "a deployment of the app is in progress; " + step.reason;
  } else if (record.cooldown_until && now < *record.cooldown_until &&
             // A resize's cooldown (not a back-off) is shorter for a hot spot.
             !(record.last_change_at && *record.cooldown_until == *record.last_change_at + settings.cooldown &&
               now >= *record.last_change_at + cooldownBefore(evaluation, settings.cooldown))) {
    step.state = AppState::kCooldown;
    if (explain) step.reason += "; cooling down until " + unixSecondsText(*record.cooldown_until);
  } else if (!evaluation.has_data) {
    step.state = AppState::kNoData;
    if (!usage.sick.empty()) step.reason += "; the app is sick (" + usage.sick + ")";
  } else if (!usage.sick.empty() && !(evaluation.resize && usage.oom_killed_mem_mib)) {
    step.state = in.enabled ? AppState::kSick : AppState::kDisabled;
  } else if (!in.enabled) {
    step.state = AppState::kDisabled;
  } else if (evaluation.direction != Direction::kNone && record.refused_until) {
    step.state = AppState::kCooldown;
    step.reason += "; the last resize was refused (" + record.refusal + "): asking again after " +
                   unixSecondsText(*record.refused_until) + " or once the app changes";
  } else if (evaluation.direction != Direction::kNone) {
    step.state = AppState::kWatching;
    holdRiskyShrinks(in, record, step, options.policy);
    holdSmallShrinks(in, step, options.policy);
    budgetDownsizes(in, record, step, options);
    resizeOrScale(in, record, step, options);
  } else {
    step.state = step.scale.direction != ScaleDirection::kNone ? AppState::kWatching : AppState::kIdle;
    resizeOrScale(in, record, step, options);
  }
  // The intent is saved as deploying; the PUT's outcome decides the state.
  record.state = step.put ? AppState::kDeploying : step.state;
  step.record = std::move(record);
  step.usage = std::move(usage);
  return step;
}

void intentNotSaved(AppStep& step) {
  clearIntent(step.record);
  step.put.reset();
  step.record.state = step.state;
  step.reason += "; not applied: the state store or the lease is unavailable";
}

Decision afterPut(AppStep& step, const AppInput& in, const Expected<UpdateOutcome>& outcome, const FlowOptions& options,
                  std::optional<Error>& error) {
  const MarathonApp& app = in.app;
  const TimePoint now = in.now;
  AppRecord& record = step.record;
  const Evaluation& evaluation = step.evaluation;
  const std::optional<int> instances = step.put ? step.put->instances : std::nullopt;
  step.put.reset();
  Decision decision;
  decision.at = now;
  decision.app_id = app.id;
  decision.from_cpus = app.cpus;
  decision.to_cpus = instances ? app.cpus : evaluation.cpus;
  decision.from_mem_mib = app.mem_mib;
  decision.to_mem_mib = instances ? app.mem_mib : evaluation.mem_mib;
  decision.reason = instances ? step.scale.reason : evaluation.reason;
  if (instances) {
    decision.from_instances = app.instances;
    decision.to_instances = instances;
  }
  // A resize that takes something away counts against the budget; a scale
  // restarts nothing.
  const bool budget = !instances && budgeted(in, evaluation, options.policy);
  const std::string change = instances ? "the scale to " + std::to_string(*instances) + " instances"
                                       : "the resize to " + formatFixed(evaluation.cpus, 2) + " cpus, " +
                                             formatFixed(evaluation.mem_mib, 0) + " MiB";
  // Refused before it was sent (a size Marathon cannot take): a definite no,
  // as a 422 is.
  const bool refused_here = !outcome && notSent(outcome.error());
  if (!outcome && !refused_here) {
    // Unknown whether Marathon applied it: keep the intent without a
    // deployment id; the next cycle reads the app and decides (never a
    // second PUT of the same change).
    error = outcome.error();
    if (budget) record.downsizes.push_back(now);  // it may have happened
    if (instances) record.last_scale_at = now;
    decision.action = DecisionAction::kResizeUnconfirmed;
    decision.reason += "; " + outcome.error().message();
    step.state = AppState::kDeploying;
    ++step.in_flight;
  } else if (!refused_here && outcome->result == UpdateOutcome::Result::kLocked) {
    clearIntent(record);
    record.cooldown_until = now + backoffAfter(++step.failed_attempts, options.retry_after, in.settings.cooldown);
    decision.action = DecisionAction::kResizeRefused;
    decision.reason += "; Marathon: the app is locked by another deployment";
    step.state = AppState::kDeploying;
    step.reason += "; Marathon refused: the app is locked by another deployment";
  } else if (refused_here || outcome->result == UpdateOutcome::Result::kRefused) {
    // A definite no (404, 422, or not sent): nothing was applied, and the
    // same PUT would be refused again. Not retried with back-off: asked
    // again only after the app's cooldown, or at once when the app changes
    // (someone fixed it, or changed its labels).
    const std::string refusal =
        sanitizeUtf8((refused_here ? outcome.error().message() : outcome->message).substr(0, kMaxRefusalText));
    const std::string who = refused_here ? "the sizer did not send" : "Marathon refused";
    clearIntent(record);
    record.refused_version = app.version;
    record.refusal = refused_here ? "not sent: " + refusal : refusal;
    record.refused_until = now + in.settings.cooldown;
    error = Error(ErrorKind::kInvalidValue, "app " + app.id + ": " + who + " " + change + ": " + refusal);
    decision.action = DecisionAction::kResizeRefused;
    decision.reason += "; " + who + " it (" + refusal + "); not asked again before " +
                       unixSecondsText(*record.refused_until) + " unless the app changes";
    step.state = AppState::kCooldown;
    step.reason += "; " + who + " " + change + " (" + refusal + ")";
  } else {
    record.deployment_id = outcome->deployment_id;
    step.failed_attempts = 0;
    clearRefusal(record);
    if (instances) {
      ++record.scales;
      record.last_scale_at = now;
    } else {
      ++record.resizes;
    }
    if (budget) record.downsizes.push_back(now);
    // A shrink of memory or CPU (the limit an OOM kill or the throttling is
    // at: not a burstable app's request) is remembered for
    // --search-back-window; a grow back to what it took away forgets it.
    if (!instances && !in.settings.burstable) {
      if (moreThanHalfAStepAbove(app.cpus, evaluation.cpus, options.policy.cpu_step)) {
        record.shrunk_from_cpus = app.cpus;
        record.cpu_shrunk_at = now;
      } else if (record.shrunk_from_cpus &&
                 !moreThanHalfAStepAbove(*record.shrunk_from_cpus, evaluation.cpus, options.policy.cpu_step)) {
        record.shrunk_from_cpus.reset();
        record.cpu_shrunk_at.reset();
      }
      if (moreThanHalfAStepAbove(app.mem_mib, evaluation.mem_mib, options.policy.mem_step_mib)) {
        record.shrunk_from_mem_mib = app.mem_mib;
        record.mem_shrunk_at = now;
      } else if (record.shrunk_from_mem_mib && !moreThanHalfAStepAbove(*record.shrunk_from_mem_mib, evaluation.mem_mib,
                                                                       options.policy.mem_step_mib)) {
        record.shrunk_from_mem_mib.reset();
        record.mem_shrunk_at.reset();
      }
    }
    decision.action = instances ? DecisionAction::kScale : DecisionAction::kResize;
    decision.deployment_id = outcome->deployment_id;
    step.state = AppState::kDeploying;
    step.deployment_id = outcome->deployment_id;
    step.resizing_since = record.intent_at;
    ++step.in_flight;
  }
  record.state = step.state;
  return decision;
}

std::optional<SlotOrder> parseSlotOrder(std::string_view name) {
  if (name == "ids") return SlotOrder::kIds;
  if (name == "largest") return SlotOrder::kLargest;
  return std::nullopt;
}

double fleetMemPerCore(double fleet_cpus, double fleet_mem_mib) {
  if (!std::isfinite(fleet_cpus) || !std::isfinite(fleet_mem_mib) || fleet_cpus <= 1e-9 || fleet_mem_mib < 0) return 0;
  return fleet_mem_mib / fleet_cpus;
}

bool claimsFirst(std::string_view a, const SlotClaim& ca, std::string_view b, const SlotClaim& cb,
                 double fleet_mem_per_core) {
  if (ca.grows != cb.grows) return ca.grows;
  const double wa = ca.worth(fleet_mem_per_core);
  const double wb = cb.worth(fleet_mem_per_core);
  return wa != wb ? wa > wb : a < b;
}

std::size_t SlotQueue::ahead(std::string_view app_id, const SlotClaim& claim, double fleet_mem_per_core,
                             std::size_t most) const {
  std::size_t count = 0;
  for (const auto& [id, other] : claims_) {
    if (count >= most) break;
    if (id != app_id && claimsFirst(id, other, app_id, claim, fleet_mem_per_core)) ++count;
  }
  return count;
}

}  // namespace rightsize::sizing
