#include "rightsize/simulate/simulate.h"

#include <algorithm>
#include <cmath>

#include "rightsize/core/json.h"
#include "rightsize/core/stats.h"
#include "rightsize/core/text.h"
#include "rightsize/sizing/resize_flow.h"

namespace rightsize::simulate {

void accountStep(ResourceFigures& figures, double used, double reserved, double static_reserved, double hours) {
  figures.reserved_hours += reserved * hours;
  figures.static_reserved_hours += static_reserved * hours;
  figures.used_hours += used * hours;
  figures.slack_hours += std::max(reserved - used, 0.0) * hours;
  figures.shortfall_hours += std::max(used - reserved, 0.0) * hours;
  ++figures.samples;
  if (used > reserved) ++figures.insufficient_samples;
}

namespace {

constexpr double kHour = 3600;

Reservation reservationOf(const TracePoint& point) {
  Reservation r;
  r.cpus = point.cpu_reserved_cores;
  if (point.memory_reserved_mib && point.memory_used_mib) r.mem_mib = point.memory_reserved_mib;
  return r;
}

AppResult replayApp(const AppTrace& app, const PolicySpec& spec, const ReplayOptions& options) {
  AppResult result;
  result.app_id = app.app_id;
  if (app.points.empty()) return result;
  Reservation current = reservationOf(app.points.front());
  auto policy = spec.make(app.app_id, current);
  bool pending = false;  // a redeploy to `next` takes effect at `next_at`
  Reservation next;
  TimePoint next_at{};
  Duration covered{};
  for (std::size_t i = 0; i < app.points.size(); ++i) {
    const TracePoint& point = app.points[i];
    const Duration step = app.stepOf(i);
    if (pending && next_at <= point.at) {
      current = next;
      pending = false;
    }
    covered += step;
    const double hours = toSeconds(step) / kHour;
    Observation observation;
    observation.at = point.at;
    observation.step = step;
    observation.reserved = current;
    const CpuUnderLimit cpu = cpuUnderLimit(point.cpu_used_cores, current.cpus, options.cpu_isolation);
    observation.cpu_used_cores = cpu.used_cores;
    observation.cpu_throttled_ratio = cpu.throttled_ratio;
    observation.cpu_demand_cores = point.cpu_used_cores;
    observation.cpu_starved = point.cpu_used_cores > current.cpus;
    accountStep(result.cpu, point.cpu_used_cores, current.cpus, point.cpu_reserved_cores, hours);
    result.cpu.unmet_hours += cpu.unmet_cores * hours;
    if (point.memory_used_mib && current.mem_mib) {
      observation.oom = oomKilled(*point.memory_used_mib, *current.mem_mib);
      observation.mem_used_mib = std::min(*point.memory_used_mib, *current.mem_mib);
      if (observation.oom) ++result.oom_kills;
      accountStep(result.mem, *point.memory_used_mib / 1024, *current.mem_mib / 1024,
                  point.memory_reserved_mib.value_or(*current.mem_mib) / 1024, hours);
    }
    if (options.keep_series) {
      result.series.push_back({point.at, point.cpu_used_cores, current.cpus, point.memory_used_mib, current.mem_mib});
    }
    Reservation wanted = policy->observe(observation, pending);
    if (!current.mem_mib) wanted.mem_mib.reset();
    if (!pending && !(wanted == current) && std::isfinite(wanted.cpus) && wanted.cpus > 0) {
      ++result.redeploys;
      if (options.deploy_delay <= Duration::zero()) {
        current = wanted;
      } else {
        pending = true;
        next = wanted;
        next_at = point.at + options.deploy_delay;
      }
    }
  }
  result.days = toSeconds(covered) / 86400;
  return result;
}

void writeResource(json::Writer& writer, const ResourceFigures& f, const char* unit, bool cpu) {
  writer.StartObject();
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
  writer.EndObject();
}

// The sizer's own per-app flow (sizing/resize_flow.h) on a simulated
// Marathon: the app as Marathon would list it (the reservation in force, its
// one task running), its record, the figures an agent would report of the
// samples, and the replay's redeploy in flight as the app's deployment.
// Cooldowns, the deployment slot, in-flight deployments and the hold after a
// failed one are the sizer's code, not a re-implementation; Marathon accepts
// every PUT.
class RightsizeSimPolicy final : public SimPolicy {
 public:
  RightsizeSimPolicy(const std::string& app_id, const RightsizePolicyOptions& options)
      : options_(options),
        cpu_avg_(options.window),
        mem_avg_(options.window),
        cpu_window_(options.window, 4096),
        mem_window_(options.window, 4096),
        history_(options.history) {
    flow_.policy = options.policy;
    app_.id = app_id;
    app_.version = "replay";
    app_.instances = 1;
    app_.tasks_running = 1;
    record_.app_id = app_id;
  }

  Reservation observe(const Observation& o, bool deployment_pending) override {
    cpu_avg_.update(o.at, o.cpu_used_cores);
    cpu_window_.add(o.at, o.cpu_used_cores);
    if (o.mem_used_mib) {
      mem_avg_.update(o.at, *o.mem_used_mib);
      mem_window_.add(o.at, *o.mem_used_mib);
    }
    sizing::AppUsage usage;
    usage.tasks = 1;
    usage.cpu_used_avg = cpu_avg_.value();
    usage.cpu_used_p95 = cpu_window_.quantile(0.95);
    usage.cpu_throttled = o.cpu_throttled_ratio;
    if (o.mem_used_mib && o.reserved.mem_mib) {
      usage.mem_used_mib = mem_avg_.value();
      usage.mem_peak_mib = mem_window_.max();
      usage.mem_near_limit = *o.mem_used_mib >= 0.95 * *o.reserved.mem_mib;
    }
    history_.add(o.at, usage);
    usage = history_.summarize(o.at, usage);

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
      kill.limit_mib = o.reserved.mem_mib;
      app_.last_task_failure = std::move(kill);
    }
    app_.cpus = o.reserved.cpus;
    // A trace without memory: the app's mem is whatever the sizer last set.
    if (o.reserved.mem_mib) app_.mem_mib = *o.reserved.mem_mib;
    std::optional<std::vector<sizing::MarathonDeployment>> deployments(std::in_place);
    if (deployment_pending) deployments->push_back({record_.deployment_id, {app_.id}});
    sizing::AppInput input{.app = app_, .settings = options_.settings, .deployments = deployments};
    input.enabled = true;
    input.usage = usage;
    input.may_write = true;
    input.in_flight = record_.intent_cpus ? 1 : 0;
    input.failed_attempts = failed_attempts_;
    input.intent_id = "replay-" + std::to_string(resizes_ + 1);
    input.now = o.at;
    sizing::AppStep step = sizing::stepApp(input, record_, flow_);
    Reservation wanted = o.reserved;
    if (const std::optional<sizing::ResizeRequest> put = step.put) {
      ++resizes_;
      std::optional<Error> error;
      sizing::UpdateOutcome accepted;
      accepted.deployment_id = "replay-deployment-" + std::to_string(resizes_);
      (void)sizing::afterPut(step, input, accepted, flow_, error);
      app_.version = "replay-" + std::to_string(resizes_);
      wanted.cpus = put->cpus;
      if (o.reserved.mem_mib) {
        wanted.mem_mib = put->mem_mib;
      } else {
        app_.mem_mib = put->mem_mib;
      }
    }
    record_ = std::move(step.record);
    failed_attempts_ = step.failed_attempts;
    return wanted;
  }

 private:
  RightsizePolicyOptions options_;
  sizing::FlowOptions flow_;
  TimeEwma cpu_avg_;
  TimeEwma mem_avg_;
  SlidingWindow cpu_window_;
  SlidingWindow mem_window_;
  sizing::UsageHistory history_;
  sizing::MarathonApp app_;
  sizing::AppRecord record_;
  std::string running_version_;
  int failed_attempts_ = 0;
  std::uint64_t resizes_ = 0;
  std::uint64_t oom_kills_ = 0;
};

}  // namespace

void ResourceFigures::add(const ResourceFigures& other) {
  reserved_hours += other.reserved_hours;
  static_reserved_hours += other.static_reserved_hours;
  used_hours += other.used_hours;
  slack_hours += other.slack_hours;
  shortfall_hours += other.shortfall_hours;
  unmet_hours += other.unmet_hours;
  samples += other.samples;
  insufficient_samples += other.insufficient_samples;
}

PolicyResult replay(const Trace& trace, const PolicySpec& spec, const ReplayOptions& options) {
  PolicyResult result;
  result.policy = spec.name;
  result.days = toSeconds(trace.end - trace.start) / 86400;
  result.cpu_isolation = options.cpu_isolation;
  result.per_app.reserve(trace.apps.size());
  for (const auto& app : trace.apps) {
    AppResult one = replayApp(app, spec, options);
    result.cpu.add(one.cpu);
    result.mem.add(one.mem);
    result.redeploys += one.redeploys;
    result.oom_kills += one.oom_kills;
    result.app_days += one.days;
    result.samples += app.points.size();
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
  json::writeKey(writer, "restarts");
  writer.Uint64(result.restarts());
  json::writeKey(writer, "restarts_per_app_day");
  writer.Double(result.restartsPerAppDay());
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

PolicySpec rightsizePolicy(RightsizePolicyOptions options) {
  return PolicySpec{"rightsize", [options](const std::string& app_id, const Reservation&) {
                      return std::make_unique<RightsizeSimPolicy>(app_id, options);
                    }};
}

}  // namespace rightsize::simulate
