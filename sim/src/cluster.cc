#include "rightsize/sim/cluster.h"

#include <algorithm>
#include <cmath>

namespace rightsize::sim {
namespace {

constexpr double kExecutorCpus = 0.1;
constexpr double kExecutorMemMib = 32;
constexpr std::uint64_t kMib = 1 << 20;

// Marathon-style task and container ids, derived from the app so that runs
// are reproducible.
std::string taskId(const std::string& app_id, std::size_t index) {
  std::string safe = app_id.substr(app_id.starts_with('/') ? 1 : 0);
  std::replace(safe.begin(), safe.end(), '/', '_');
  char uuid[64];
  std::snprintf(uuid, sizeof uuid, "%08zx-0000-4000-8000-%012zx", index, index * 7919);
  return safe + ".instance-" + uuid + "._app.1";
}

std::string containerId(std::size_t index) {
  char id[64];
  std::snprintf(id, sizeof id, "c0ffee00-%04zx-4000-8000-%012zx", index % 0xffff, index);
  return id;
}

}  // namespace

TimePoint ScaledClock::now() const {
  const auto elapsed = std::chrono::duration<double, std::nano>(base_.now() - origin_) * speed_;
  return origin_ + std::chrono::duration_cast<Duration>(elapsed);
}

SimulatedCluster::SimulatedCluster(const Clock& clock, Trace trace, SimulatedClusterOptions options)
    : clock_(clock), trace_(std::move(trace)), options_(std::move(options)), origin_(clock.now()) {}

Expected<std::unique_ptr<SimulatedCluster>> SimulatedCluster::create(const Clock& clock, Trace trace,
                                                                     SimulatedClusterOptions options) {
  if (options.hosts < 1) return Error(ErrorKind::kInvalidArgument, "a cluster needs at least one host");
  std::unique_ptr<SimulatedCluster> cluster(new SimulatedCluster(clock, std::move(trace), std::move(options)));
  for (int host = 0; host < cluster->options_.hosts; ++host) {
    auto agent = FakeMesosAgent::create(clock, defaultAgentStateTemplate(), defaultStatisticsTemplate());
    if (!agent) return agent.error();
    (*agent)->setAttribute("instance_type", cluster->options_.instance_type);
    cluster->agents_.push_back(std::move(*agent));
  }
  for (std::size_t i = 0; i < cluster->trace_.apps.size(); ++i) {
    const auto& app = cluster->trace_.apps[i];
    Placement placement{app.app_id, static_cast<int>(i % static_cast<std::size_t>(cluster->options_.hosts)),
                        taskId(app.app_id, i), containerId(i)};
    FakeExecutorSpec spec;
    spec.executor_id = placement.executor_id;
    spec.container_id = placement.container_id;
    spec.app_id = app.app_id;
    cluster->agents_[static_cast<std::size_t>(placement.host)]->addExecutor(spec);
    cluster->placements_.push_back(std::move(placement));
  }
  cluster->update();
  return cluster;
}

Status SimulatedCluster::start() {
  for (auto& agent : agents_) {
    if (Status started = agent->start(HostPort{"127.0.0.1", 0}); !started) return started;
  }
  return Status::success();
}

void SimulatedCluster::update() {
  const TimePoint at = traceTime(clock_.now());
  for (std::size_t i = 0; i < trace_.apps.size(); ++i) {
    const TracePoint* point = trace_.apps[i].at(at);
    if (point == nullptr) point = &trace_.apps[i].points.front();
    const auto& placement = placements_[i];
    const double cpus_limit = point->cpu_reserved_cores + kExecutorCpus;
    // Apps without a memory signal get a nominal 1 GiB reservation, 25 % used.
    const double memory_reserved_mib = point->memory_reserved_mib.value_or(1024.0);
    const double memory_used_mib = point->memory_used_mib.value_or(256.0);
    const auto mem_limit_bytes = static_cast<std::uint64_t>((memory_reserved_mib + kExecutorMemMib) * kMib);
    FakeUsage usage;
    const double demand = point->cpu_used_cores;
    usage.used_cores = std::min(demand, cpus_limit);
    usage.throttled_ratio = std::clamp((demand / cpus_limit - 0.9) / 0.1, 0.0, 1.0);
    usage.resident_bytes = std::min(static_cast<std::uint64_t>(memory_used_mib * kMib), mem_limit_bytes);
    auto& agent = *agents_[static_cast<std::size_t>(placement.host)];
    agent.setLimits(placement.executor_id, cpus_limit, mem_limit_bytes);
    agent.setUsage(placement.executor_id, usage);
  }
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

}  // namespace rightsize::sim
