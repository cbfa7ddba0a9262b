#pragma once

// `rightsize simulate --scaling`: horizontal scaling replayed over a trace,
// reactive and ahead of daily peaks, or searched on a grid (docs/scaling.md).

#include <string>

#include "rightsize/simulate/trace.h"

namespace rightsize::cli {

struct ScalingFlags {
  bool scaling = false;
  int instances_min = 2;
  int instances_max = 10;
  double up = 0.8;
  double down = 0.3;
  int step = 1;
  std::string interval = "5m";
  std::string sustain = "1m";
  std::string instance_start = "2m";
  double instance_cpus = 0;  // 0: the trace's reservation over --instances-min
  double max_utilisation = 1.0;
};

// Exit status: 0, or 2 for bad flags.
int runScalingSimulation(const simulate::Trace& trace, const std::string& trace_name, const ScalingFlags& flags,
                         bool grid, bool json);

}  // namespace rightsize::cli
