#include "rightsize/simulate/hindsight.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <optional>

#include "one_app_trace.h"

#include "rightsize/simulate/simulate.h"

namespace rightsize::simulate {
namespace {

constexpr double kStepHours = 5.0 / 60;

// One app, 5-minute steps, `reserved` cores and 1024 MiB reserved, memory
// used `mem_used` MiB throughout.
Trace oneApp(const std::vector<double>& cpu_used, double reserved = 1.0, double mem_used = 500) {
  return oneAppTrace(cpu_used, reserved, mem_used);
}

HindsightPrices prices(double insufficient, double change) {
  HindsightPrices p;
  p.cpu_insufficient = insufficient;
  p.mem_insufficient = insufficient;
  p.cpu_change = change;
  p.mem_change = change;
  return p;
}

TEST(HindsightTest, ConstantUseIsReservedExactlyAfterOneChange) {
  const HindsightPlan plan = hindsightPlan(oneApp(std::vector<double>(24, 0.3)), prices(10, 0.01));
  // 2 hours at 0.20 cores: a container limit of 0.30 with the command executor's 0.1.
  EXPECT_NEAR(plan.cpu.reserved_hours, 0.2 * 2, 1e-9);
  EXPECT_EQ(plan.cpu.insufficient_samples, 0U);
  EXPECT_EQ(plan.cpu_changes, 1U);  // 1.0 -> 0.2 at the first sample
  EXPECT_NEAR(plan.cpu.slack_hours, 0, 1e-9);
  // Memory: 500 MiB lands on 512 (16 x 32 MiB), one change from 1024.
  EXPECT_NEAR(plan.mem.reserved_hours, 0.5 * 2, 1e-9);
  EXPECT_EQ(plan.mem_changes, 1U);
  EXPECT_EQ(plan.redeploys, 1U);  // one redeploy carries both changes
  EXPECT_NEAR(plan.app_days, 2.0 / 24, 1e-9);
}

// A gap in the trace is counted as a replay counts it: the level is paid
// through it, the use and the slack only over the steps observed.
TEST(HindsightTest, AGapIsPaidForButItsUseIsUnknown) {
  Trace trace = oneApp(std::vector<double>(12, 0.3));
  auto& points = trace.apps[0].points;
  for (std::size_t i = 6; i < points.size(); ++i) points[i].at += std::chrono::minutes(175);  // 3 h between 5 and 6
  trace.end = points.back().at;
  const HindsightPlan plan = hindsightPlan(trace, prices(10, 0.01));
  EXPECT_NEAR(plan.cpu.reserved_hours, 0.2 * (1 + 175 / 60.0), 1e-9);
  EXPECT_NEAR(plan.cpu.used_hours, 0.3 * (11 * 5 + 10) / 60.0, 1e-9);
  EXPECT_NEAR(plan.cpu.observed_reserved_hours, 0.2 * (11 * 5 + 10) / 60.0, 1e-9);
  EXPECT_NEAR(plan.mem.reserved_hours, 0.5 * (1 + 175 / 60.0), 1e-9);
  EXPECT_NEAR(plan.app_days, (60 + 175) / 60.0 / 24, 1e-9);
  // The replay of the same trace with the trace's reservation kept agrees on use.
  const PolicyResult kept = replay(trace,
                                   {"keep",
                                    [](const std::string&, const Reservation&) {
                                      struct Keep final : SimPolicy {
                                        Reservation observe(const Observation& o, bool) override { return o.reserved; }
                                      };
                                      return std::make_unique<Keep>();
                                    }},
                                   {});
  EXPECT_NEAR(kept.cpu.used_hours, plan.cpu.used_hours, 1e-9);
}

TEST(HindsightTest, ChangesDearerThanTheirSavingKeepTheTracesReservation) {
  // Saving 0.7 cores for 2 hours is 1.4 core-hours: a change priced at 2 is not worth it.
  const HindsightPlan plan = hindsightPlan(oneApp(std::vector<double>(24, 0.3)), prices(10, 2));
  EXPECT_NEAR(plan.cpu.reserved_hours, 1.0 * 2, 1e-9);
  EXPECT_EQ(plan.cpu_changes, 0U);
}

TEST(HindsightTest, ARareSpikeIsLeftShortWhenItsSamplesAreCheap) {
  std::vector<double> used(24, 0.1);
  used[12] = 0.9;
  // 0.1 used fits the floor of 0.05 cores (a container limit of 0.15 with the command executor's 0.1).
  // Covering the spike costs 0.75 cores for one step plus two changes (0.083 core-hours): worth it at 10
  // per sample, not at 0.05.
  const HindsightPlan cheap = hindsightPlan(oneApp(used), prices(0.05, 0.01));
  EXPECT_NEAR(cheap.cpu.reserved_hours, 0.05 * 2, 1e-9);
  EXPECT_EQ(cheap.cpu.insufficient_samples, 1U);
  EXPECT_NEAR(cheap.cpu.shortfall_hours, 0.75 * kStepHours, 1e-9);  // above the container's 0.15
  // Dear: rise to 0.8 for the spike only (two more changes at 0.01 each).
  const HindsightPlan dear = hindsightPlan(oneApp(used), prices(10, 0.01));
  EXPECT_EQ(dear.cpu.insufficient_samples, 0U);
  EXPECT_NEAR(dear.cpu.reserved_hours, 0.05 * 2 + 0.75 * kStepHours, 1e-9);
  EXPECT_EQ(dear.cpu_changes, 3U);
}

TEST(HindsightTest, AStepInUseIsFollowedWhenChangesAreCheap) {
  std::vector<double> used(12, 0.2);
  used.resize(24, 0.8);
  const HindsightPlan plan = hindsightPlan(oneApp(used), prices(10, 0.01));
  EXPECT_NEAR(plan.cpu.reserved_hours, 0.1 * 1 + 0.7 * 1, 1e-9);  // the use less the executor's 0.1
  EXPECT_EQ(plan.cpu_changes, 2U);                                // 1.0 -> 0.1 -> 0.7
  EXPECT_EQ(plan.cpu.insufficient_samples, 0U);
  EXPECT_EQ(plan.mem_changes, 1U);  // 1024 -> 512 with the first CPU change
  EXPECT_EQ(plan.redeploys, 2U);
}

TEST(HindsightTest, WithinLimitsOfNoRedeploysAndNoShortfallKeepsTheReservation) {
  std::vector<double> used(12, 0.2);
  used.resize(24, 0.8);
  const auto plan = hindsightWithin(oneApp(used), HindsightLimits{0, 0, 0});
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->redeploys, 0U);
  EXPECT_NEAR(plan->cpu.reserved_hours, 1.0 * 2, 1e-9);
  EXPECT_EQ(plan->cpu.insufficient_samples, 0U);
}

TEST(HindsightTest, WithinLimitsUsesTheRedeploysAndShortfallItIsAllowed) {
  std::vector<double> used(24, 0.2);
  used[12] = 0.8;
  // 1 % of 24 samples is none; 5 % allows the spike's one sample.
  const auto strict = hindsightWithin(oneApp(used), HindsightLimits{1, 1, 100});
  const auto loose = hindsightWithin(oneApp(used), HindsightLimits{5, 5, 100});
  ASSERT_TRUE(strict.has_value());
  ASSERT_TRUE(loose.has_value());
  EXPECT_EQ(strict->cpu.insufficient_samples, 0U);
  EXPECT_EQ(loose->cpu.insufficient_samples, 1U);
  // 0.1 cores (0.2 used within the container's 0.2); the spike's sample, short anyway, at most that.
  EXPECT_LE(loose->cpu.reserved_hours, 0.1 * 24 * kStepHours + 1e-9);
  EXPECT_GE(loose->cpu.reserved_hours, 0.1 * 23 * kStepHours + 0.05 * kStepHours - 1e-9);
  EXPECT_GT(strict->cpu.reserved_hours, loose->cpu.reserved_hours);
  EXPECT_LE(strict->redeploysPerAppDay(), 100);
}

TEST(HindsightTest, AnAbsurdUseIsPlannedOnACoarserGridNotExhaustingMemory) {
  // A billion cores and an exbibyte would be 2e10 and 3e10 levels of the
  // sizer's steps: the grid coarsens, the plan still covers the use, within
  // one coarse step.
  const HindsightPlan plan = hindsightPlan(oneApp(std::vector<double>(24, 1e9), 1.0, 1e12), prices(1e12, 1));
  EXPECT_EQ(plan.cpu.insufficient_samples, 0U);
  EXPECT_EQ(plan.mem.insufficient_samples, 0U);
  EXPECT_GE(plan.cpu.reserved_hours, 1e9 * 2);
  EXPECT_LE(plan.cpu.reserved_hours, 1e9 * 2 * 1.001);
  EXPECT_GE(plan.mem.reserved_hours, 1e12 / 1024 * 2);
  EXPECT_LE(plan.mem.reserved_hours, 1e12 / 1024 * 2 * 1.001);
  // A few samples of a million cores (20 million levels of 0.05, well
  // under the cells' bound) are planned on a coarser grid too: the price
  // search solves the program dozens of times (it took minutes). Covered,
  // within one coarse step (1e6 / 65,536 levels: 15.3 cores a level).
  const HindsightPlan million = hindsightPlan(oneApp(std::vector<double>(3, 1e6), 1.0, 500), prices(1e6, 1));
  EXPECT_EQ(million.cpu.insufficient_samples, 0U);
  EXPECT_GT(million.cpu.reserved_hours, 1e6 * 3 * kStepHours);
  EXPECT_LE(million.cpu.reserved_hours, (1e6 + 15.3) * 3 * kStepHours + 1e-6);
  // Beyond any grid: nothing to gain over the trace's own reservation, and no crash.
  const HindsightPlan absurd = hindsightPlan(oneApp(std::vector<double>(24, 1e300), 1.0, 1e300), prices(1, 1));
  EXPECT_EQ(absurd.cpu.samples, 24U);
  EXPECT_TRUE(std::isfinite(absurd.cpu.reserved_hours));
}

// The fewest core-hours of any plan on the grid (0.05 .. 0.30 cores, the
// trace starting at 0.30) within the limits, by trying every plan: 6^6 of
// them. A sample is insufficient above the level and the executor's 0.1.
std::optional<double> fewestHoursByEnumeration(const std::vector<double>& used, std::size_t max_insufficient,
                                               std::size_t max_changes) {
  constexpr std::size_t kLevels = 6;
  const std::size_t n = used.size();
  std::size_t plans = 1;
  for (std::size_t t = 0; t < n; ++t) plans *= kLevels;
  std::optional<double> best;
  for (std::size_t code = 0; code < plans; ++code) {
    double core_hours = 0;
    std::size_t insufficient = 0;
    std::size_t changes = 0;
    std::size_t previous = kLevels;  // the start: 0.30 cores, level 6
    std::size_t rest = code;
    for (std::size_t t = 0; t < n; ++t) {
      const std::size_t level = rest % kLevels + 1;
      rest /= kLevels;
      const double cores = 0.05 * static_cast<double>(level);
      core_hours += cores * kStepHours;
      if (used[t] > cores + 0.1 + 1e-12) ++insufficient;
      if (level != previous) ++changes;
      previous = level;
    }
    if (insufficient <= max_insufficient && changes <= max_changes && (!best || core_hours < *best)) best = core_hours;
  }
  return best;
}

TEST(HindsightTest, TheBoundIsNeverAboveThePlansWithinTheLimits) {
  const std::vector<double> used = {0.1, 0.3, 0.1, 0.2, 0.05, 0.15};
  const double days = 6 * kStepHours / 24;
  const Trace trace = oneApp(used, 0.3);
  for (std::size_t insufficient = 0; insufficient <= 3; ++insufficient) {
    for (std::size_t changes = 0; changes <= 4; ++changes) {
      const HindsightLimits limits{100.0 * static_cast<double>(insufficient) / 6, 100,
                                   static_cast<double>(changes) / days};
      const auto fewest = fewestHoursByEnumeration(used, insufficient, changes);
      ASSERT_TRUE(fewest.has_value());
      const HindsightBound bound = hindsightBound(trace, limits);
      EXPECT_LE(bound.cpu_hours, *fewest + 1e-9) << insufficient << " insufficient, " << changes << " changes";
      // Not vacuous: at least the use itself rounded down the grid's first step, and, with nothing allowed,
      // the trace's own reservation.
      EXPECT_GT(bound.cpu_hours, 0.05 * 6 * kStepHours * 0.99);
      if (insufficient == 0 && changes == 0) {
        EXPECT_NEAR(bound.cpu_hours, *fewest, 1e-6);
      }
      const auto plan = hindsightWithin(trace, limits);
      if (plan) {
        EXPECT_LE(bound.cpu_hours, plan->cpu.reserved_hours + 1e-9);
      }
    }
  }
}

TEST(HindsightTest, TheBoundMeetsTheOptimumWhereChangesAreFree) {
  // As many redeploys as samples and no insufficient sample: following the
  // use less the executor's 0.1 on the grid (at least its 0.05) is optimal,
  // and the bound finds it.
  const std::vector<double> used = {0.1, 0.3, 0.1, 0.2, 0.05, 0.15};
  const HindsightBound bound = hindsightBound(oneApp(used, 0.3), HindsightLimits{0, 0, 1e6});
  EXPECT_NEAR(bound.cpu_hours, (0.05 + 0.2 + 0.05 + 0.1 + 0.05 + 0.05) * kStepHours, 1e-4);
  // Memory: 500 MiB used throughout, 512 on the grid after one change from 1024 (2 GiB-hours per 2 hours
  // at 1024): 0.5 GiB for half an hour.
  EXPECT_NEAR(bound.mem_hours, 0.5 * 6 * kStepHours, 1e-4);
  // Off the grid a plan may reserve a step less at each sample.
  EXPECT_NEAR(bound.cpu_hours_off_grid, bound.cpu_hours - 0.05 * 6 * kStepHours, 1e-9);
  EXPECT_NEAR(bound.mem_hours_off_grid, bound.mem_hours - 32.0 / 1024 * 6 * kStepHours, 1e-9);
  const HindsightBound kept = hindsightBound(oneApp(used, 0.3), HindsightLimits{100, 100, 0});
  EXPECT_NEAR(kept.mem_hours, 1.0 * 6 * kStepHours, 1e-4);
}

TEST(HindsightTest, LimitsOfAReplayedPolicy) {
  PolicyResult result;
  result.cpu.samples = 200;
  result.cpu.insufficient_samples = 3;
  result.mem.samples = 100;
  result.mem.insufficient_samples = 1;
  result.redeploys = 5;
  result.app_days = 2;
  const HindsightLimits limits = limitsOf(result);
  EXPECT_DOUBLE_EQ(limits.cpu_insufficient_pct, 1.5);
  EXPECT_DOUBLE_EQ(limits.mem_insufficient_pct, 1.0);
  EXPECT_DOUBLE_EQ(limits.redeploys_per_app_day, 2.5);
}

}  // namespace
}  // namespace rightsize::simulate
