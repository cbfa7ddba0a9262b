#include "rightsize/report/prometheus_usage.h"

#include <cmath>
#include <map>

#include "rightsize/core/text.h"
#include "rightsize/core/units.h"

namespace rightsize::report {
namespace {

// The latest value per app_id of an instant query's answer (the largest,
// should several envs match).
std::map<std::string, double> byAppId(const QueryResult& result, const char* label = "app_id") {
  std::map<std::string, double> out;
  for (const Series& series : result.series) {
    const auto id = series.labels.find(label);
    if (id == series.labels.end() || id->second.empty() || series.points.empty()) continue;
    const double value = series.points.back().value;
    const auto [it, inserted] = out.emplace(id->second, value);
    if (!inserted) it->second = std::max(it->second, value);
  }
  return out;
}

}  // namespace

sizing::UsageReading PrometheusUsageSource::read(const std::vector<sizing::MarathonApp>& apps, TimePoint now) {
  sizing::UsageReading reading;
  const std::string extra = options_.selector.empty() ? "" : "," + options_.selector;
  const auto series = [&](const std::string& name) { return name + "{app_id!=\"\"" + extra + "}"; };
  const std::string falling_behind = "rightsize_kafka_group_status{status=~\"WARN|STALL|STOP|REWIND\"" + extra + "}";
  enum Figure {
    kCpuAvg,
    kCpuP95,
    kThrottled,
    kThrottledCores,
    kThrottledCoresTasks,
    kMem,
    kMemPeak,
    kCpuReserved,
    kMemReserved,
    kMemLimit,
    kTasks,
    kCount
  };
  const std::string queries[kCount] = {
      series("app:rightsize_container_cpu_used_cores:max_avg5m"),
      series("app:rightsize_container_cpu_used_cores:max_p95_5m"),
      series("app:rightsize_container_cpu_throttled_ratio:max_avg5m"),
      series("app:rightsize_container_cpu_throttled_cores:max_avg5m"),
      series("app:rightsize_container_cpu_throttled_cores:count"),
      series("app:rightsize_container_memory_used_bytes:max_avg5m"),
      series("app:rightsize_container_memory_used_bytes:max_max5m"),
      series("app:rightsize_container_cpu_reserved_cores:max"),
      series("app:rightsize_container_memory_reserved_bytes:max"),
      series("app:rightsize_container_memory_limit_bytes:max"),
      series("app:rightsize_container_cpu_reserved_cores:count"),
  };
  std::map<std::string, double> figures[kCount];
  for (int i = 0; i < kCount; ++i) {
    auto answer = prometheus_.query(queries[i], now);
    if (!answer) {
      reading.errors.push_back(answer.error());
      return reading;  // no figures at all: no decision on half of them
    }
    if (answer->dropped_points > 0) {
      reading.errors.emplace_back(ErrorKind::kInvalidValue,
                                  "Prometheus query " + queries[i] + ": " + std::to_string(answer->dropped_points) +
                                      " values were not finite numbers (NaN, Inf); those apps have no figure");
    }
    figures[i] = byAppId(*answer);
  }
  std::map<std::string, double> lagging_apps;
  std::map<std::string, double> lagging_groups;
  if (auto lag = prometheus_.query("max by (app_id, group) (" + falling_behind + ")", now)) {
    lagging_apps = byAppId(*lag);
    lagging_groups = byAppId(*lag, "group");
  } else {
    reading.errors.push_back(lag.error());
    return reading;
  }
  reading.ok = true;
  const auto value = [&](Figure figure, const std::string& app_id) -> std::optional<double> {
    const auto found = figures[figure].find(app_id);
    return found == figures[figure].end() ? std::nullopt : std::optional(found->second);
  };
  for (const sizing::MarathonApp& app : apps) {
    const std::optional<double> avg = value(kCpuAvg, app.id);
    if (!avg) continue;  // no figures: as an agent with no rate yet
    const std::optional<double> p95 = value(kCpuP95, app.id);
    const std::optional<double> throttled = value(kThrottled, app.id);
    const std::optional<double> throttled_cores = value(kThrottledCores, app.id);
    const std::optional<double> mem = value(kMem, app.id);
    const std::optional<double> peak = value(kMemPeak, app.id);
    std::string why;
    if (*avg > options_.limits.max_cpus || p95.value_or(0) > options_.limits.max_cpus ||
        throttled_cores.value_or(0) > options_.limits.max_cpus) {
      why = "CPU use above the ceiling of " + formatExact(options_.limits.max_cpus) + " cores (--max-cpus)";
    } else if (throttled.value_or(0) > 1) {
      why = "a throttled ratio above 1";
    } else if (throttled_cores.value_or(0) < 0) {
      why = "negative throttled cores";
    } else if (std::max(mem.value_or(0), peak.value_or(0)) / kMiB > options_.limits.max_mem_mib) {
      why = "memory above the ceiling of " + formatExact(options_.limits.max_mem_mib) + " MiB (--max-mem)";
    }
    if (!why.empty()) {
      reading.errors.emplace_back(ErrorKind::kInvalidValue,
                                  "Prometheus: app " + app.id + ": " + why + "; its figures are ignored");
      continue;
    }
    sizing::AppUsage usage;
    usage.tasks = static_cast<int>(std::lround(value(kTasks, app.id).value_or(1)));
    usage.cpu_used_avg = *avg;
    usage.cpu_used_p95 = p95.value_or(*avg);
    usage.cpu_throttled = throttled.value_or(0);
    // Known only when every task reporting publishes it (the agents' rule:
    // a task whose agent is older than the figure leaves it unknown).
    if (value(kThrottledCoresTasks, app.id).value_or(0) >= value(kTasks, app.id).value_or(1)) {
      usage.cpu_throttled_cores = throttled_cores;
    }
    if (mem) usage.mem_used_mib = *mem / kMiB;
    if (mem || peak) usage.mem_peak_mib = std::max(mem.value_or(0), peak.value_or(0)) / kMiB;
    if (const auto reserved = value(kCpuReserved, app.id);
        reserved && std::abs(*reserved - (app.cpus + sizing::kExecutorCpus)) < 0.01) {
      usage.cpu_overhead = sizing::kExecutorCpus;
    }
    const std::optional<double> mem_reserved = value(kMemReserved, app.id);
    if (mem_reserved && std::abs(*mem_reserved / kMiB - (app.mem_mib + sizing::kExecutorMemMib)) < 1) {
      usage.mem_overhead_mib = sizing::kExecutorMemMib;
    }
    // Near the memory it is killed at: the hard limit where the agents
    // report one, else the request (the same figure then).
    const std::optional<double> hard = value(kMemLimit, app.id) ? value(kMemLimit, app.id) : mem_reserved;
    if (mem && hard && *hard > 0 && *mem >= 0.95 * *hard) usage.mem_near_limit = true;
    usage.lag_growing = lagging_apps.contains(app.id);
    if (const auto groups = app.labels.find("rightsize.kafka.groups"); groups != app.labels.end()) {
      for (const auto& group : splitList(groups->second, ',')) usage.lag_growing |= lagging_groups.contains(group);
    }
    reading.usage.emplace(app.id, usage);
  }
  return reading;
}

}  // namespace rightsize::report
