#include "rightsize/sizing/agent_reader.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <set>
#include <thread>
#include <unordered_map>

#include "rightsize/core/text.h"
#include "rightsize/core/units.h"

namespace rightsize::sizing {

std::vector<wire::Container> parseContainersReport(std::string_view body, std::string_view source,
                                                   std::vector<Error>& errors) {
  return wire::decodeContainersReport(body, source, errors).containers;
}

std::vector<wire::LagGroup> parseLagReport(std::string_view body, std::string_view source, std::vector<Error>& errors) {
  return wire::decodeLagReport(body, source, errors).groups;
}

HttpAgentSource::HttpAgentSource(HttpClient& http, Duration timeout, std::size_t parallel)
    : http_(http), timeout_(timeout), parallel_(std::max<std::size_t>(1, parallel)) {}

AgentReport HttpAgentSource::readOne(const std::string& url) {
  AgentReport report;
  report.url = url;
  auto containers = http_.get(url + "/v1/containers", timeout_);
  if (!containers) {
    report.errors.push_back(containers.error());
    return report;
  }
  if (containers->status != 200) {
    report.errors.emplace_back(ErrorKind::kHttpStatus,
                               "GET " + url + "/v1/containers: HTTP " + std::to_string(containers->status));
    return report;
  }
  report.reachable = true;
  wire::ContainersReport decoded =
      wire::decodeContainersReport(containers->body, url + "/v1/containers", report.errors);
  report.containers = std::move(decoded.containers);
  report.host_used_cores = decoded.host_used_cores;
  report.host_capacity_cores = decoded.host_capacity_cores;
  report.host = decoded.host;
  report.host_capacity_bytes = decoded.host_capacity_bytes;
  report.place = decoded.place;
  auto lag = http_.get(url + "/v1/lag", timeout_);
  if (lag && lag->status == 200) {
    report.lag_groups = parseLagReport(lag->body, url + "/v1/lag", report.errors);
  } else if (!lag) {
    report.errors.push_back(lag.error());
  }
  return report;
}

std::vector<AgentReport> HttpAgentSource::read(const std::vector<std::string>& agent_urls) {
  std::vector<AgentReport> reports(agent_urls.size());
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < agent_urls.size(); i = next++) reports[i] = readOne(agent_urls[i]);
  };
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < std::min(parallel_, agent_urls.size()); ++t) threads.emplace_back(worker);
  for (auto& thread : threads) thread.join();
  return reports;
}

std::vector<std::string> agentUrlsFromApp(const MarathonApp& agent_app) {
  std::vector<std::string> urls;
  for (const auto& task : agent_app.tasks) {
    if (task.host.empty() || task.ports.empty()) continue;
    std::string host = task.host;
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    urls.push_back("http://" + host + ":" + std::to_string(task.ports.front()));
  }
  std::sort(urls.begin(), urls.end());
  urls.erase(std::unique(urls.begin(), urls.end()), urls.end());
  return urls;
}

namespace {

// The memory a container is killed above: its hard limit (none when
// unlimited), or what an agent older than limit_bytes reports as reserved.
std::optional<double> hardLimitOf(const wire::MemFigures& mem) {
  return mem.limit_reported ? mem.limit_bytes : mem.reserved_bytes;
}

// Why a task's figures cannot be true, or "" when they can.
std::string implausible(const wire::CpuFigures& cpu, const wire::MemFigures& mem, const FigureLimits& limits) {
  const auto number = [](double value) { return formatExact(value); };
  for (const auto& [name, value] :
       {std::pair{"cpu.used_cores_avg", cpu.used_cores_avg}, std::pair{"cpu.used_cores_p95", cpu.used_cores_p95},
        std::pair{"cpu.throttled_cores", cpu.throttled_cores}}) {
    if (value && *value > limits.max_cpus) {
      return std::string(name) + " " + number(*value) + " is above the ceiling of " + number(limits.max_cpus) +
             " cores (--max-cpus)";
    }
  }
  if (cpu.throttled_ratio && *cpu.throttled_ratio > 1) {
    return "cpu.throttled_ratio " + number(*cpu.throttled_ratio) + " is above 1";
  }
  for (const auto& [name, value] :
       {std::pair{"mem.used_bytes", mem.used_bytes}, std::pair{"mem.used_bytes_peak", mem.used_bytes_peak}}) {
    if (!value) continue;
    if (*value / kMiB > limits.max_mem_mib) {
      return std::string(name) + " " + number(*value) + " is above the ceiling of " + number(limits.max_mem_mib) +
             " MiB (--max-mem)";
    }
    if (const std::optional<double> hard = hardLimitOf(mem);
        hard && *hard > 0 && *value > *hard * limits.mem_over_limit + 64 * kMiB) {
      return std::string(name) + " " + number(*value) + " is above the container's memory limit of " + number(*hard) +
             " bytes";
    }
  }
  return {};
}

// A consumer group in one of these holds its apps' reservations.
bool fallingBehind(std::optional<wire::LagStatus> status) {
  if (!status) return false;
  switch (*status) {
    case wire::LagStatus::kWarn:
    case wire::LagStatus::kStall:
    case wire::LagStatus::kStop:
    case wire::LagStatus::kRewind:
      return true;
    case wire::LagStatus::kOk:
    case wire::LagStatus::kNoCommit:
      return false;
  }
  return false;
}

}  // namespace

std::map<std::string, AppUsage> summarize(const std::vector<AgentReport>& reports, const std::vector<MarathonApp>& apps,
                                          const FigureLimits& limits, std::vector<Error>* refused) {
  // Every task Marathon lists, with its app (task ids are unique).
  // A hash map; for a few tasks (`rightsize simulate` summarizes one app's
  // one task at every step) a list searched in order, which finds the same
  // app (the first listed with the id) without hashing or allocating.
  constexpr std::size_t kFewTasks = 8;
  std::unordered_map<std::string_view, const MarathonApp*> known_tasks;
  std::array<std::pair<std::string_view, const MarathonApp*>, kFewTasks> few_tasks;
  std::size_t task_count = 0;
  for (const auto& app : apps) task_count += app.tasks.size();
  const bool few = task_count <= kFewTasks;
  if (!few) known_tasks.reserve(task_count);
  std::size_t few_count = 0;
  const auto appOfTask = [&](std::string_view task_id) -> const MarathonApp* {
    if (!few) {
      const auto known = known_tasks.find(task_id);
      return known == known_tasks.end() ? nullptr : known->second;
    }
    for (std::size_t i = 0; i < few_count; ++i) {
      if (few_tasks[i].first == task_id) return few_tasks[i].second;
    }
    return nullptr;
  };
  // The apps each consumer group guards, by the apps' labels.
  std::unordered_map<std::string, std::vector<const MarathonApp*>> labelled_groups;
  for (const auto& app : apps) {
    for (const auto& task : app.tasks) {
      if (!few) {
        known_tasks.emplace(task.id, &app);
      } else if (appOfTask(task.id) == nullptr) {
        few_tasks[few_count++] = {task.id, &app};
      }
    }
    if (auto label = app.labels.find("rightsize.kafka.groups"); label != app.labels.end()) {
      for (const auto& group : splitList(label->second, ',')) labelled_groups[group].push_back(&app);
    }
  }
  std::map<std::string, AppUsage> out;
  auto raise = [](std::optional<double>& into, std::optional<double> value) {
    if (value && (!into || *value > *into)) into = value;
  };
  // Apps with a task whose agent does not measure the demand its quota
  // held back (an agent older than the figure, mid-rollout): the app's is
  // unknown, not the other tasks' alone.
  std::set<std::string> unmeasured;
  auto fold = [&](const AgentReport& report, const std::string& app_id, const std::string& task_id,
                  const wire::CpuFigures& cpu, const wire::MemFigures& mem) {
    const MarathonApp* const known = appOfTask(task_id);
    if (known == nullptr || known->id != app_id) return;
    if (!cpu.used_cores_avg) return;  // a container seen once: no rate yet
    if (const std::string why = implausible(cpu, mem, limits); !why.empty()) {
      if (refused != nullptr) {
        refused->emplace_back(ErrorKind::kInvalidValue, report.url + "/v1/containers: task " + task_id + " of " +
                                                            app_id + ": " + why + "; its figures are ignored");
      }
      return;
    }
    AppUsage& usage = out[app_id];
    const MarathonApp& app = *known;
    if (cpu.reserved_cores && std::abs(*cpu.reserved_cores - (app.cpus + kExecutorCpus)) < 0.01) {
      usage.cpu_overhead = kExecutorCpus;
    }
    if (mem.reserved_bytes && std::abs(*mem.reserved_bytes / kMiB - (app.mem_mib + kExecutorMemMib)) < 1) {
      usage.mem_overhead_mib = kExecutorMemMib;
    }
    ++usage.tasks;
    raise(usage.cpu_used_avg, cpu.used_cores_avg);
    usage.cpu_used_sum = usage.cpu_used_sum.value_or(0) + *cpu.used_cores_avg;
    raise(usage.cpu_used_p95, cpu.used_cores_p95);
    usage.cpu_throttled = std::max(usage.cpu_throttled, cpu.throttled_ratio.value_or(0));
    raise(usage.cpu_throttled_cores, cpu.throttled_cores);
    if (!cpu.throttled_cores) unmeasured.insert(app_id);
    if (mem.used_bytes) raise(usage.mem_used_mib, *mem.used_bytes / kMiB);
    if (mem.used_bytes_peak) raise(usage.mem_peak_mib, *mem.used_bytes_peak / kMiB);
    if (const std::optional<double> hard = hardLimitOf(mem);
        mem.used_bytes && hard && *hard > 0 && *mem.used_bytes >= 0.95 * *hard) {
      usage.mem_near_limit = true;
    }
    // The busiest host the app's tasks run on.
    if (report.host_used_cores && report.host_capacity_cores && *report.host_capacity_cores > 0) {
      raise(usage.host_busy, *report.host_used_cores / *report.host_capacity_cores);
    }
  };
  std::map<std::string, AppUsage> lags;  // the lag of the apps' groups, by app
  // A group's status holds its apps; its lag and partitions are what
  // horizontal scaling looks at (several agents may report the same group:
  // the highest lag, the partitions as listed).
  auto lag = [&](AppUsage& usage, const wire::LagGroup& group) {
    if (fallingBehind(group.status)) usage.lag_growing = true;
    if (group.status) usage.lag_reported = true;
    std::set<std::pair<std::string_view, std::int32_t>> partitions;
    for (const auto& partition : group.partitions) {
      partitions.emplace(partition.topic, partition.partition);
      if (partition.lag_seconds && std::isfinite(*partition.lag_seconds) && *partition.lag_seconds >= 0) {
        raise(usage.lag_seconds, partition.lag_seconds);
      }
    }
    if (!partitions.empty()) {
      const int count = static_cast<int>(partitions.size());
      usage.kafka_partitions = usage.kafka_partitions ? std::min(*usage.kafka_partitions, count) : count;
    }
  };
  auto hold = [&](const wire::LagGroup& group) {
    std::set<std::string> consumers;
    if (!group.app_id.empty()) consumers.insert(group.app_id);
    if (auto labelled = labelled_groups.find(group.group); labelled != labelled_groups.end()) {
      for (const MarathonApp* app : labelled->second) consumers.insert(app->id);
    }
    for (const auto& app_id : consumers) lag(lags[app_id], group);
  };
  for (const auto& report : reports) {
    for (const auto& c : report.containers) fold(report, c.app_id, c.task_id, c.cpu, c.mem);
    for (const auto& group : report.lag_groups) hold(group);
  }
  for (const auto& app_id : unmeasured) {
    if (auto found = out.find(app_id); found != out.end()) found->second.cpu_throttled_cores.reset();
  }
  // A group falling behind holds its apps, with figures or without; the
  // lag of the others goes with their figures.
  for (const auto& [app_id, lagged] : lags) {
    auto found = out.find(app_id);
    if (found == out.end()) {
      if (!lagged.lag_growing) continue;
      found = out.emplace(app_id, AppUsage{}).first;
    }
    AppUsage& usage = found->second;
    usage.lag_growing = usage.lag_growing || lagged.lag_growing;
    usage.lag_reported = usage.lag_reported || lagged.lag_reported;
    raise(usage.lag_seconds, lagged.lag_seconds);
    if (lagged.kafka_partitions) {
      usage.kafka_partitions = usage.kafka_partitions ? std::min(*usage.kafka_partitions, *lagged.kafka_partitions)
                                                      : lagged.kafka_partitions;
    }
  }
  return out;
}

}  // namespace rightsize::sizing
