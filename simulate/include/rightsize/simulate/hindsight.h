#pragma once

// What a clairvoyant policy could reach on a trace: per app, a reservation
// for every sample, chosen knowing the whole future, on the sizer's grid
// (0.05 cores, 32 MiB). No online policy sees the future, so this is the
// yardstick of `rightsize simulate --hindsight`: how far each policy is from
// the best any policy could do at its own insufficient-sample rates and
// redeploy rate.
//
// Each resource is one exact dynamic program per app over (sample, level)
// minimising
//   reserved hours + price_insufficient x insufficient samples
//                  + price_change x changes of level,
// the first level being free when it is the trace's own reservation (an app
// whose samples x levels exceed 64 million, or whose use spans more than
// 65,536 steps (3,276 cores, 2 TiB), is planned on a coarser grid, a
// multiple of the step, so that a trace of absurd use cannot exhaust memory). For
// given prices the plan is optimal: no plan with as few insufficient samples
// and changes reserves less. `hindsightWithin` searches the prices for the
// plan that reserves the least within a policy's rates. A redeploy is a
// sample at which either resource changes (one redeploy carries both); the
// two programs do not line their changes up, so the plan found is feasible,
// if not always the best. A sample is insufficient as the replay counts it:
// CPU demand above the level plus the command executor's 0.1 core (the
// container's limit, isolation.h), memory above the level.

#include <cstddef>

#include "rightsize/simulate/simulate.h"
#include "rightsize/simulate/trace.h"

namespace rightsize::simulate {

struct HindsightPrices {
  double cpu_insufficient = 1;  // core-hours one insufficient CPU sample is worth
  double mem_insufficient = 1;  // GiB-hours one insufficient memory sample is worth
  double cpu_change = 1;        // core-hours one CPU change is worth
  double mem_change = 1;        // GiB-hours one memory change is worth
};

struct HindsightPlan {
  ResourceFigures cpu;  // reserved_hours, used_hours, samples, insufficient_samples
  ResourceFigures mem;
  std::size_t cpu_changes = 0;
  std::size_t mem_changes = 0;
  std::size_t redeploys = 0;  // samples at which either resource changes
  double app_days = 0;

  double redeploysPerAppDay() const { return app_days > 0 ? static_cast<double>(redeploys) / app_days : 0; }
};

// The optimal plan at these prices.
HindsightPlan hindsightPlan(const Trace& trace, const HindsightPrices& prices);

struct HindsightLimits {
  double cpu_insufficient_pct = 0;
  double mem_insufficient_pct = 0;
  double redeploys_per_app_day = 0;
};

// The plan reserving the fewest core-hours (then GiB-hours) found within the
// limits, or nullopt when the search found none (e.g. limits of zero
// redeploys on a trace whose reservations are always exceeded).
std::optional<HindsightPlan> hindsightWithin(const Trace& trace, const HindsightLimits& limits);

// How few hours any plan on the sizer's grid can reserve within the limits:
// no plan knowing the whole future reserves fewer core-hours (GiB-hours)
// with no more insufficient CPU (memory) samples and redeploys, so no
// policy can either. Each resource on its own (its changes bounded by the
// redeploys), by weak duality from the same dynamic program: for any prices
// of insufficient samples and changes, the optimal plan's priced cost minus
// the limits' price is at most the hours of any plan within them. The best
// prices found give the bound; it is valid whatever the search finds, and
// is at most the hours of hindsightWithin's plan. A plan off the grid may
// reserve up to a step (0.05 cores, 32 MiB) less at each sample: the
// *_off_grid bounds hold for any plan.
struct HindsightBound {
  double cpu_hours = 0;  // core-hours
  double mem_hours = 0;  // GiB-hours; 0 without memory samples
  double cpu_hours_off_grid = 0;
  double mem_hours_off_grid = 0;
};
HindsightBound hindsightBound(const Trace& trace, const HindsightLimits& limits);

// The limits a replayed policy kept: a plan within them dominates it when it
// also reserves fewer core-hours and GiB-hours.
HindsightLimits limitsOf(const PolicyResult& result);

}  // namespace rightsize::simulate
