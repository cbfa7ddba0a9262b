#include "rightsize/testing/cluster.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "rightsize/core/json.h"
#include "rightsize/core/units.h"
#include "rightsize/sizing/policy.h"

namespace rightsize::testing {
namespace {

using sizing::kExecutorCpus;
using sizing::kExecutorMemMib;
// Apps without a memory signal get a nominal 1 GiB reservation, 25 % used.
constexpr double kNominalMemMib = 1024;
constexpr double kNominalUsedMib = 256;

// A Mesos ContainerID, reproducible from the order containers start in.
std::string containerId(std::size_t index) {
  char id[64];
  std::snprintf(id, sizeof id, "c0ffee00-%04zx-4000-8000-%012zx", index % 0xffff, index);
  return id;
}

// The container's CPU quota (isolation.h): its resourceLimits.cpus + the
// executor's (none when unlimited), else its request under CFS.
std::optional<double> cpuQuota(const Placement& placement, simulate::CpuIsolation isolation) {
  if (placement.task_cpus_limit) {
    if (std::isinf(*placement.task_cpus_limit)) return std::nullopt;
    return *placement.task_cpus_limit + kExecutorCpus;
  }
  if (isolation == simulate::CpuIsolation::kCfs) return placement.cpus_limit;
  return std::nullopt;
}

// The container's memory hard limit in MiB, in whole MB as Mesos sets it
// with a limit; nullopt when unlimited.
std::optional<double> memoryHardLimitMib(const Placement& placement) {
  if (!placement.task_mem_limit_mib) return static_cast<double>(placement.mem_limit_bytes) / kMiBBytes;
  if (std::isinf(*placement.task_mem_limit_mib)) return std::nullopt;
  return std::floor(std::max(*placement.task_mem_limit_mib + kExecutorMemMib, 0.0));
}

}  // namespace

std::string marathonAppId(std::string_view trace_app_id) {
  std::string id;
  std::string segment;
  const auto flush = [&] {
    while (!segment.empty() && (segment.back() == '-' || segment.back() == '.')) segment.pop_back();
    std::size_t first = 0;
    while (first < segment.size() && (segment[first] == '-' || segment[first] == '.')) ++first;
    if (first < segment.size()) id += "/" + segment.substr(first);
    segment.clear();
  };
  for (const char raw : trace_app_id) {
    const auto c = static_cast<unsigned char>(raw);
    if (c == '/') {
      flush();
    } else if (std::isalnum(c) != 0) {
      segment += static_cast<char>(std::tolower(c));
    } else {
      segment += c == '.' ? '.' : '-';
    }
  }
  flush();
  return id.empty() ? "/app" : id;
}

SimulatedCluster::SimulatedCluster(const Clock& clock, Trace trace, SimulatedClusterOptions options)
    : clock_(clock), trace_(std::move(trace)), options_(std::move(options)), origin_(clock.now()) {}

Expected<std::unique_ptr<SimulatedCluster>> SimulatedCluster::create(const Clock& clock, Trace trace,
                                                                     SimulatedClusterOptions options) {
  if (options.hosts < 1) return Error(ErrorKind::kInvalidArgument, "a cluster needs at least one host");
  if (!(options.host_cores > 0)) return Error(ErrorKind::kInvalidArgument, "a host needs more than 0 cores");
  std::unique_ptr<SimulatedCluster> cluster(new SimulatedCluster(clock, std::move(trace), std::move(options)));
  auto& self = *cluster;
  FakeMarathonOptions marathon;
  marathon.deployment_duration = self.options_.deployment_duration;
  marathon.default_hosts.clear();
  for (int host = 0; host < self.options_.hosts; ++host) {
    auto agent = FakeMesosAgent::create(clock, defaultAgentStateTemplate(), defaultStatisticsTemplate());
    if (!agent) return agent.error();
    (*agent)->setAttribute("instance_type", self.options_.instance_type);
    if (std::isfinite(self.options_.host_cores)) (*agent)->setHostCpus(self.options_.host_cores);
    self.agents_.push_back(std::move(*agent));
    marathon.default_hosts.push_back(self.hostName(host));
  }
  self.marathon_ = std::make_unique<FakeMarathon>(clock, marathon);
  self.lives_.assign(self.trace_.apps.size(), Life::kUnborn);
  for (std::size_t i = 0; i < self.trace_.apps.size(); ++i) {
    const AppTrace& app = self.trace_.apps[i];
    const std::string id = marathonAppId(app.app_id);
    if (!self.app_index_.emplace(id, i).second) {
      return Error(ErrorKind::kInvalidArgument, "trace apps " + self.trace_.apps[self.app_index_[id]].app_id + " and " +
                                                    app.app_id + " are both Marathon app " + id);
    }
    self.app_ids_.push_back(id);
    self.observed_after_.push_back(app.longestObserved());
    // The apps the trace begins with ran before it; the others are created
    // when theirs begins (update()).
    if (!app.beganWithTrace(self.trace_.start)) continue;
    if (Status added = self.marathon_->addApp(self.specOf(i, self.options_.tasks_running_for)); !added) {
      return added.error().withContext("trace app " + app.app_id);
    }
    self.lives_[i] = Life::kLiving;
  }
  self.update();
  return cluster;
}

FakeAppSpec SimulatedCluster::specOf(std::size_t index, Duration running_for) const {
  const TracePoint& first = trace_.apps[index].points.front();
  FakeAppSpec spec;
  spec.id = app_ids_[index];
  spec.cpus = first.cpu_reserved_cores;
  spec.mem_mib = first.memory_reserved_mib.value_or(kNominalMemMib);
  spec.labels = options_.app_labels;
  spec.running_for = running_for;
  spec.hosts = {hostName(static_cast<int>(index % static_cast<std::size_t>(options_.hosts)))};
  if (auto limits = options_.resource_limits.find(spec.id); limits != options_.resource_limits.end()) {
    spec.resource_limits = limits->second;
  }
  return spec;
}

void SimulatedCluster::followLives(TimePoint at) {
  for (std::size_t i = 0; i < trace_.apps.size(); ++i) {
    const AppTrace& app = trace_.apps[i];
    if (lives_[i] == Life::kUnborn && app.points.front().at <= at) {
      // Deployed as its trace begins: its tasks are new.
      if (marathon_->addApp(specOf(i, Duration::zero())).ok()) {
        lives_[i] = Life::kLiving;
      } else {
        lives_[i] = Life::kEnded;
        ++totals_.apps_refused;
      }
    }
    if (lives_[i] == Life::kLiving && app.points.back().at + app.stepOf(app.points.size() - 1) <= at &&
        app.points.back().at < trace_.end) {
      // Its trace ended: destroyed as an operator would (a sizer's
      // deployment in flight is canceled); its containers go below.
      HttpRequest request;
      request.method = "DELETE";
      request.path = "/v2/apps" + app_ids_[i];
      request.query = "force=true";
      (void)marathon_->handle(request);
      lives_[i] = Life::kEnded;
    }
  }
}

Status SimulatedCluster::start() {
  if (Status started = marathon_->start(HostPort{"127.0.0.1", 0}); !started) return started;
  for (auto& agent : agents_) {
    if (Status started = agent->start(HostPort{"127.0.0.1", 0}); !started) return started;
  }
  return Status::success();
}

std::optional<SimulatedCluster::VersionResources> SimulatedCluster::versionResources(const std::string& app_id,
                                                                                     const std::string& version) {
  HttpRequest request;
  request.method = "GET";
  request.path = "/v2/apps" + app_id + "/versions/" + version;
  const HttpResponse response = marathon_->handle(request);
  auto document = json::parse(response.body, request.path);
  if (response.status != 200 || !document || !document->IsObject()) return std::nullopt;
  const json::Value* cpus = json::find(*document, "cpus");
  const json::Value* mem = json::find(*document, "mem");
  if (cpus == nullptr || mem == nullptr || !cpus->IsNumber() || !mem->IsNumber()) return std::nullopt;
  VersionResources out{.cpus = cpus->GetDouble(), .mem_mib = mem->GetDouble()};
  if (const json::Value* limits = json::find(*document, "resourceLimits"); limits != nullptr && limits->IsObject()) {
    // A number, or "unlimited" (Marathon validated it).
    auto limit = [limits](std::string_view name) -> std::optional<double> {
      const json::Value* value = json::find(*limits, name);
      if (value == nullptr) return std::nullopt;
      return value->IsNumber() ? value->GetDouble() : std::numeric_limits<double>::infinity();
    };
    out.cpus_limit = limit("cpus");
    out.mem_limit_mib = limit("mem");
  }
  return out;
}

void SimulatedCluster::update() {
  const TimePoint at = traceTime(clock_.now());
  std::lock_guard lock(mutex_);
  followLives(at);
  std::map<std::string, Placement> running;
  for (const FakeApp& app : marathon_->apps()) {
    const auto index = app_index_.find(app.id);
    if (index == app_index_.end()) continue;  // not one of the trace's apps
    for (const FakeTask& task : app.tasks) {
      if (task.state != "TASK_RUNNING") continue;
      auto known = containers_.find(task.id);
      if (known != containers_.end()) {
        running.insert(containers_.extract(known));
        continue;
      }
      // A new task: it runs the app version it was launched with.
      const auto resources = versionResources(app.id, task.version);
      int host = 0;  // Marathon places tasks on the cluster's hosts
      while (host + 1 < hosts() && hostName(host) != task.host) ++host;
      Placement placement;
      placement.app_id = app.id;
      placement.host = host;
      placement.executor_id = task.id;
      placement.container_id = containerId(containers_started_++);
      placement.cpus_limit = simulate::containerCpuLimit(resources ? resources->cpus : app.cpus);
      placement.mem_limit_bytes =
          static_cast<std::uint64_t>(((resources ? resources->mem_mib : app.mem_mib) + kExecutorMemMib) * kMiBBytes);
      if (resources) {
        placement.task_cpus_limit = resources->cpus_limit;
        placement.task_mem_limit_mib = resources->mem_limit_mib;
      } else if (app.resource_limits) {
        placement.task_cpus_limit = app.resource_limits->cpus;
        placement.task_mem_limit_mib = app.resource_limits->mem_mib;
      }
      FakeExecutorSpec spec;
      spec.executor_id = placement.executor_id;
      spec.container_id = placement.container_id;
      spec.app_id = app.id;
      spec.cpus_limit = placement.cpus_limit;
      spec.mem_limit_bytes = placement.mem_limit_bytes;
      spec.task_cpus_limit = placement.task_cpus_limit;
      spec.task_mem_limit_mib = placement.task_mem_limit_mib;
      agents_[static_cast<std::size_t>(placement.host)]->addExecutor(spec);
      running.emplace(task.id, std::move(placement));
    }
  }
  // Tasks Marathon no longer runs: their containers are gone.
  for (const auto& [task_id, placement] : containers_) {
    agents_[static_cast<std::size_t>(placement.host)]->removeExecutor(task_id);
  }
  containers_ = std::move(running);

  auto point_of = [this, at](const Placement& placement) {
    const AppTrace& app = trace_.apps[app_index_.at(placement.app_id)];
    const TracePoint* point = app.at(at);
    return point != nullptr ? point : &app.points.front();
  };
  // Each host's CPU, shared among its containers.
  std::map<std::string, simulate::CpuOnHost> cpu_of;  // by task id
  for (int host = 0; host < hosts(); ++host) {
    std::vector<const std::string*> ids;
    std::vector<simulate::HostContainer> on_host;
    for (const auto& [task_id, placement] : containers_) {
      if (placement.host != host) continue;
      ids.push_back(&task_id);
      on_host.push_back({.demand_cores = point_of(placement)->cpu_used_cores,
                         .request_cores = placement.cpus_limit,
                         .limit_cores = cpuQuota(placement, options_.cpu_isolation)});
    }
    const std::vector<simulate::CpuOnHost> shared = simulate::shareHostCpu(on_host, options_.host_cores);
    for (std::size_t i = 0; i < ids.size(); ++i) cpu_of[*ids[i]] = shared[i];
  }

  const TimePoint from = updated_at_ && at > *updated_at_ ? *updated_at_ : at;  // this update's span
  const double hours = toHours(at - from);
  updated_at_ = at;
  totals_.hours += hours;
  totals_.app_hours += hours * static_cast<double>(std::count(lives_.begin(), lives_.end(), Life::kLiving));
  std::vector<std::string> oom_victims;
  for (const auto& [task_id, placement] : containers_) {
    const std::size_t index = app_index_.at(placement.app_id);
    const AppTrace& app = trace_.apps[index];
    const TracePoint* point = point_of(placement);
    const TracePoint& first = app.points.front();
    // The container holds a point's use until the next; a gap in the trace
    // (the next point more than twice the usual step later) is unknown use,
    // as the replay counts it: the reservations count through it, the
    // demand and what was short of it only up to twice the usual step.
    double observed = hours;
    if (const auto next = static_cast<std::size_t>(point - app.points.data()) + 1;
        next < app.points.size() && app.points[next].at - point->at > observed_after_[index]) {
      const TimePoint seen_until = point->at + observed_after_[index];
      observed = std::clamp(toHours(seen_until - from), 0.0, hours);
    }
    const double memory_used_mib = point->memory_used_mib.value_or(kNominalUsedMib);
    const std::optional<double> hard_mib = memoryHardLimitMib(placement);
    FakeUsage usage;
    const double demand = point->cpu_used_cores;
    const simulate::CpuOnHost& cpu = cpu_of.at(task_id);
    usage.used_cores = cpu.used_cores;
    usage.throttled_ratio = cpu.throttled_ratio;
    usage.throttled_cores = cpu.throttled_cores;
    usage.resident_bytes = static_cast<std::uint64_t>(memory_used_mib * kMiBBytes);
    if (hard_mib)
      usage.resident_bytes = std::min(usage.resident_bytes, static_cast<std::uint64_t>(*hard_mib * kMiBBytes));
    agents_[static_cast<std::size_t>(placement.host)]->setUsage(task_id, usage);
    // Memory above the hard limit (the app's mem or resourceLimits.mem; the
    // executor's 32 MiB is its own): the kernel OOM-kills the task, once per
    // trace step, as the replay counts it (simulate/isolation.h). Unlimited:
    // never by its own limit.
    const double mem_limit_mib = static_cast<double>(placement.mem_limit_bytes) / kMiBBytes - kExecutorMemMib;
    if (point->memory_used_mib && hard_mib &&
        simulate::oomKilled(*point->memory_used_mib, *hard_mib - kExecutorMemMib)) {
      auto& killed = oom_killed_at_[placement.app_id];
      if (!killed || *killed != point->at) {
        killed = point->at;
        oom_victims.push_back(task_id);
      }
    }

    const double initial_limit = simulate::containerCpuLimit(first.cpu_reserved_cores);
    totals_.reserved_core_hours += (placement.cpus_limit - kExecutorCpus) * hours;
    totals_.initial_reserved_core_hours += first.cpu_reserved_cores * hours;
    totals_.demand_core_hours += demand * observed;
    totals_.unmet_core_hours += cpu.unmet_cores * observed;
    totals_.initial_unmet_core_hours +=
        simulate::cpuUnderLimit(demand, initial_limit, options_.cpu_isolation).unmet_cores * observed;
    totals_.reserved_gib_hours += mem_limit_mib / 1024 * hours;
    if (hours > 0) {
      // What it could use at once: its limit (a burstable one's hard limit).
      const double cpu_limit =
          placement.task_cpus_limit ? *placement.task_cpus_limit + kExecutorCpus : placement.cpus_limit;
      simulate::accountStep(totals_.cpu, demand, placement.cpus_limit - kExecutorCpus, first.cpu_reserved_cores,
                            observed, cpu_limit, hours - observed);
      totals_.cpu.unmet_hours += cpu.unmet_cores * observed;
    }
    if (hours > 0 && point->memory_used_mib) {
      std::optional<double> mem_limit_gib;
      if (placement.task_mem_limit_mib) mem_limit_gib = *placement.task_mem_limit_mib / 1024;
      simulate::accountStep(totals_.mem, *point->memory_used_mib / 1024, mem_limit_mib / 1024,
                            first.memory_reserved_mib.value_or(mem_limit_mib) / 1024, observed, mem_limit_gib,
                            hours - observed);
    }
    totals_.initial_reserved_gib_hours += first.memory_reserved_mib.value_or(kNominalMemMib) / 1024 * hours;
  }
  for (const auto& task_id : oom_victims) {
    // Marathon learns of it from Mesos and relaunches the task after its
    // back-off; its container goes at the next update.
    if (marathon_->oomKillTask(task_id).ok()) ++totals_.oom_kills;
  }
}

ClusterTotals SimulatedCluster::totals() const {
  std::lock_guard lock(mutex_);
  return totals_;
}

std::vector<Placement> SimulatedCluster::placements() const {
  std::lock_guard lock(mutex_);
  std::vector<Placement> out;
  out.reserve(containers_.size());
  for (const auto& [task_id, placement] : containers_) out.push_back(placement);
  std::sort(out.begin(), out.end(), [this](const Placement& a, const Placement& b) {
    return app_index_.at(a.app_id) < app_index_.at(b.app_id);
  });
  return out;
}

std::string_view defaultAgentStateTemplate() {
  return R"({
  "version": "1.11.0",
  "git_tag": "1.11.0",
  "build_user": "rightsize-sim",
  "start_time": 1700000000.0,
  "id": "a1b2c3d4-0000-4000-8000-000000000000-S0",
  "pid": "slave(1)@127.0.0.1:5051",
  "hostname": "localhost",
  "capabilities": ["MULTI_ROLE", "HIERARCHICAL_ROLE", "RESERVATION_REFINEMENT", "RESOURCE_PROVIDER"],
  "resources": {"cpus": 16.0, "mem": 63488.0, "disk": 450000.0, "ports": "[31000-32000]"},
  "attributes": {},
  "master_hostname": "mesos-master.sim",
  "flags": {"cgroups_hierarchy": "/sys/fs/cgroup", "cgroups_root": "mesos", "cgroups_enable_cfs": "true",
            "isolation": "cgroups/cpu,cgroups/mem", "resource_monitoring_interval": "1secs"},
  "frameworks": [{
    "id": "a1b2c3d4-0000-4000-8000-000000000000-0000",
    "name": "marathon",
    "user": "root",
    "hostname": "marathon.sim",
    "role": "*",
    "checkpoint": true,
    "failover_timeout": 604800,
    "executors": [{
      "id": "template.executor",
      "name": "Command Executor",
      "source": "template.executor",
      "container": "template-container",
      "directory": "/var/lib/mesos/slaves/x/frameworks/y/executors/template.executor/runs/template-container",
      "resources": {"cpus": 1.1, "mem": 160.0, "disk": 0.0},
      "role": "*",
      "tasks": [{
        "id": "template.executor",
        "name": "template",
        "framework_id": "a1b2c3d4-0000-4000-8000-000000000000-0000",
        "executor_id": "",
        "slave_id": "a1b2c3d4-0000-4000-8000-000000000000-S0",
        "state": "TASK_RUNNING",
        "resources": {"cpus": 1.0, "mem": 128.0, "disk": 0.0},
        "role": "*",
        "statuses": [{"state": "TASK_RUNNING", "timestamp": 1700000000.0}],
        "labels": []
      }],
      "queued_tasks": [],
      "completed_tasks": []
    }],
    "completed_executors": []
  }],
  "completed_frameworks": []
})";
}

std::string_view defaultStatisticsTemplate() {
  return R"([{
  "executor_id": "template.executor",
  "executor_name": "Command Executor",
  "framework_id": "a1b2c3d4-0000-4000-8000-000000000000-0000",
  "source": "template.executor",
  "statistics": {
    "timestamp": 1700000000.0,
    "cpus_limit": 1.1,
    "cpus_user_time_secs": 0.0,
    "cpus_system_time_secs": 0.0,
    "cpus_nr_periods": 0,
    "cpus_nr_throttled": 0,
    "cpus_throttled_time_secs": 0.0,
    "mem_limit_bytes": 167772160,
    "mem_total_bytes": 0,
    "mem_rss_bytes": 0,
    "mem_anon_bytes": 0,
    "mem_cache_bytes": 0,
    "mem_mapped_file_bytes": 0,
    "mem_file_bytes": 0,
    "mem_swap_bytes": 0
  }
}])";
}

}  // namespace rightsize::testing
