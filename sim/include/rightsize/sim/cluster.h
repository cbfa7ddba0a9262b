#pragma once

// A simulated Mesos cluster for the demo and for tests: Mesos agent doubles
// (one per simulated host, each on its own loopback port) running one
// container per app of a usage trace. Each container uses what the trace
// says at the simulated time, under a reservation taken from the trace as
// Marathon would place it (app cpus + 0.1 executor overhead, app mem + 32 MiB).
//
// Usage model, where the trace (from VMs) and a CFS-capped container differ:
// a container never uses more than its limit; demand above 90 % of the limit
// shows as throttling, growing linearly to every period at 100 %; resident
// memory is capped at the memory limit.

#include <memory>
#include <string>
#include <vector>

#include "rightsize/core/clock.h"
#include "rightsize/sim/fake_mesos_agent.h"
#include "rightsize/sim/trace.h"

namespace rightsize::sim {

// A clock running `speed` times faster than `base` from the moment it is
// created, to replay hours of a trace in minutes. Thread-safe.
class ScaledClock final : public Clock {
 public:
  ScaledClock(const Clock& base, double speed) : base_(base), speed_(speed), origin_(base.now()) {}
  TimePoint now() const override;

 private:
  const Clock& base_;
  double speed_;
  TimePoint origin_;
};

struct SimulatedClusterOptions {
  int hosts = 3;
  std::string host_prefix = "sim-host-";
  std::string instance_type = "m5.4xlarge";
};

struct Placement {
  std::string app_id;
  int host = 0;
  std::string executor_id;
  std::string container_id;
};

// Thread-safety: update() from one thread; the agents' HTTP servers run
// their own threads.
class SimulatedCluster {
 public:
  // The trace's first point is played at the clock's current time.
  static Expected<std::unique_ptr<SimulatedCluster>> create(const Clock& clock, Trace trace,
                                                            SimulatedClusterOptions options);

  // Starts each host's Mesos agent double on 127.0.0.1:0.
  [[nodiscard]] Status start();
  // Sets every container's usage and limits to the trace at the clock's time.
  void update();

  // Where the trace is at `now`.
  TimePoint traceTime(TimePoint now) const { return trace_.start + (now - origin_); }
  bool finished() const { return traceTime(clock_.now()) > trace_.end; }
  const Trace& trace() const { return trace_; }
  const std::vector<Placement>& placements() const { return placements_; }
  std::string hostName(int host) const { return options_.host_prefix + std::to_string(host + 1); }
  std::string agentUrl(int host) const { return agents_[static_cast<std::size_t>(host)]->url(); }
  FakeMesosAgent& agent(int host) { return *agents_[static_cast<std::size_t>(host)]; }
  int hosts() const { return options_.hosts; }

 private:
  SimulatedCluster(const Clock& clock, Trace trace, SimulatedClusterOptions options);

  const Clock& clock_;
  Trace trace_;
  SimulatedClusterOptions options_;
  TimePoint origin_;
  std::vector<std::unique_ptr<FakeMesosAgent>> agents_;
  std::vector<Placement> placements_;  // same order as trace_.apps
};

// Documents shaped like a Mesos 1.x agent's /state and /monitor/statistics
// (fields as in shared/reference/mesos), used as FakeMesosAgent templates
// where the real fixtures are not at hand.
std::string_view defaultAgentStateTemplate();
std::string_view defaultStatisticsTemplate();

}  // namespace rightsize::sim
