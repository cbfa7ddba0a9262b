#pragma once

// A simulated Mesos/Marathon cluster for the demo and for tests: a Marathon
// double running one app per app of a usage trace, and Mesos agent doubles
// (one per simulated host, each on its own loopback port) running the app's
// tasks. Each container uses what the trace says at the simulated time, under
// the reservation of the Marathon app version its task was launched with
// (cpus + 0.1 executor overhead, mem + 32 MiB, as Mesos gives a command
// task): resize an app through Marathon's API and, when its deployment ends,
// the new tasks run under the new reservation.
//
// Usage model (simulate/isolation.h, the replay's), where the trace (from
// VMs) and a container differ: each host's CPU is shared among its
// containers (simulate::shareHostCpu): each gets its demand up to its
// request (cpus + 0.1, its CPU shares), then what the host has spare up to
// its limit. The limit is its CFS quota: the request under kCfs, none under
// kShares; for an app with resourceLimits.cpus (Marathon 1.10, Mesos 1.10+)
// that limit + 0.1 in both modes (Mesos sets the quota of a container with a
// limit whatever --cgroups_enable_cfs says), none when "unlimited". Demand
// above 90 % of a quota shows as throttling, growing linearly to every
// period at 100 %. Memory: resident memory is capped at the hard limit (mem,
// or resourceLimits.mem, + 32 MiB; none when "unlimited"), and use above it
// is an OOM kill. The trace's reservations only set each app's first
// definition: afterwards Marathon's is the truth. Each app lives as long as
// its trace does, as the replay plays it: an app whose trace begins after the
// trace's start is created then (its tasks new), and one whose trace ends
// earlier is destroyed a step after its last point.

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rightsize/core/clock.h"
#include "rightsize/simulate/isolation.h"
#include "rightsize/simulate/simulate.h"
#include "rightsize/simulate/trace.h"
#include "rightsize/testing/fake_marathon.h"
#include "rightsize/testing/fake_mesos_agent.h"

namespace rightsize::testing {

using simulate::AppTrace;
using simulate::Trace;
using simulate::TracePoint;

// A clock running `speed` times faster than `base` from the moment it is
// created, to replay hours of a trace in minutes. Thread-safe.
using ScaledClock = rightsize::ScaledClock;

struct SimulatedClusterOptions {
  int hosts = 3;
  std::string host_prefix = "sim-host-";
  std::string instance_type = "m5.4xlarge";
  // Simulated time a Marathon deployment (a resize) takes.
  Duration deployment_duration = std::chrono::minutes(5);
  // Labels of every app, e.g. {"rightsize.enabled", "true"}.
  std::map<std::string, std::string> app_labels;
  // What a container's CPU limit does (simulate/isolation.h, the replay's
  // model): a CFS quota caps use and throttles; shares let use exceed it.
  simulate::CpuIsolation cpu_isolation = simulate::CpuIsolation::kCfs;
  // How long the apps' first tasks had run when the trace starts (Marathon's
  // startedAt): the replay's first containers are taken to have run the
  // sizer's --min-task-age, as a fleet the sizer is switched on over.
  Duration tasks_running_for{};
  // The cores of each host, shared among its containers (see above), and
  // what its Mesos agent double reports as its CPUs (/state resources.cpus,
  // the CPU limit of an "unlimited" container). Infinity (the default): a
  // host always has CPU to spare, as the replay (which models no hosts)
  // assumes, so that a container is held back by its own limit only and the
  // demo agrees with the replay; the agents then report their template's 16.
  double host_cores = std::numeric_limits<double>::infinity();
  // Marathon's resourceLimits of apps, by Marathon app id (marathonAppId()):
  // their first definitions carry them.
  std::map<std::string, FakeResourceLimits> resource_limits;
};

// A running container: a Marathon task on a host.
struct Placement {
  std::string app_id;  // the Marathon app id
  int host = 0;
  std::string executor_id;  // the Marathon task id (a command task's executor)
  std::string container_id;
  double cpus_limit = 0;  // task cpus + executor overhead: the request
  std::uint64_t mem_limit_bytes = 0;
  // The task's resourceLimits (its app version's), without the executor's
  // overhead; +infinity: "unlimited"; nullopt: none.
  std::optional<double> task_cpus_limit;
  std::optional<double> task_mem_limit_mib;
};

// What the cluster's containers reserved and used, in simulated hours since
// the first update(), next to what the trace's first reservations would
// have given them (for the demo's savings).
struct ClusterTotals {
  double hours = 0;
  double app_hours = 0;  // hours each app lived, summed over the apps (the replay's app-days x 24)
  // Apps whose trace began later and Marathon refused then (none for a
  // trace readTrace parsed; the apps at the start fail create()).
  std::uint64_t apps_refused = 0;
  double reserved_core_hours = 0;  // Marathon cpus of the running tasks (no executor overhead)
  double initial_reserved_core_hours = 0;
  double demand_core_hours = 0;  // what the trace asked for
  double unmet_core_hours = 0;   // demand above the containers' limits
  double initial_unmet_core_hours = 0;
  double reserved_gib_hours = 0;
  double initial_reserved_gib_hours = 0;
  std::uint64_t oom_kills = 0;  // tasks the kernel killed for memory above their limit
  // The same, accounted as the replay accounts a policy (simulate.h), one
  // sample per container and update: CPU demand against the Marathon cpus,
  // memory used against mem (GiB), next to the trace's first reservation.
  simulate::ResourceFigures cpu;
  simulate::ResourceFigures mem;
};

// A Marathon app id for a trace's app id: lower case, characters Marathon
// refuses ('_', ' ', ...) as '-', empty segments dropped.
std::string marathonAppId(std::string_view trace_app_id);

// Thread-safety: every method may be called from any thread; the doubles'
// HTTP servers run their own threads.
class SimulatedCluster {
 public:
  // The trace's first point is played at the clock's current time. Fails
  // when two trace apps map to one Marathon id or an app is refused.
  static Expected<std::unique_ptr<SimulatedCluster>> create(const Clock& clock, Trace trace,
                                                            SimulatedClusterOptions options);

  // Starts Marathon and each host's Mesos agent double on 127.0.0.1:0.
  [[nodiscard]] Status start();
  // Follows Marathon's tasks (containers of ended tasks go, new tasks get
  // theirs) and sets every container's usage to the trace at the clock's time.
  void update();

  // Where the trace is at `now`.
  TimePoint traceTime(TimePoint now) const { return trace_.start + (now - origin_); }
  bool finished() const { return traceTime(clock_.now()) > trace_.end; }
  const Trace& trace() const { return trace_; }
  // The running containers, in trace order.
  std::vector<Placement> placements() const;
  ClusterTotals totals() const;
  std::string hostName(int host) const { return options_.host_prefix + std::to_string(host + 1); }
  std::string agentUrl(int host) const { return agents_[static_cast<std::size_t>(host)]->url(); }
  FakeMesosAgent& agent(int host) { return *agents_[static_cast<std::size_t>(host)]; }
  FakeMarathon& marathon() { return *marathon_; }
  // Marathon's first definition of trace app `index` (its first point's
  // reservation), its tasks having run `running_for`.
  FakeAppSpec specOf(std::size_t index, Duration running_for) const;
  int hosts() const { return options_.hosts; }

 private:
  SimulatedCluster(const Clock& clock, Trace trace, SimulatedClusterOptions options);
  // The resources of `app_id` at `version`, read through Marathon's API.
  struct VersionResources {
    double cpus = 0;
    double mem_mib = 0;
    std::optional<double> cpus_limit;  // resourceLimits; +infinity: "unlimited"
    std::optional<double> mem_limit_mib;
  };
  std::optional<VersionResources> versionResources(const std::string& app_id, const std::string& version);
  // Creates the apps whose trace has begun by `at` and destroys those whose
  // trace ended (a step after its last point); under mutex_.
  void followLives(TimePoint at);

  const Clock& clock_;
  Trace trace_;
  SimulatedClusterOptions options_;
  TimePoint origin_;
  std::unique_ptr<FakeMarathon> marathon_;
  std::vector<std::unique_ptr<FakeMesosAgent>> agents_;
  std::vector<std::string> app_ids_;              // Marathon ids, same order as trace_.apps
  std::map<std::string, std::size_t> app_index_;  // Marathon id -> trace_.apps index
  // The longest time after each app's point that the point's use stands for
  // (AppTrace::longestObserved, as in the replay): beyond, a gap.
  std::vector<Duration> observed_after_;  // same order as trace_.apps
  mutable std::mutex mutex_;              // guards what follows
  enum class Life : std::uint8_t { kUnborn, kLiving, kEnded };
  std::vector<Life> lives_;                      // same order as trace_.apps
  std::map<std::string, Placement> containers_;  // by task id
  std::size_t containers_started_ = 0;
  std::optional<TimePoint> updated_at_;                            // trace time of the last update()
  std::map<std::string, std::optional<TimePoint>> oom_killed_at_;  // by app: the trace step of its last kill
  ClusterTotals totals_;
};

// Documents shaped like a Mesos 1.x agent's /state and /monitor/statistics
// (fields as in shared/reference/mesos), used as FakeMesosAgent templates
// where the real fixtures are not at hand.
std::string_view defaultAgentStateTemplate();
std::string_view defaultStatisticsTemplate();

}  // namespace rightsize::testing
