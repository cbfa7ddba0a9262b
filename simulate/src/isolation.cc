#include "rightsize/simulate/isolation.h"

#include <algorithm>

namespace rightsize::simulate {

std::string_view cpuIsolationName(CpuIsolation isolation) { return isolation == CpuIsolation::kCfs ? "cfs" : "shares"; }

std::optional<CpuIsolation> parseCpuIsolation(std::string_view name) {
  if (name == "cfs") return CpuIsolation::kCfs;
  if (name == "shares") return CpuIsolation::kShares;
  return std::nullopt;
}

CpuUnderLimit cpuUnderLimit(double demand_cores, double limit_cores, CpuIsolation isolation) {
  CpuUnderLimit out;
  const double demand = std::max(demand_cores, 0.0);
  if (isolation == CpuIsolation::kShares || !(limit_cores > 0)) {
    out.used_cores = demand;
    return out;
  }
  out.used_cores = std::min(demand, limit_cores);
  out.unmet_cores = demand - out.used_cores;
  // Bursts within the step: throttled from 90 % of the limit on, every
  // period at the limit.
  constexpr double kThrottledFrom = 0.9;
  out.throttled_ratio = std::clamp((demand / limit_cores - kThrottledFrom) / (1 - kThrottledFrom), 0.0, 1.0);
  return out;
}

}  // namespace rightsize::simulate
