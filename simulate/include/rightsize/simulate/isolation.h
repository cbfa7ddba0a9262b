#pragma once

// How a container's CPU and memory behave under its limits on a Mesos agent:
// one model, used by the replay (`rightsize simulate`) and by the demo's
// Mesos agent doubles, so that both show a policy what it would see.
//
// CPU, per step of a trace (the demand is the trace's use, averaged over the
// step):
//  - kCfs (the agent started with --cgroups_enable_cfs): a CFS quota caps the
//    container at its limit. It uses min(demand, limit); the rest is unmet
//    demand. Demand is bursty within a step, so periods are throttled before
//    the average reaches the limit: none up to 90 % of the limit, then a
//    share growing linearly to every period at the limit and above.
//  - kShares (the Mesos agent's default): CPU shares only weigh containers
//    against each other: with spare CPU on the host use may exceed the
//    reservation, is seen, and nothing is throttled or unmet (cpuUnderLimit
//    assumes the spare; shareHostCpu below shares a host out).
// Memory, in both: use above the limit is an OOM kill by the kernel (the
// task restarts); what is seen of the container's memory never exceeds its
// limit.
//
// A Marathon app's task runs in one container with the Mesos command
// executor, and Mesos limits the container to both: its CPU limit is the
// app's cpus plus the executor's 0.1 (containerCpuLimit), its memory limit
// mem plus the executor's 32 MiB, which the executor uses itself (so the
// task is killed above mem).

#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "rightsize/sizing/policy.h"

namespace rightsize::simulate {

enum class CpuIsolation { kCfs, kShares };
std::string_view cpuIsolationName(CpuIsolation isolation);  // "cfs", "shares"
std::optional<CpuIsolation> parseCpuIsolation(std::string_view name);

struct CpuUnderLimit {
  double used_cores = 0;       // what the container uses, and its cgroup shows
  double throttled_ratio = 0;  // throttled periods / periods, 0 to 1
  double unmet_cores = 0;      // demand it could not use
  // Demand its quota held back (kCfs, demand above the limit): what the
  // kernel's throttled time per second shows. Host contention is unmet but
  // not throttled; bursts within a step show in throttled_ratio only.
  double throttled_cores = 0;
};

// A step of a container whose CPU demand averages `demand_cores` under a
// limit of `limit_cores` (> 0).
CpuUnderLimit cpuUnderLimit(double demand_cores, double limit_cores, CpuIsolation isolation);

// Burstable containers (Marathon's resourceLimits, Mesos >= 1.9): the
// container's request is its CPU shares, its limit its CFS quota (none when
// "unlimited"). On one host of `host_cores`, each container first gets its
// demand up to its request (scaled down alike when the requests together
// exceed the host); what the host has left is shared among the containers
// that want more, up to their limits, in proportion to their requests (CPU
// shares), as CFS does. Demand left over is unmet. Throttling comes from the
// quota as for cpuUnderLimit; a container starved by its neighbours above
// its request is not throttled (nothing but its use shows it).
struct HostContainer {
  double demand_cores = 0;
  double request_cores = 0;           // its shares (with the executor's)
  std::optional<double> limit_cores;  // its quota (with the executor's); nullopt: none
};
struct CpuOnHost : CpuUnderLimit {
  double burst_cores = 0;  // used above its request, out of the host's spare CPU
};
std::vector<CpuOnHost> shareHostCpu(std::span<const HostContainer> containers, double host_cores);

// The CPU limit of the container of a task with `task_cpus`.
inline double containerCpuLimit(double task_cpus) { return task_cpus + sizing::kExecutorCpus; }

// Whether memory use over a step kills the container (above its limit).
inline bool oomKilled(double used_mib, double limit_mib) { return used_mib > limit_mib; }

}  // namespace rightsize::simulate
