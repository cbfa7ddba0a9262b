#include "rightsize/simulate/hindsight.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <future>
#include <iterator>
#include <vector>

#include "rightsize/simulate/isolation.h"

namespace rightsize::simulate {
namespace {

constexpr double kCpuStep = 0.05;  // the sizer's grid
constexpr double kMemStepMib = 32;
constexpr double kMaxCells = 64e6;  // per app and resource: 64 MB of back pointers
// Per app and resource, whatever its samples: the price search solves each
// program dozens of times, so a few samples of a huge use (a million cores,
// 20 million levels) took minutes. 65,536 levels of the sizer's steps are
// 3,276 cores or 2 TiB of use: no real container is planned coarser.
constexpr double kMaxLevels = 65536;

// One resource of one app: what it uses at each sample, for how long.
struct Series {
  std::vector<double> used;
  // The hours each sample is observed for, and the hours its level is paid
  // for: more after a gap in the trace (as a replay counts them: the use of
  // a gap is unknown, its reservation paid).
  std::vector<double> hours;
  std::vector<double> paid;
  double start = 0;  // the trace's own reservation at the first sample
  // Use up to level + allowance is served: for CPU the command executor's
  // share of the container's limit (isolation.h), for memory nothing.
  double allowance = 0;
};

struct SeriesPlan {
  double step = 0;  // the grid planned on: the step asked for, or a multiple of it
  double reserved_hours = 0;
  double observed_reserved_hours = 0;
  double used_hours = 0;
  double slack_hours = 0;
  double shortfall_hours = 0;
  std::size_t insufficient = 0;
  std::vector<std::size_t> changes;  // the samples at which the level changes, latest first
};

// The exact optimum over levels step, 2 x step, ... of
//   sum(level x hours) + insufficient_price x #(used > level) + change_price x #changes.
// At each sample a level is either kept or changed from the cheapest level of
// the sample before, so one pass over (sample, level) with back pointers.
SeriesPlan solve(const Series& s, double step, double insufficient_price, double change_price) {
  SeriesPlan plan;
  const std::size_t n = s.used.size();
  if (n == 0) return plan;
  // Levels on the grid up to the highest use (levels above it are never
  // worth it), and the trace's own reservation, where every policy starts:
  // keeping it is free.
  const double used_top = *std::max_element(s.used.begin(), s.used.end());
  // The program holds a byte per (sample, level): an app whose use spans
  // more levels than kMaxCells allows (a trace of years, or a use of
  // petabytes), or more than kMaxLevels, is planned on a coarser grid, a
  // multiple of the step.
  const double max_levels = std::min(kMaxLevels, std::max(16.0, kMaxCells / static_cast<double>(n)));
  if (used_top / step > max_levels) step *= std::ceil(used_top / step / max_levels);
  plan.step = step;
  const auto grid_levels = std::max(1L, std::lround(std::ceil(used_top / step - 1e-9)));
  std::vector<double> level;
  for (long i = 1; i <= grid_levels; ++i) level.push_back(static_cast<double>(i) * step);
  const double start_steps = s.start / step;
  std::size_t start_level = 0;
  if (std::abs(start_steps - std::round(start_steps)) < 1e-9 && start_steps >= 0.5 &&
      std::lround(start_steps) <= grid_levels) {
    start_level = static_cast<std::size_t>(std::lround(start_steps)) - 1;
  } else {
    level.push_back(s.start);
    start_level = level.size() - 1;
  }
  const std::size_t levels = level.size();
  const auto sample_cost = [&](std::size_t t, std::size_t l) {
    return level[l] * s.paid[t] + (s.used[t] > level[l] + s.allowance ? insufficient_price : 0.0);
  };

  std::vector<double> cost(levels);
  std::vector<double> next(levels);
  std::vector<std::uint8_t> changed(n * levels, 0);  // level l at t came from best_before[t]
  std::vector<std::size_t> best_before(n, start_level);
  for (std::size_t l = 0; l < levels; ++l) {
    cost[l] = sample_cost(0, l) + (l == start_level ? 0.0 : change_price);
    changed[l] = l == start_level ? 0 : 1;
  }
  for (std::size_t t = 1; t < n; ++t) {
    const auto best = static_cast<std::size_t>(std::min_element(cost.begin(), cost.end()) - cost.begin());
    best_before[t] = best;
    const double switch_cost = cost[best] + change_price;
    for (std::size_t l = 0; l < levels; ++l) {
      const bool change = switch_cost < cost[l];
      next[l] = (change ? switch_cost : cost[l]) + sample_cost(t, l);
      changed[t * levels + l] = change ? 1 : 0;
    }
    cost.swap(next);
  }
  auto l = static_cast<std::size_t>(std::min_element(cost.begin(), cost.end()) - cost.begin());
  for (std::size_t t = n; t-- > 0;) {
    plan.reserved_hours += level[l] * s.paid[t];
    plan.observed_reserved_hours += level[l] * s.hours[t];
    plan.used_hours += s.used[t] * s.hours[t];
    plan.slack_hours += std::max(level[l] - s.used[t], 0.0) * s.hours[t];
    plan.shortfall_hours += std::max(s.used[t] - level[l] - s.allowance, 0.0) * s.hours[t];
    if (s.used[t] > level[l] + s.allowance) ++plan.insufficient;
    if (changed[t * levels + l] != 0) {
      plan.changes.push_back(t);
      l = best_before[t];
    }
  }
  return plan;
}

// `scale` turns the plan's units into the figures' (MiB to GiB).
void account(ResourceFigures& figures, const SeriesPlan& plan, std::size_t samples, double scale) {
  figures.reserved_hours += plan.reserved_hours * scale;
  figures.observed_reserved_hours += plan.observed_reserved_hours * scale;
  figures.used_hours += plan.used_hours * scale;
  figures.slack_hours += plan.slack_hours * scale;
  figures.shortfall_hours += plan.shortfall_hours * scale;
  figures.samples += samples;
  figures.insufficient_samples += plan.insufficient;
}

struct AppSeries {
  Series cpu;
  Series mem;  // GiB-hours are counted, MiB levels chosen
  double days = 0;
};

std::vector<AppSeries> seriesOf(const Trace& trace) {
  std::vector<AppSeries> out;
  out.reserve(trace.apps.size());
  for (const auto& app : trace.apps) {
    AppSeries a;
    if (app.points.empty()) continue;
    const bool has_mem = app.points.front().memory_reserved_mib && app.points.front().memory_used_mib;
    a.cpu.start = app.points.front().cpu_reserved_cores;
    a.cpu.allowance = containerCpuLimit(0);
    if (has_mem) a.mem.start = *app.points.front().memory_reserved_mib;
    const Duration longest_observed = app.longestObserved();
    for (std::size_t i = 0; i < app.points.size(); ++i) {
      const TracePoint& p = app.points[i];
      const Duration step = app.stepOf(i);
      const double paid = toHours(step);
      const double hours = toHours(std::min(step, longest_observed));
      a.days += paid / 24;
      a.cpu.used.push_back(p.cpu_used_cores);
      a.cpu.hours.push_back(hours);
      a.cpu.paid.push_back(paid);
      if (has_mem && p.memory_used_mib) {
        a.mem.used.push_back(*p.memory_used_mib);
        a.mem.hours.push_back(hours);
        a.mem.paid.push_back(paid);
      }
    }
    out.push_back(std::move(a));
  }
  return out;
}

HindsightPlan planOf(const std::vector<AppSeries>& apps, const HindsightPrices& prices) {
  HindsightPlan plan;
  for (const auto& a : apps) {
    const SeriesPlan cpu = solve(a.cpu, kCpuStep, prices.cpu_insufficient, prices.cpu_change);
    account(plan.cpu, cpu, a.cpu.used.size(), 1);
    plan.cpu_changes += cpu.changes.size();
    // Memory levels are MiB, its figures GiB-hours: price in GiB-hours.
    const SeriesPlan mem = solve(a.mem, kMemStepMib, prices.mem_insufficient * 1024, prices.mem_change * 1024);
    account(plan.mem, mem, a.mem.used.size(), 1.0 / 1024);
    plan.mem_changes += mem.changes.size();
    // One redeploy carries both resources' changes at a sample.
    std::vector<std::size_t> at;
    std::set_union(cpu.changes.rbegin(), cpu.changes.rend(), mem.changes.rbegin(), mem.changes.rend(),
                   std::back_inserter(at));
    plan.redeploys += at.size();
    plan.app_days += a.days;
  }
  return plan;
}

// The cheapest price of insufficient samples (so the fewest hours reserved)
// that keeps their rate within `pct`, by bisection on a log scale: the rate
// falls as the price rises.
template <typename Solve>
std::optional<double> lowestPriceWithin(double pct, Solve&& solve_at) {
  pct *= 1 + 1e-9;
  double low = 1e-4;
  double high = 1e4;
  if (solve_at(high) > pct) return std::nullopt;
  if (solve_at(low) <= pct) return low;
  for (int i = 0; i < 12; ++i) {
    const double mid = std::sqrt(low * high);
    (solve_at(mid) <= pct ? high : low) = mid;
  }
  return high;
}

// The dual function of the plans of one resource over all apps, at prices
// for insufficient samples and changes: the least of
//   hours + insufficient_price x insufficient + change_price x changes,
// which is the dynamic program's optimum, and that plan's counts (a
// supergradient: how far they overrun the limits says which way the price
// should move). In the figures' units: core-hours, GiB-hours.
struct DualPoint {
  double value = 0;
  double insufficient = 0;
  double changes = 0;
};

DualPoint dualAt(const std::vector<AppSeries>& apps, bool memory, double insufficient_price, double change_price) {
  DualPoint d;
  const double scale = memory ? 1024 : 1;  // memory levels are MiB
  const double step = memory ? kMemStepMib : kCpuStep;
  for (const auto& a : apps) {
    const Series& s = memory ? a.mem : a.cpu;
    const SeriesPlan p = solve(s, step, insufficient_price * scale, change_price * scale);
    const auto changes = static_cast<double>(p.changes.size());
    d.value +=
        p.reserved_hours / scale + insufficient_price * static_cast<double>(p.insufficient) + change_price * changes;
    // On a coarser grid (an absurd use) the optimum may exceed the sizer's
    // grid's by up to a coarse step over the series: take that off.
    if (p.step > step) {
      for (double hours : s.paid) d.value -= p.step / scale * hours;
    }
    d.insufficient += static_cast<double>(p.insufficient);
    d.changes += changes;
  }
  return d;
}

// Weak duality: any plan P within the limits (I insufficient samples, C
// changes) has, for prices li, lc >= 0,
//   hours(P) >= hours(P) + li (ins(P) - I) + lc (changes(P) - C) >= dual(li, lc) - li I - lc C,
// so the largest such value found is a lower bound. The right-hand side is
// concave in each price; each is set in turn by bisection on the sign of
// its supergradient (the optimal plan's count minus its limit), on a log
// scale, a few rounds.
double dualBound(const std::vector<AppSeries>& apps, bool memory, double max_insufficient, double max_changes) {
  double insufficient_price = 1;
  double change_price = 1;
  double best = 0;  // no plan reserves less than nothing
  const auto bound = [&](double li, double lc) {
    const DualPoint d = dualAt(apps, memory, li, lc);
    best = std::max(best, d.value - li * max_insufficient - lc * max_changes);
    return d;
  };
  for (int round = 0; round < 3; ++round) {
    for (int which = 0; which < 2; ++which) {
      double& price = which == 0 ? insufficient_price : change_price;
      const auto over = [&] {
        const DualPoint d = bound(insufficient_price, change_price);
        return which == 0 ? d.insufficient > max_insufficient : d.changes > max_changes;
      };
      // Within the limit even when free: the best price is none.
      price = 0;
      if (!over()) continue;
      double low = 1e-6;
      double high = 1e6;
      for (int i = 0; i < 16; ++i) {
        price = std::sqrt(low * high);
        (over() ? low : high) = price;
      }
    }
  }
  return best;
}

}  // namespace

HindsightBound hindsightBound(const Trace& trace, const HindsightLimits& limits) {
  const std::vector<AppSeries> apps = seriesOf(trace);
  double cpu_samples = 0;
  double mem_samples = 0;
  double app_days = 0;
  double cpu_hours = 0;
  double mem_hours_covered = 0;
  for (const auto& a : apps) {
    cpu_samples += static_cast<double>(a.cpu.used.size());
    mem_samples += static_cast<double>(a.mem.used.size());
    app_days += a.days;
    for (double h : a.cpu.hours) cpu_hours += h;
    for (double h : a.mem.hours) mem_hours_covered += h;
  }
  // A redeploy carries at most one change of each resource.
  const double max_changes = limits.redeploys_per_app_day * app_days * (1 + 1e-9);
  HindsightBound b;
  // The two resources' programs are independent: memory's on a thread of its own.
  std::future<double> mem_hours;
  if (mem_samples > 0) {
    mem_hours = std::async(std::launch::async, [&] {
      return dualBound(apps, true, limits.mem_insufficient_pct / 100 * mem_samples * (1 + 1e-9), max_changes);
    });
  }
  b.cpu_hours = dualBound(apps, false, limits.cpu_insufficient_pct / 100 * cpu_samples * (1 + 1e-9), max_changes);
  if (mem_hours.valid()) b.mem_hours = mem_hours.get();
  // Any plan rounded up to the grid is a plan on it, reserving at most a
  // step more at each sample.
  b.cpu_hours_off_grid = std::max(0.0, b.cpu_hours - kCpuStep * cpu_hours);
  b.mem_hours_off_grid = std::max(0.0, b.mem_hours - kMemStepMib / 1024 * mem_hours_covered);
  return b;
}

HindsightPlan hindsightPlan(const Trace& trace, const HindsightPrices& prices) {
  return planOf(seriesOf(trace), prices);
}

std::optional<HindsightPlan> hindsightWithin(const Trace& trace, const HindsightLimits& limits) {
  const std::vector<AppSeries> apps = seriesOf(trace);
  std::optional<HindsightPlan> best;
  // From changes too dear ever to be made (none saves more than a million
  // core- or GiB-hours) to cheap ones, while the plans stay within the
  // redeploy rate: any of them may be the cheapest in hours.
  for (int exponent = 20; exponent >= -8; exponent -= 2) {  // 2^20, 2^18, ..., 2^-8
    const double change = std::ldexp(1.0, exponent);
    HindsightPrices prices;
    prices.cpu_change = change;
    prices.mem_change = change;
    const auto cpu_rate = [&](double price) {
      HindsightPlan p;
      for (const auto& a : apps) {
        const SeriesPlan s = solve(a.cpu, kCpuStep, price, change);
        p.cpu.samples += a.cpu.used.size();
        p.cpu.insufficient_samples += s.insufficient;
      }
      return p.cpu.insufficientPct();
    };
    const auto mem_rate = [&](double price) {
      HindsightPlan p;
      for (const auto& a : apps) {
        const SeriesPlan s = solve(a.mem, kMemStepMib, price * 1024, change * 1024);
        p.mem.samples += a.mem.used.size();
        p.mem.insufficient_samples += s.insufficient;
      }
      return p.mem.insufficientPct();
    };
    const auto cpu_price = lowestPriceWithin(limits.cpu_insufficient_pct, cpu_rate);
    const auto mem_price = lowestPriceWithin(limits.mem_insufficient_pct, mem_rate);
    if (!cpu_price || !mem_price) continue;
    prices.cpu_insufficient = *cpu_price;
    prices.mem_insufficient = *mem_price;
    HindsightPlan plan = planOf(apps, prices);
    // Cheaper changes only add more. (Rates of the same counts over the same
    // days may differ in their last bits: the days are summed differently.)
    if (plan.redeploysPerAppDay() > limits.redeploys_per_app_day * (1 + 1e-9)) break;
    const bool better =
        !best || plan.cpu.reserved_hours < best->cpu.reserved_hours ||
        (plan.cpu.reserved_hours == best->cpu.reserved_hours && plan.mem.reserved_hours < best->mem.reserved_hours);
    if (better) best = plan;
  }
  return best;
}

HindsightLimits limitsOf(const PolicyResult& result) {
  return {result.cpu.insufficientPct(), result.mem.insufficientPct(), result.redeploysPerAppDay()};
}

}  // namespace rightsize::simulate
