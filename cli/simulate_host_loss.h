#pragma once

// `rightsize simulate --host-loss-rate`: does the fleet's headroom hold
// when hosts vanish (docs/capacity.md)?

#include <cstdint>
#include <string>

#include "rightsize/simulate/trace.h"

namespace rightsize::cli {

struct HostLossFlags {
  double rate_per_day = 0;  // 0: off
  int burst = 3;
  std::string lead_time = "5m";
  std::string window = "7d";
  double multiple = 3;
  std::uint64_t seed = 1;
};

// Exit status: 0, or 2 for bad flags.
int runHostLossSimulation(const simulate::Trace& trace, const std::string& trace_name, const HostLossFlags& flags,
                          double host_cores, double host_memory_gib, bool json);

}  // namespace rightsize::cli
