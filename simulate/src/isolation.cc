#include "rightsize/simulate/isolation.h"

#include <algorithm>
#include <cmath>

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
  out.throttled_cores = out.unmet_cores;
  // Bursts within the step: throttled from 90 % of the limit on, every
  // period at the limit.
  constexpr double kThrottledFrom = 0.9;
  out.throttled_ratio = std::clamp((demand / limit_cores - kThrottledFrom) / (1 - kThrottledFrom), 0.0, 1.0);
  return out;
}

std::vector<CpuOnHost> shareHostCpu(std::span<const HostContainer> containers, double host_cores) {
  std::vector<CpuOnHost> out(containers.size());
  const double capacity = std::max(host_cores, 0.0);
  // What each may use at most: its demand, up to its quota.
  std::vector<double> cap(containers.size());
  double guaranteed = 0;
  for (std::size_t i = 0; i < containers.size(); ++i) {
    const HostContainer& c = containers[i];
    const double demand = std::isfinite(c.demand_cores) ? std::max(c.demand_cores, 0.0) : 0.0;
    cap[i] = c.limit_cores ? std::min(demand, std::max(*c.limit_cores, 0.0)) : demand;
    out[i].used_cores = std::min(cap[i], std::max(c.request_cores, 0.0));
    guaranteed += out[i].used_cores;
  }
  if (guaranteed > capacity && guaranteed > 0) {
    // An overcommitted host: every container short alike.
    for (auto& o : out) o.used_cores *= capacity / guaranteed;
    guaranteed = capacity;
  }
  // The rest by shares to those that want more, until it runs out or nobody
  // does (each round gives at least one container all it wants, or spends
  // all that is left).
  double left = capacity - guaranteed;
  for (std::size_t round = 0; round < containers.size() && left > 1e-12; ++round) {
    double weights = 0;
    for (std::size_t i = 0; i < containers.size(); ++i) {
      if (cap[i] - out[i].used_cores > 1e-12) weights += std::max(containers[i].request_cores, 1e-3);
    }
    if (weights <= 0) break;
    double scale = left / weights;  // cores per unit of weight this round
    for (std::size_t i = 0; i < containers.size(); ++i) {
      const double want = cap[i] - out[i].used_cores;
      if (want > 1e-12) scale = std::min(scale, want / std::max(containers[i].request_cores, 1e-3));
    }
    for (std::size_t i = 0; i < containers.size(); ++i) {
      const double want = cap[i] - out[i].used_cores;
      if (want <= 1e-12) continue;
      const double give = std::min(want, scale * std::max(containers[i].request_cores, 1e-3));
      out[i].used_cores += give;
      left -= give;
    }
  }
  for (std::size_t i = 0; i < containers.size(); ++i) {
    const HostContainer& c = containers[i];
    const double demand = std::isfinite(c.demand_cores) ? std::max(c.demand_cores, 0.0) : 0.0;
    out[i].unmet_cores = std::max(demand - out[i].used_cores, 0.0);
    out[i].burst_cores = std::max(out[i].used_cores - std::max(c.request_cores, 0.0), 0.0);
    if (c.limit_cores && *c.limit_cores > 0) {
      const CpuUnderLimit quota = cpuUnderLimit(demand, *c.limit_cores, CpuIsolation::kCfs);
      out[i].throttled_ratio = quota.throttled_ratio;
      out[i].throttled_cores = quota.throttled_cores;
    }
  }
  return out;
}

}  // namespace rightsize::simulate
