#pragma once

// Host losses replayed (`rightsize simulate --host-loss-rate`,
// docs/capacity.md): does the fleet's headroom hold when hosts vanish?
//
// Each trace app is one task, reserving what the trace says at each point,
// packed first-fit on hosts of `host_cores` and `host_mem_mib`. Losses come
// as events at `rate_per_day` (exponential gaps, a fixed seed), each taking
// 1 to `burst` hosts at random; their tasks go to the other hosts where they
// fit, the rest wait unplaced. A lost host is replaced `lead_time` later.
// The fleet keeps the headroom the sizer asks for (sizing/capacity.h, the
// same rule: the most hosts lost within the lead time over the window, times
// `multiple`, times the mean reservation per host): when free capacity is
// below it, hosts are added (they too arrive after the lead time), and
// spare empty hosts beyond it are released. `multiple` 0 keeps none.

#include <cstdint>
#include <string>

#include "rightsize/core/clock.h"
#include "rightsize/simulate/trace.h"

namespace rightsize::simulate {

struct HostLossOptions {
  double host_cores = 32;
  double host_mem_mib = 128 * 1024;
  double rate_per_day = 4;  // loss events across the fleet
  int burst = 3;            // hosts per event, at most
  Duration lead_time = std::chrono::minutes(5);
  Duration window = std::chrono::days(7);
  double multiple = 3;
  std::uint64_t seed = 1;
};

struct HostLossResult {
  double multiple = 0;
  std::size_t events = 0;
  std::size_t hosts_lost = 0;
  double host_hours = 0;            // hosts running (placed tasks or spare)
  double spare_host_hours = 0;      // hosts with no task
  std::size_t tasks_displaced = 0;  // tasks on lost hosts
  std::size_t tasks_unplaced = 0;   // of those, found no room at once
  std::size_t max_unplaced = 0;     // at any time
  double unplaced_task_hours = 0;
  bool held() const { return tasks_unplaced == 0; }
};

HostLossResult replayHostLoss(const Trace& trace, const HostLossOptions& options);

}  // namespace rightsize::simulate
