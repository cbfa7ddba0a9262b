#include "rightsize/simulate/simulate.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <queue>
#include <random>
#include <set>
#include <utility>

#include "rightsize/agent/container_tracker.h"
#include "rightsize/core/json.h"
#include "rightsize/core/stats.h"
#include "rightsize/core/text.h"
#include "rightsize/core/units.h"
#include "rightsize/sizing/agent_reader.h"
#include "rightsize/sizing/resize_flow.h"

namespace rightsize::simulate {

void accountStep(ResourceFigures& figures, double used, double reserved, double static_reserved, double hours,
                 std::optional<double> limit, double unobserved_hours) {
  const double served = limit.value_or(reserved);
  figures.reserved_hours += reserved * (hours + unobserved_hours);
  figures.observed_reserved_hours += reserved * hours;
  figures.static_reserved_hours += static_reserved * (hours + unobserved_hours);
  figures.used_hours += used * hours;
  figures.slack_hours += std::max(reserved - used, 0.0) * hours;
  figures.shortfall_hours += std::max(used - served, 0.0) * hours;
  // Nothing observed (all of it a gap in the trace): no sample.
  if (!(hours > 0)) return;
  ++figures.samples;
  if (used > served) ++figures.insufficient_samples;
}

namespace {

constexpr double kHour = 3600;

Reservation reservationOf(const TracePoint& point) {
  Reservation r;
  r.cpus = point.cpu_reserved_cores;
  if (point.memory_reserved_mib && point.memory_used_mib) r.mem_mib = point.memory_reserved_mib;
  return r;
}

// A container's CFS quota (with the executor's share): its cpus under cfs,
// none with shares; a burstable app's limit in both (Mesos enforces a limit
// it was given), none when unlimited.
std::optional<double> cpuQuotaOf(const Reservation& r, CpuIsolation isolation) {
  if (r.cpus_limit) {
    if (sizing::unlimited(*r.cpus_limit)) return std::nullopt;
    return containerCpuLimit(*r.cpus_limit);
  }
  if (isolation == CpuIsolation::kShares) return std::nullopt;
  return containerCpuLimit(r.cpus);
}

// The memory a container is killed above: its mem, or its limit.
double memLimitOf(const Reservation& r) { return r.mem_limit_mib ? *r.mem_limit_mib : r.mem_mib.value_or(0); }

// The hosts the trace's containers run on (ReplayOptions::host_cores,
// host_mem_mib): each placed by its requests (with the executor's share) on
// the first host with room for both as it starts, and again when a redeploy
// replaces it (its new container lands wherever there is room, as Mesos'
// offers go); a new host when none has room. A fleet that banks every core
// and byte its reservations free: no host holds more than its requests, nor
// is one left emptier than first-fit leaves it.
class Hosts {
 public:
  Hosts(double host_cores, double host_mem_mib, std::size_t apps)
      : host_cores_(host_cores), host_mem_mib_(host_mem_mib), host_of_(apps), request_of_(apps), wants_(apps) {}

  void place(std::size_t app, double cpus, double mem_mib) {
    remove(app);
    const auto fits = [&](const Host& h) {
      return h.cpus + cpus <= host_cores_ + 1e-9 && (host_mem_mib_ <= 0 || h.mem_mib + mem_mib <= host_mem_mib_ + 1e-6);
    };
    const auto found = std::find_if(hosts_.begin(), hosts_.end(), fits);
    const auto chosen = static_cast<std::size_t>(found - hosts_.begin());
    if (found == hosts_.end()) hosts_.emplace_back();
    hosts_[chosen].cpus += cpus;
    hosts_[chosen].mem_mib += mem_mib;
    hosts_[chosen].wants += wants_[app];
    hosts_[chosen].apps.push_back(app);
    host_of_[app] = chosen;
    request_of_[app] = {cpus, mem_mib};
  }
  void remove(std::size_t app) {
    if (!host_of_[app]) return;
    Host& host = hosts_[*host_of_[app]];
    std::erase(host.apps, app);
    host.cpus = host.apps.empty() ? 0 : host.cpus - request_of_[app].first;
    host.mem_mib = host.apps.empty() ? 0 : host.mem_mib - request_of_[app].second;
    host.wants = host.apps.empty() ? 0 : host.wants - wants_[app];
    host_of_[app].reset();
  }
  // The CPU `app` wants as of its last step (its demand up to its quota),
  // summed per host so that a host with CPU to spare costs no walk.
  void setWants(std::size_t app, double cores) {
    if (host_of_[app]) hosts_[*host_of_[app]].wants += cores - wants_[app];
    wants_[app] = cores;
  }
  // What `app`'s host wants with `app` wanting `cores` instead.
  double hostWants(std::size_t app, double cores) const {
    return hosts_[host_of_[app].value()].wants - wants_[app] + cores;
  }
  // The apps on `app`'s host, itself included.
  const std::vector<std::size_t>& neighbours(std::size_t app) const { return hosts_[host_of_[app].value()].apps; }

 private:
  struct Host {
    double cpus = 0;
    double mem_mib = 0;
    double wants = 0;
    std::vector<std::size_t> apps;
  };
  double host_cores_;
  double host_mem_mib_;
  std::vector<Host> hosts_;
  std::vector<std::optional<std::size_t>> host_of_;
  std::vector<std::pair<double, double>> request_of_;
  std::vector<double> wants_;
};

// One app's replay, a step at a time: replay() interleaves the apps in time
// order, so that a policy sees the redeploys of the others in flight.
class AppReplay {
 public:
  // The app's policy exists from its first point to its last only: a trace
  // of many short-lived apps holds few at a time.
  AppReplay(const AppTrace& app, const PolicySpec& spec, const ReplayOptions& options, TimePoint trace_start)
      : app_(app),
        spec_(spec),
        options_(options),
        began_with_trace_(app.beganWithTrace(trace_start)),
        longest_observed_(app.longestObserved()) {
    result_.app_id = app.app_id;
  }

  bool done() const { return next_point_ >= app_.points.size(); }
  // When the next point is played: at its time, but a point whose step
  // OOM-kills the container (above its own limit) at the start of its step,
  // when the kill happens: Marathon shows it at once, and the sizer's next
  // cycle decides on it (a slot freed within the step goes to the killed app
  // first, as to any app at risk) and starts its redeploy then.
  TimePoint nextAt() const {
    const TracePoint& point = app_.points[next_point_];
    if (next_point_ == 0 || !point.memory_used_mib) return point.at;
    const Reservation& in_force = pending_ && next_at_ <= point.at ? next_ : current_;
    if (!in_force.mem_mib || !oomKilled(*point.memory_used_mib, memLimitOf(in_force))) return point.at;
    return point.at - std::min(app_.stepOf(next_point_), longest_observed_);
  }
  // When this app's redeploy in flight takes effect, if one is.
  std::optional<TimePoint> pendingUntil() const { return pending_ ? std::optional(next_at_) : std::nullopt; }

  // Before the next point: its container starts, or the redeploy in flight
  // takes effect. True when the container is a new one (to be placed).
  bool advance() {
    const TracePoint& point = app_.points[next_point_];
    if (next_point_ == 0) {
      current_ = reservationOf(point);
      policy_ = spec_.make(app_.app_id, current_);
      return true;
    }
    if (pending_ && next_at_ <= point.at) {
      current_ = next_;
      pending_ = false;
      return true;
    }
    return false;
  }
  // The container as its host sees it: at the next point (`next`), or as of
  // its last point.
  HostContainer container(bool next) const {
    const double demand = next ? app_.points[next_point_].cpu_used_cores : last_demand_;
    return {demand, containerCpuLimit(current_.cpus), cpuQuotaOf(current_, options_.cpu_isolation)};
  }
  // Its memory: its request (with the executor's share; 0 without a memory
  // signal), and what it uses of its host's (at most its limit) and above
  // its request, at the next point or as of its last.
  double memRequest() const { return current_.mem_mib ? *current_.mem_mib + sizing::kExecutorMemMib : 0; }
  std::pair<double, double> memUse(bool next) const {
    const std::optional<double> used = next ? app_.points[next_point_].memory_used_mib : last_mem_used_;
    if (!used || !current_.mem_mib) return {0, 0};
    const double held = std::min(*used, memLimitOf(current_));
    return {held, std::max(held - *current_.mem_mib, 0.0)};
  }

  // Plays the next point at `now` (nextAt()), after advance(), its
  // container getting `cpu` of its host; `others_in_flight` redeploys of
  // other apps have not taken effect yet. Returns when a redeploy it starts
  // takes effect.
  // `host_oom`: its host ran out of memory and the kernel killed it, the
  // container furthest above its request there.
  std::optional<TimePoint> step(TimePoint now, const Slots& slots, const CpuOnHost& cpu, bool host_oom,
                                std::optional<double> host_busy) {
    const std::size_t i = next_point_++;
    const TracePoint& point = app_.points[i];
    const Duration step = app_.stepOf(i);
    last_demand_ = point.cpu_used_cores;
    last_mem_used_ = point.memory_used_mib;
    covered_seconds_ += toSeconds(step);
    const bool after_first = result_.redeploys > 0;
    if (after_first) covered_after_first_seconds_ += toSeconds(step);
    // A point stands for its step up to twice the app's usual one; beyond,
    // the trace has a gap whose use is unknown: the reservations count
    // through it (they are paid), the use, shortfall and unmet demand do not
    // (a burst seen after a three-hour gap is not three hours of it).
    const Duration observed = std::min(step, longest_observed_);
    const double hours = toSeconds(observed) / kHour;
    const double gap_hours = toSeconds(step - observed) / kHour;
    Observation observation;
    observation.at = point.at;
    observation.step = step;
    observation.reserved = current_;
    observation.slots = slots;
    observation.host_busy = host_busy;
    observation.cpu_used_cores = cpu.used_cores;
    observation.cpu_throttled_ratio = cpu.throttled_ratio;
    observation.cpu_throttled_cores = cpu.throttled_cores;
    observation.cpu_demand_cores = point.cpu_used_cores;
    observation.app_began_with_trace = began_with_trace_;
    // What the container may use at once: its limit (a burstable one's, or
    // unlimited: then what its host could give it).
    double cpu_limit = containerCpuLimit(current_.cpus);
    if (current_.cpus_limit)
      cpu_limit = cpu.unmet_cores > 0 ? cpu.used_cores : std::max(point.cpu_used_cores, cpu_limit);
    observation.cpu_starved = point.cpu_used_cores > cpu_limit || cpu.unmet_cores > 0;
    accountStep(result_.cpu, point.cpu_used_cores, current_.cpus, point.cpu_reserved_cores, hours, cpu_limit,
                gap_hours);
    result_.cpu.unmet_hours += cpu.unmet_cores * hours;
    result_.cpu.burst_hours += cpu.burst_cores * hours;
    if (point.memory_used_mib && current_.mem_mib) {
      // Killed above its limit, or (a burstable app's memory above its
      // request, taken from its host) above its request when its host ran
      // out.
      const double mem_limit = host_oom ? *current_.mem_mib : memLimitOf(current_);
      observation.oom = oomKilled(*point.memory_used_mib, mem_limit);
      observation.mem_used_mib = std::min(*point.memory_used_mib, mem_limit);
      if (observation.oom) ++result_.oom_kills;
      if (observation.oom && after_first) ++result_.restarts_after_first_redeploy;
      if (observation.oom && host_oom) ++result_.host_oom_kills;
      accountStep(
          result_.mem, *point.memory_used_mib / 1024, *current_.mem_mib / 1024,
          point.memory_reserved_mib.value_or(*current_.mem_mib) / 1024, hours,
          sizing::unlimited(mem_limit) ? std::max(*point.memory_used_mib, *current_.mem_mib) / 1024 : mem_limit / 1024,
          gap_hours);
      if (*point.memory_used_mib > *current_.mem_mib) {
        result_.mem.burst_hours += (std::min(*point.memory_used_mib, mem_limit) - *current_.mem_mib) / 1024 * hours;
      }
    }
    if (options_.keep_series) {
      result_.series.push_back({point.at, point.cpu_used_cores, current_.cpus, point.memory_used_mib, current_.mem_mib,
                                current_.cpus_limit, current_.mem_limit_mib});
    }
    const Reservation wanted = policy_->observe(observation, pending_);
    decided_at_ = now;
    waits_for_slot_ = policy_->waitsForSlot();
    at_risk_waiting_ = policy_->waitsAtRisk();
    slot_claim_ = policy_->slotClaim();
    if (done()) {
      policy_.reset();
      waits_for_slot_ = at_risk_waiting_ = false;
      slot_claim_.reset();
    }
    return redeploy(wanted, now);
  }

  // A deployment slot freed at `at`, after the app's last point and before
  // its next, while it waits for one: its policy decides again. Returns when
  // a redeploy it starts takes effect.
  std::optional<TimePoint> retry(TimePoint at, const Slots& slots) {
    if (!waits_for_slot_ || pending_ || !policy_) return std::nullopt;
    const std::optional<Reservation> wanted = policy_->retry(at, slots);
    decided_at_ = at;
    waits_for_slot_ = policy_->waitsForSlot();
    at_risk_waiting_ = policy_->waitsAtRisk();
    slot_claim_ = policy_->slotClaim();
    return wanted ? redeploy(*wanted, at) : std::nullopt;
  }

  // After step() or retry(): the app waits for a deployment slot, and is at
  // risk; when its policy last decided.
  bool waitsForSlot() const { return waits_for_slot_; }
  bool atRiskWaiting() const { return at_risk_waiting_; }
  const std::optional<sizing::SlotClaim>& slotClaim() const { return slot_claim_; }
  TimePoint decidedAt() const { return decided_at_; }
  // The reservation in force, once the app has started.
  const Reservation& reservation() const { return current_; }

  AppResult finish() && {
    result_.days = covered_seconds_ / 86400;
    if (result_.redeploys > 0) {
      result_.days_after_first_redeploy = covered_after_first_seconds_ / 86400;
    } else {
      result_.days_after_first_redeploy = result_.days;
      result_.restarts_after_first_redeploy = result_.oom_kills;
    }
    result_.final_reservation = pending_ ? next_ : current_;
    return std::move(result_);
  }

 private:
  // The policy wants `wanted` at `at`: a redeploy, unless one is in flight
  // or it changes nothing. Returns when it takes effect.
  std::optional<TimePoint> redeploy(Reservation wanted, TimePoint at) {
    if (!current_.mem_mib) {
      wanted.mem_mib.reset();
      wanted.mem_limit_mib.reset();
    }
    if (pending_ || wanted == current_ || !std::isfinite(wanted.cpus) || !(wanted.cpus > 0)) return std::nullopt;
    if (result_.redeploys++ > 0) ++result_.restarts_after_first_redeploy;
    if (options_.deploy_delay <= Duration::zero()) {
      current_ = wanted;
      return std::nullopt;
    }
    pending_ = true;
    next_ = wanted;
    next_at_ = at + options_.deploy_delay;
    return next_at_;
  }

  const AppTrace& app_;
  const PolicySpec& spec_;
  const ReplayOptions& options_;
  bool began_with_trace_;      // it was there when the trace began
  Duration longest_observed_;  // the longest step a point stands for
  AppResult result_;
  std::unique_ptr<SimPolicy> policy_;
  std::size_t next_point_ = 0;
  double last_demand_ = 0;
  std::optional<double> last_mem_used_;
  Reservation current_;
  bool pending_ = false;  // a redeploy to `next_` takes effect at `next_at_`
  bool waits_for_slot_ = false;
  bool at_risk_waiting_ = false;
  std::optional<sizing::SlotClaim> slot_claim_;
  TimePoint decided_at_{};  // when its policy last decided
  Reservation next_;
  TimePoint next_at_{};
  // Seconds, not a Duration: a trace's steps may sum to more than the
  // nanosecond clock holds (a trace built by hand may span the 230 years of
  // its allowed times, and its first point stands for a step as long as the
  // second).
  double covered_seconds_ = 0;
  double covered_after_first_seconds_ = 0;  // since the first redeploy was decided
};

void writeResource(json::Writer& writer, const ResourceFigures& f, const char* unit, bool cpu) {
  writer.StartObject();
  // The samples with the resource's figures: 0 for memory in a trace
  // without any (its figures are 0, not measured).
  json::writeKey(writer, "samples");
  writer.Uint64(f.samples);
  json::writeKey(writer, std::string("reserved_") + unit + "_hours");
  writer.Double(f.reserved_hours);
  json::writeKey(writer, std::string("static_reserved_") + unit + "_hours");
  writer.Double(f.static_reserved_hours);
  json::writeKey(writer, std::string("used_") + unit + "_hours");
  writer.Double(f.used_hours);
  json::writeKey(writer, "slack_pct");
  writer.Double(f.slackPct());
  json::writeKey(writer, "insufficient_sample_pct");
  writer.Double(f.insufficientPct());
  json::writeKey(writer, std::string("shortfall_") + unit + "_hours");
  writer.Double(f.shortfall_hours);
  if (cpu) {
    json::writeKey(writer, "unmet_core_hours");
    writer.Double(f.unmet_hours);
    json::writeKey(writer, "unmet_demand_pct");
    writer.Double(f.unmetPct());
  }
  json::writeKey(writer, std::string("burst_") + unit + "_hours");
  writer.Double(f.burst_hours);
  writer.EndObject();
}

// The agent's view of the app's one container: the agent's own tracker
// (agent/container_tracker.h) fed the readings a Mesos agent would give,
// one at the container's start and one at the end of each step, under the
// container's limits (the task's reservation plus the command executor's,
// as Mesos sets them). A restarted container (a redeploy taking effect, an
// OOM kill) is a new container: its rates, averages and windows start over,
// as the agent's do for a new Mesos container.
class SimulatedContainer {
 public:
  SimulatedContainer(const std::string& app_id, Duration window) : app_id_(app_id), window_(window) {}

  // Readings of the step `o` ends, as /v1/containers would carry them.
  wire::Container observe(const Observation& o) {
    if (!tracker_) startAt(o.at - o.step, o.reserved);
    cpu_seconds_ += o.cpu_used_cores * toSeconds(o.step);
    const auto periods = static_cast<std::uint64_t>(std::llround(toSeconds(o.step) / kCfsPeriodSeconds));
    periods_ += periods;
    throttled_ += static_cast<std::uint64_t>(std::llround(o.cpu_throttled_ratio * static_cast<double>(periods)));
    throttled_seconds_ += o.cpu_throttled_cores * toSeconds(o.step);
    (void)tracker_->update(sample(o.at, o.reserved, o.mem_used_mib));
    return agent::wireContainer(tracker_->stats());
  }
  // The container is gone: the next step's is a new one.
  void restart() { tracker_.reset(); }
  // A new container starts at `at`: the agent's first reading of it.
  void startAt(TimePoint at, const Reservation& reserved) {
    ++started_;
    task_id_ = app_id_ + ".task-" + std::to_string(started_);
    started_at_ = at;
    tracker_.emplace(agent::TrackerOptions{.window = window_});
    cpu_seconds_ = 0;
    periods_ = 0;
    throttled_ = 0;
    throttled_seconds_ = 0;
    (void)tracker_->update(sample(at, reserved, std::nullopt));
  }
  const std::string& taskId() const { return task_id_; }
  // When the container running now was first read, and whether it is the
  // one that ran when the trace began.
  TimePoint startedAt() const { return started_at_; }
  bool first() const { return started_ == 1; }

 private:
  static constexpr double kCfsPeriodSeconds = 0.1;  // Mesos' cpu.cfs_period_us

  agent::ContainerSample sample(TimePoint at, const Reservation& reserved, std::optional<double> mem_used_mib) const {
    agent::ContainerSample out;
    out.identity.container_id = taskId();
    out.identity.app_id = app_id_;
    out.identity.task_id = taskId();
    out.at = at;
    out.cpu_seconds = cpu_seconds_;
    out.reserved_cores = reserved.cpus + sizing::kExecutorCpus;
    // A burstable app's container: its quota (none when unlimited) and its
    // memory's soft and hard limits, as Mesos sets them.
    if (reserved.cpus_limit && !sizing::unlimited(*reserved.cpus_limit)) {
      out.limit_cores = *reserved.cpus_limit + sizing::kExecutorCpus;
    }
    out.cfs_periods = periods_;
    out.cfs_throttled_periods = throttled_;
    out.cfs_throttled_seconds = throttled_seconds_;
    // A trace without memory: a nominal container, as the demo's doubles
    // give it (its memory is not sized from the trace).
    const double mem_mib = reserved.mem_mib.value_or(kNominalMemMib);
    const bool mem_unlimited = reserved.mem_limit_mib && sizing::unlimited(*reserved.mem_limit_mib);
    const double limit_mib =
        (reserved.mem_limit_mib && !mem_unlimited ? std::max(*reserved.mem_limit_mib, mem_mib) : mem_mib) +
        sizing::kExecutorMemMib;
    if (reserved.mem_limit_mib) {
      out.memory_request_bytes = static_cast<std::uint64_t>((mem_mib + sizing::kExecutorMemMib) * kMiB);
    }
    if (!mem_unlimited) out.memory_limit_bytes = static_cast<std::uint64_t>(limit_mib * kMiB);
    if (mem_used_mib) {
      const double seen = mem_unlimited ? *mem_used_mib : std::min(*mem_used_mib, limit_mib);
      out.memory_used_bytes = static_cast<std::uint64_t>(seen * kMiB);
    }
    return out;
  }

  static constexpr double kNominalMemMib = 1024;
  std::string app_id_;
  Duration window_;
  std::optional<agent::ContainerTracker> tracker_;
  std::uint64_t started_ = 0;
  std::string task_id_;  // the running container's task: app_id_.task-<started_>
  TimePoint started_at_{};
  double cpu_seconds_ = 0;
  std::uint64_t periods_ = 0;
  std::uint64_t throttled_ = 0;
  double throttled_seconds_ = 0;
};

// The sizer's own per-app flow (sizing/resize_flow.h) on a simulated
// Marathon: the app as Marathon would list it (the reservation in force, its
// one task running), its record, the figures of the agent's tracker summed
// up by the sizer's own summary (sizing::summarize), and the replay's
// redeploy in flight as the app's deployment. Cooldowns, the deployment
// slot, in-flight deployments and the hold after a failed one are the
// sizer's code, not a re-implementation; Marathon accepts every PUT.
class RightsizeSimPolicy final : public SimPolicy {
 public:
  RightsizeSimPolicy(const std::string& app_id, const RightsizePolicyOptions& options)
      : options_(options), container_(app_id, options.window), history_(options.history) {
    flow_.policy = options.policy;
    // Nobody reads the flow's reasons in a replay: not formatted.
    flow_.policy.explain = false;
    flow_.max_concurrent_deployments = options.max_concurrent_deployments;
    flow_.max_concurrent_oom_deployments = options.max_concurrent_oom_deployments;
    flow_.slot_order = options.slot_order;
    flow_.search_back_window = options.search_back_window;
    flow_.downsize_window = options.downsize_window;
    flow_.oom_hold = options.oom_hold;
    app_.id = app_id;
    app_.version = "replay";
    app_.instances = 1;
    app_.tasks_running = 1;
    app_.tasks.resize(1);
    app_.tasks.front().app_id = app_id;
    app_.tasks.front().state = "TASK_RUNNING";
    record_.app_id = app_id;
  }

  bool waitsAtRisk() const override { return waits_at_risk_; }

  Reservation observe(const Observation& o, bool deployment_pending) override {
    waits_at_risk_ = false;
    waits_for_slot_ = false;
    // The redeploy took effect at this step (a redeploy shorter than the
    // trace's step is never seen pending): its tasks are new containers.
    if (redeploying_ && !deployment_pending) {
      container_.restart();
      redeploying_ = false;
    }
    // The one agent's report and the one app, kept from step to step (their
    // strings and vectors are not allocated again at every step).
    sizing::AgentReport& report = reports_.front();
    report.containers.clear();
    report.host_used_cores.reset();
    report.host_capacity_cores.reset();
    report.reachable = true;
    if (o.host_busy) {
      report.host_used_cores = *o.host_busy;
      report.host_capacity_cores = 1;
    }
    if (o.oom) {
      // The kernel killed the container as its memory passed the limit, at
      // the start of the step (as the demo's doubles do): Marathon shows the
      // kill at once, while the relaunched container has no rate yet when
      // the sizer's next cycle sees the kill. Its readings begin next step.
      container_.restart();
      container_.startAt(o.at, o.reserved);
    } else {
      report.containers.push_back(container_.observe(o));
    }
    app_.cpus = o.reserved.cpus;
    // A trace without memory: the app's mem is whatever the sizer last set.
    if (o.reserved.mem_mib) app_.mem_mib = *o.reserved.mem_mib;
    app_.limits.cpus = o.reserved.cpus_limit;
    if (o.reserved.mem_mib) app_.limits.mem_mib = o.reserved.mem_limit_mib;
    // Marathon's startedAt: the first container of an app the trace began
    // with had run for a while, taken as the sizer's --min-task-age (a fleet
    // the sizer is switched on over; the demo's doubles start theirs so). An
    // app whose trace begins later is new, as the demo creates it.
    const bool ran_before = container_.first() && o.app_began_with_trace;
    const TimePoint started_at = container_.startedAt() - (ran_before ? flow_.policy.min_task_age : Duration{});
    sizing::MarathonTask& task = app_.tasks.front();
    task.id = container_.taskId();
    task.started_at = started_at;
    auto summaries = sizing::summarize(reports_, apps_);
    sizing::AppUsage usage;
    if (const auto it = summaries.find(app_.id); it != summaries.end()) usage = std::move(it->second);
    history_.add(o.at, usage);
    usage = history_.summarize(o.at, usage, sizing::percentilesOf(options_.settings));

    // The reservation in force is the version the tasks run once the
    // replay's redeploy took effect.
    if (!deployment_pending) running_version_ = app_.version;
    if (o.oom) {
      // As Marathon shows it: the last task failure, the kernel's kill.
      sizing::TaskFailure kill;
      kill.task_id = app_.id + ".oom-" + std::to_string(++oom_kills_);
      kill.state = "TASK_FAILED";
      kill.message = "Memory limit exceeded: Requested: " + formatFixed(o.reserved.mem_mib.value_or(0), 0) + "MB";
      kill.version = running_version_;
      kill.at = o.at;
      kill.limit_mib = o.reserved.mem_limit_mib ? o.reserved.mem_limit_mib : o.reserved.mem_mib;
      app_.last_task_failure = std::move(kill);
    }
    std::optional<std::vector<sizing::MarathonDeployment>> deployments(std::in_place);
    if (deployment_pending) deployments->push_back({record_.deployment_id, {app_.id}});
    sizing::AppInput input{.app = app_, .settings = options_.settings, .deployments = deployments};
    input.usage = std::move(usage);
    // The sizer's deployments in flight: the other apps' and this one's.
    input.in_flight = o.slots.other_deployments_in_flight + (record_.intent_cpus ? 1 : 0);
    input.at_risk_waiting = o.slots.other_apps_at_risk_waiting;
    input.slot_queue = o.slots.queue;
    input.fleet_mem_per_core = o.slots.fleet_mem_per_core;
    // An app whose trace begins after the trace's start is born while the
    // sizer watches (as the demo creates it then); those the trace begins
    // with are the fleet it is switched on over.
    input.born = !listed_ && !o.app_began_with_trace;
    listed_ = true;
    input.now = o.at;
    reserved_ = o.reserved;
    return decide(input);
  }

  bool waitsForSlot() const override { return waits_for_slot_; }
  std::optional<sizing::SlotClaim> slotClaim() const override { return slot_claim_; }

  std::optional<Reservation> retry(TimePoint at, const Slots& slots) override {
    if (!waits_for_slot_) return std::nullopt;
    // The app as of its last sample, no deployment of its own in flight
    // (it waits for one): the agents' readings have not changed since.
    const std::optional<std::vector<sizing::MarathonDeployment>> deployments(std::in_place);
    sizing::AppInput input{.app = app_, .settings = options_.settings, .deployments = deployments};
    input.usage = usage_;
    input.in_flight = slots.other_deployments_in_flight;
    input.at_risk_waiting = slots.other_apps_at_risk_waiting;
    input.slot_queue = slots.queue;
    input.fleet_mem_per_core = slots.fleet_mem_per_core;
    input.now = at;
    return decide(input);
  }

 private:
  // The sizer's flow on `input` (its app, usage, slots and time filled in):
  // the reservation wanted from now on, `reserved_` unless it resizes.
  Reservation decide(sizing::AppInput& input) {
    input.enabled = true;
    input.may_write = true;
    input.failed_attempts = failed_attempts_;
    input.intent_id = "replay-" + std::to_string(resizes_ + 1);
    sizing::AppStep step = sizing::stepApp(input, std::move(record_), flow_);
    waits_at_risk_ = step.at_risk_waiting;
    waits_for_slot_ = step.waiting_for_slot;
    slot_claim_ = step.slot_claim;
    Reservation wanted = reserved_;
    if (const std::optional<sizing::ResizeRequest> put = step.put) {
      ++resizes_;
      redeploying_ = true;
      std::optional<Error> error;
      sizing::UpdateOutcome accepted;
      accepted.deployment_id = "replay-deployment-" + std::to_string(resizes_);
      (void)sizing::afterPut(step, input, accepted, flow_, error);
      app_.version = "replay-" + std::to_string(resizes_);
      wanted.cpus = put->cpus;
      if (put->limits) wanted.cpus_limit = put->limits->cpus;
      if (reserved_.mem_mib) {
        wanted.mem_mib = put->mem_mib;
        if (put->limits) wanted.mem_limit_mib = put->limits->mem_mib;
      } else {
        app_.mem_mib = put->mem_mib;
        if (put->limits) app_.limits.mem_mib = put->limits->mem_mib;
      }
    }
    record_ = std::move(step.record);
    failed_attempts_ = step.failed_attempts;
    // Kept for a retry between samples (the flow took a copy).
    usage_ = std::move(input.usage);
    return wanted;
  }

  RightsizePolicyOptions options_;
  sizing::FlowOptions flow_;
  SimulatedContainer container_;
  bool redeploying_ = false;  // a PUT of this policy has not taken effect yet
  sizing::UsageHistory history_;
  std::vector<sizing::AgentReport> reports_{1};
  std::vector<sizing::MarathonApp> apps_{1};
  sizing::MarathonApp& app_ = apps_.front();
  sizing::AppRecord record_;
  std::string running_version_;
  int failed_attempts_ = 0;
  bool listed_ = false;  // the sizer has seen the app
  std::uint64_t resizes_ = 0;
  std::uint64_t oom_kills_ = 0;
  bool waits_at_risk_ = false;                   // the last decision's
  bool waits_for_slot_ = false;                  // the last decision's
  std::optional<sizing::SlotClaim> slot_claim_;  // the last decision's
  Reservation reserved_;                         // the reservation in force at the last sample
  sizing::AppUsage usage_;                       // the usage the last decision saw
};

}  // namespace

void ResourceFigures::add(const ResourceFigures& other) {
  reserved_hours += other.reserved_hours;
  observed_reserved_hours += other.observed_reserved_hours;
  static_reserved_hours += other.static_reserved_hours;
  used_hours += other.used_hours;
  slack_hours += other.slack_hours;
  shortfall_hours += other.shortfall_hours;
  unmet_hours += other.unmet_hours;
  burst_hours += other.burst_hours;
  samples += other.samples;
  insufficient_samples += other.insufficient_samples;
}

namespace {

// The span the trace's samples stand for: each for the step that ends at it,
// so from the earliest instant an app's first step reaches back to, to the
// last sample (the span of the per-app-day rates' days, not one step less).
// In seconds: a trace built by hand may have steps of centuries.
double coveredDays(const Trace& trace) {
  std::optional<double> from;
  std::optional<double> to;
  for (const auto& app : trace.apps) {
    if (app.points.empty()) continue;
    const double first = toSeconds(app.points.front().at - trace.start) - toSeconds(app.stepOf(0));
    const double last = toSeconds(app.points.back().at - trace.start);
    from = std::min(from.value_or(first), first);
    to = std::max(to.value_or(last), last);
  }
  return from ? (*to - *from) / 86400 : 0;
}

}  // namespace

PolicyResult replay(const Trace& trace, const PolicySpec& spec, const ReplayOptions& options) {
  PolicyResult result;
  result.policy = spec.name;
  result.days = coveredDays(trace);
  result.cpu_isolation = options.cpu_isolation;
  result.per_app.reserve(trace.apps.size());
  std::vector<AppReplay> apps;
  apps.reserve(trace.apps.size());
  for (const auto& app : trace.apps) apps.emplace_back(app, spec, options, trace.start);
  // The apps' next points, earliest first; apps at the same time in the
  // order of their ids, as the sizer goes through Marathon's list (sorted by
  // id) and gives the deployment slots in that order.
  std::vector<std::size_t> by_id(apps.size());
  for (std::size_t i = 0; i < by_id.size(); ++i) by_id[i] = i;
  std::stable_sort(by_id.begin(), by_id.end(),
                   [&trace](std::size_t a, std::size_t b) { return trace.apps[a].app_id < trace.apps[b].app_id; });
  if (options.order_seed != 0) {
    // Fisher-Yates on the engine's own draws: the same order from the same
    // seed with any standard library.
    std::mt19937_64 draw(options.order_seed);
    for (std::size_t i = by_id.size(); i > 1; --i) std::swap(by_id[i - 1], by_id[draw() % i]);
  }
  // A deployment slot frees when a redeploy takes effect: after the apps'
  // points at that time.
  constexpr std::size_t kSlotFreed = std::numeric_limits<std::size_t>::max();
  using Next = std::pair<TimePoint, std::size_t>;  // (time, rank in by_id or kSlotFreed)
  std::priority_queue<Next, std::vector<Next>, std::greater<>> queue;
  for (std::size_t rank = 0; rank < by_id.size(); ++rank) {
    if (!apps[by_id[rank]].done()) queue.emplace(apps[by_id[rank]].nextAt(), rank);
  }
  // When each redeploy in flight takes effect.
  std::multiset<TimePoint> in_flight;
  const auto started = [&](std::optional<TimePoint> until) {
    if (!until) return;
    in_flight.insert(*until);
    queue.emplace(*until, kSlotFreed);
  };
  // The apps waiting for a slot (their ranks), and those at risk among them
  // (SimPolicy::waitsAtRisk), as the sizer keeps them from cycle to cycle.
  std::set<std::size_t> waiting_for_slot;
  std::vector<bool> waiting(apps.size(), false);
  std::size_t at_risk_waiting = 0;
  // Those whose resize can wait, by their claims (sizing::SlotQueue), priced
  // by the fleet's MiB per core: the sums of the reservations of the apps
  // whose containers have started and whose traces have not ended.
  sizing::SlotQueue slot_queue;
  std::vector<bool> claimed(apps.size(), false);  // in slot_queue
  double fleet_cpus = 0;
  double fleet_mem_mib = 0;
  std::vector<std::pair<double, double>> in_fleet(apps.size());
  const auto update_fleet = [&](std::size_t index) {
    const AppReplay& app = apps[index];
    fleet_cpus -= in_fleet[index].first;
    fleet_mem_mib -= in_fleet[index].second;
    in_fleet[index] =
        app.done() ? std::pair(0.0, 0.0) : std::pair(app.reservation().cpus, app.reservation().mem_mib.value_or(0));
    fleet_cpus += in_fleet[index].first;
    fleet_mem_mib += in_fleet[index].second;
  };
  const auto slots_for = [&](std::size_t others_in_flight, std::size_t others_at_risk_waiting) {
    return Slots{others_in_flight, others_at_risk_waiting, &slot_queue,
                 sizing::fleetMemPerCore(fleet_cpus, std::max(fleet_mem_mib, 0.0))};
  };
  const auto update_waiting = [&](std::size_t rank) {
    const AppReplay& app = apps[by_id[rank]];
    if (app.waitsForSlot()) {
      waiting_for_slot.insert(rank);
    } else {
      waiting_for_slot.erase(rank);
    }
    if (app.slotClaim()) {
      slot_queue.wait(trace.apps[by_id[rank]].app_id, *app.slotClaim());
      claimed[by_id[rank]] = true;
    } else if (claimed[by_id[rank]]) {
      slot_queue.leave(trace.apps[by_id[rank]].app_id);
      claimed[by_id[rank]] = false;
    }
    if (app.atRiskWaiting() != waiting[by_id[rank]]) {
      waiting[by_id[rank]] = app.atRiskWaiting();
      if (app.atRiskWaiting()) {
        ++at_risk_waiting;
      } else {
        --at_risk_waiting;
      }
    }
  };
  Hosts hosts(options.host_cores, options.host_mem_mib, apps.size());
  std::vector<HostContainer> on_host;
  std::vector<std::size_t> retry_order;
  while (!queue.empty()) {
    const auto [at, rank] = queue.top();
    queue.pop();
    in_flight.erase(in_flight.begin(), in_flight.upper_bound(at));
    if (rank == kSlotFreed) {
      // The sizer's next cycle gives the slot to the apps waiting for one,
      // on what they showed last (those whose point came at this time have
      // had their say): the apps at risk in the order of their ids, then
      // the others by their claims (the sizer goes through them all; this
      // asks the likeliest first).
      retry_order.assign(waiting_for_slot.begin(), waiting_for_slot.end());
      // (--slot-order ids: no claims, the ids' order.)
      const double mem_per_core = slots_for(0, 0).fleet_mem_per_core;
      if (slot_queue.size() > 0)
        std::stable_sort(retry_order.begin(), retry_order.end(), [&](std::size_t a, std::size_t b) {
          const bool risk_a = waiting[by_id[a]];
          const bool risk_b = waiting[by_id[b]];
          if (risk_a != risk_b) return risk_a;
          const auto& claim_a = apps[by_id[a]].slotClaim();
          const auto& claim_b = apps[by_id[b]].slotClaim();
          if (claim_a.has_value() != claim_b.has_value()) return !claim_a.has_value();
          return claim_a && sizing::claimsFirst(trace.apps[by_id[a]].app_id, *claim_a, trace.apps[by_id[b]].app_id,
                                                *claim_b, mem_per_core);
        });
      for (const std::size_t next_rank : retry_order) {
        const std::size_t index = by_id[next_rank];
        AppReplay& app = apps[index];
        if (app.decidedAt() == at) continue;
        const std::optional<TimePoint> until =
            app.retry(at, slots_for(in_flight.size(), at_risk_waiting - (waiting[index] ? 1 : 0)));
        update_waiting(next_rank);
        update_fleet(index);
        if (until) {
          // The slot is taken.
          started(until);
          break;
        }
      }
      continue;
    }
    const std::size_t index = by_id[rank];
    AppReplay& app = apps[index];
    const std::optional<TimePoint> own = app.pendingUntil();
    const std::size_t others = in_flight.size() - (own && *own > at ? 1 : 0);
    if (app.advance() && options.host_cores > 0)
      hosts.place(index, app.container(true).request_cores, app.memRequest());
    const HostContainer self = app.container(true);
    // Its host's CPU: each container up to its quota while the host has it,
    // shared out (isolation.h) when the host is short; the other containers
    // at their last points.
    CpuOnHost cpu;
    const auto capped = [](const HostContainer& c) {
      const double demand = std::max(c.demand_cores, 0.0);
      return c.limit_cores ? std::min(demand, *c.limit_cores) : demand;
    };
    const double wanted = options.host_cores > 0 ? hosts.hostWants(index, capped(self)) : 0;
    if (options.host_cores > 0 && wanted > options.host_cores) {
      const auto& neighbours = hosts.neighbours(index);
      on_host.clear();
      for (std::size_t other : neighbours) on_host.push_back(other == index ? self : apps[other].container(false));
      const auto at_self = std::find(neighbours.begin(), neighbours.end(), index) - neighbours.begin();
      cpu = shareHostCpu(on_host, options.host_cores)[static_cast<std::size_t>(at_self)];
    } else {
      const CpuUnderLimit alone = self.limit_cores
                                      ? cpuUnderLimit(self.demand_cores, *self.limit_cores, CpuIsolation::kCfs)
                                      : cpuUnderLimit(self.demand_cores, self.request_cores, CpuIsolation::kShares);
      static_cast<CpuUnderLimit&>(cpu) = alone;
      cpu.burst_cores = std::max(alone.used_cores - self.request_cores, 0.0);
    }
    // Its host's memory: beyond it, the kernel kills the container furthest
    // above its request (a burstable one; the others are within theirs).
    bool host_oom = false;
    if (options.host_cores > 0 && options.host_mem_mib > 0 && app.memUse(true).second > 0) {
      double used = 0;
      double furthest = 0;
      for (std::size_t other : hosts.neighbours(index)) {
        const auto [held, above] = apps[other].memUse(other == index);
        used += held;
        if (other != index) furthest = std::max(furthest, above);
      }
      host_oom = used > options.host_mem_mib && app.memUse(true).second >= furthest;
    }
    const std::optional<double> host_busy =
        options.host_cores > 0 ? std::optional(std::min(wanted / options.host_cores, 1.0)) : std::nullopt;
    const std::size_t at_risk_others = at_risk_waiting - (waiting[index] ? 1 : 0);
    started(app.step(at, slots_for(others, at_risk_others), cpu, host_oom, host_busy));
    update_waiting(rank);
    update_fleet(index);
    if (options.host_cores > 0) hosts.setWants(index, capped(app.container(false)));
    if (app.done()) {
      if (options.host_cores > 0) hosts.remove(index);
    } else {
      queue.emplace(app.nextAt(), rank);
    }
  }
  for (std::size_t i = 0; i < apps.size(); ++i) {
    AppResult one = std::move(apps[i]).finish();
    result.cpu.add(one.cpu);
    result.mem.add(one.mem);
    result.redeploys += one.redeploys;
    result.oom_kills += one.oom_kills;
    result.host_oom_kills += one.host_oom_kills;
    result.app_days += one.days;
    result.restarts_after_first_redeploy += one.restarts_after_first_redeploy;
    result.app_days_after_first_redeploy += one.days_after_first_redeploy;
    result.samples += trace.apps[i].points.size();
    ++result.apps;
    result.per_app.push_back(std::move(one));
  }
  return result;
}

std::vector<std::string> notDominating(const PolicyResult& a, const PolicyResult& b) {
  std::vector<std::string> worse;
  // Rates of the same counts may differ in their last bits (the days are
  // summed per app): compare them with a relative tolerance.
  const auto more = [](double x, double y) { return x > y * (1 + 1e-9) + 1e-12; };
  if (a.cpu.reserved_hours >= b.cpu.reserved_hours) worse.emplace_back("cpu.reserved_core_hours");
  if (more(a.cpu.insufficientPct(), b.cpu.insufficientPct())) worse.emplace_back("cpu.insufficient_sample_pct");
  if (a.mem.samples > 0 && b.mem.samples > 0) {
    if (a.mem.reserved_hours >= b.mem.reserved_hours) worse.emplace_back("mem.reserved_gib_hours");
    if (more(a.mem.insufficientPct(), b.mem.insufficientPct())) worse.emplace_back("mem.insufficient_sample_pct");
  }
  if (more(a.redeploysPerAppDay(), b.redeploysPerAppDay())) worse.emplace_back("redeploys_per_app_day");
  return worse;
}

std::string resultJson(const PolicyResult& result) {
  rapidjson::StringBuffer buffer;
  json::Writer writer(buffer);
  writer.StartObject();
  json::writeKey(writer, "policy");
  json::writeString(writer, result.policy);
  json::writeKey(writer, "apps");
  writer.Uint64(result.apps);
  json::writeKey(writer, "samples");
  writer.Uint64(result.samples);
  json::writeKey(writer, "days");
  writer.Double(result.days);
  json::writeKey(writer, "cpu_isolation");
  json::writeString(writer, cpuIsolationName(result.cpu_isolation));
  json::writeKey(writer, "cpu");
  writeResource(writer, result.cpu, "core", true);
  json::writeKey(writer, "mem");
  writeResource(writer, result.mem, "gib", false);
  json::writeKey(writer, "redeploys");
  writer.Uint64(result.redeploys);
  json::writeKey(writer, "redeploys_per_app_day");
  writer.Double(result.redeploysPerAppDay());
  json::writeKey(writer, "oom_kills");
  writer.Uint64(result.oom_kills);
  json::writeKey(writer, "host_oom_kills");
  writer.Uint64(result.host_oom_kills);
  json::writeKey(writer, "restarts");
  writer.Uint64(result.restarts());
  json::writeKey(writer, "restarts_per_app_day");
  writer.Double(result.restartsPerAppDay());
  json::writeKey(writer, "restarts_per_app_day_after_first_redeploy");
  if (const std::optional<double> after = result.restartsPerAppDayAfterFirstRedeploy()) {
    writer.Double(*after);
  } else {
    writer.Null();
  }
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

OrderSpread orderSpread(const std::vector<PolicyResult>& results) {
  OrderSpread spread;
  spread.policy = results.empty() ? std::string() : results.front().policy;
  spread.orders = results.size();
  const auto over = [&results](const auto& figure) {
    std::vector<double> values;
    values.reserve(results.size());
    for (const PolicyResult& result : results) values.push_back(figure(result));
    if (values.empty()) return Spread{};
    std::sort(values.begin(), values.end());
    const std::size_t middle = values.size() / 2;
    const double median = values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
    return Spread{values.front(), median, values.back()};
  };
  spread.core_hours = over([](const PolicyResult& r) { return r.cpu.reserved_hours; });
  spread.cpu_insufficient_pct = over([](const PolicyResult& r) { return r.cpu.insufficientPct(); });
  spread.cpu_unmet_pct = over([](const PolicyResult& r) { return r.cpu.unmetPct(); });
  spread.gib_hours = over([](const PolicyResult& r) { return r.mem.reserved_hours; });
  spread.oom_kills = over([](const PolicyResult& r) { return static_cast<double>(r.oom_kills); });
  spread.redeploys_per_app_day = over([](const PolicyResult& r) { return r.redeploysPerAppDay(); });
  spread.restarts_per_app_day = over([](const PolicyResult& r) { return r.restartsPerAppDay(); });
  return spread;
}

std::string orderSpreadJson(const OrderSpread& spread) {
  rapidjson::StringBuffer buffer;
  json::Writer writer(buffer);
  writer.StartObject();
  json::writeKey(writer, "spread_of");
  json::writeString(writer, spread.policy);
  json::writeKey(writer, "orders");
  writer.Uint64(spread.orders);
  const auto figure = [&writer](const char* name, const Spread& s) {
    json::writeKey(writer, name);
    writer.StartObject();
    json::writeKey(writer, "min");
    writer.Double(s.min);
    json::writeKey(writer, "median");
    writer.Double(s.median);
    json::writeKey(writer, "max");
    writer.Double(s.max);
    writer.EndObject();
  };
  figure("reserved_core_hours", spread.core_hours);
  figure("cpu_insufficient_sample_pct", spread.cpu_insufficient_pct);
  figure("cpu_unmet_demand_pct", spread.cpu_unmet_pct);
  figure("reserved_gib_hours", spread.gib_hours);
  figure("oom_kills", spread.oom_kills);
  figure("redeploys_per_app_day", spread.redeploys_per_app_day);
  figure("restarts_per_app_day", spread.restarts_per_app_day);
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

PolicySpec rightsizePolicy(RightsizePolicyOptions options) {
  return PolicySpec{"rightsize", [options = std::move(options)](const std::string& app_id, const Reservation&) {
                      return std::make_unique<RightsizeSimPolicy>(app_id, options);
                    }};
}

}  // namespace rightsize::simulate
