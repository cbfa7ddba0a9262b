#include "rightsize/simulate/scaling_replay.h"

#include <gtest/gtest.h>

namespace rightsize::simulate {
namespace {

using namespace std::chrono_literals;

// Four days of an app whose load is 1 core, ramps to 4 cores from 08:00 to
// 09:00, holds until 12:00 and falls back by 13:00 (UTC), at 5-minute points;
// it reserves 2 cores (2 instances of 1 core at its minimum).
Trace dailyRamp(int days = 4) {
  AppTrace app;
  app.app_id = "/ramp";
  const TimePoint start = fromUnixSeconds(1'700'006'400);  // 2023-11-15 00:00 UTC
  for (TimePoint at = start; at < start + std::chrono::days(days); at += 5min) {
    const double hour =
        std::chrono::duration<double, std::ratio<3600>>(at - std::chrono::floor<std::chrono::days>(at)).count();
    double load = 1;
    if (hour >= 8 && hour < 9) load = 1 + 3 * (hour - 8);
    if (hour >= 9 && hour < 12) load = 4;
    if (hour >= 12 && hour < 13) load = 4 - 3 * (hour - 12);
    app.points.push_back({.at = at, .cpu_reserved_cores = 2, .cpu_used_cores = load});
  }
  Trace trace;
  trace.start = app.points.front().at;
  trace.end = app.points.back().at;
  trace.samples = app.points.size();
  trace.apps.push_back(std::move(app));
  return trace;
}

ScalingReplayOptions rules() {
  ScalingReplayOptions options;
  options.rules.min_instances = 2;
  options.rules.max_instances = 10;
  options.rules.up = 0.7;
  options.rules.down = 0.3;
  options.rules.step = 1;
  options.instance_start = 5min;
  return options;
}

// The test: with the time-of-day profile the app is above its
// threshold for less time than the purely reactive one, at no more than
// 10 % more instance-hours.
TEST(ScalingReplayTest, AheadOfTheDailyRampLessTimeAboveTheThresholdForFewInstanceHoursMore) {
  const Trace trace = dailyRamp();
  ScalingReplayOptions reactive = rules();
  reactive.forecast = false;
  const AppScaling without = replayScaling(trace, reactive).apps.at(0);
  const AppScaling with = replayScaling(trace, rules()).apps.at(0);
  EXPECT_EQ(without.ahead_of_peak, 0U);
  EXPECT_GT(with.ahead_of_peak, 0U);
  EXPECT_GT(without.hours_above_up, 0);
  EXPECT_LT(with.hours_above_up, without.hours_above_up);
  EXPECT_LE(with.instance_hours, 1.1 * without.instance_hours);
  EXPECT_LE(with.unmet_core_hours, without.unmet_core_hours);
  EXPECT_DOUBLE_EQ(with.cpus, 1);  // 2 cores over the minimum of 2
  EXPECT_NEAR(with.hours, 96, 0.1);
  EXPECT_NEAR(with.used_core_hours, without.used_core_hours, 1e-9);
  std::printf(
      "reactive: %.2f h above, %.1f instance-hours, %zu outs; ahead: %.2f h above, %.1f instance-hours, %zu outs (%zu "
      "ahead)\n",
      without.hours_above_up, without.instance_hours, without.scale_outs, with.hours_above_up, with.instance_hours,
      with.scale_outs, with.ahead_of_peak);
}

// New instances serve only after --instance-start: a longer start leaves
// the load above the threshold longer; the bounds hold.
TEST(ScalingReplayTest, InstancesServeAfterTheirStartAndStayWithinTheBounds) {
  const Trace trace = dailyRamp(1);
  ScalingReplayOptions quick = rules();
  quick.forecast = false;
  quick.instance_start = 0s;
  ScalingReplayOptions slow = quick;
  slow.instance_start = 30min;
  const AppScaling fast_start = replayScaling(trace, quick).apps.at(0);
  const AppScaling slow_start = replayScaling(trace, slow).apps.at(0);
  EXPECT_GT(slow_start.hours_above_up, fast_start.hours_above_up);
  EXPECT_GT(slow_start.max_backlog_core_seconds, fast_start.max_backlog_core_seconds);
  ScalingReplayOptions capped = quick;
  capped.rules.max_instances = 3;
  const AppScaling at_most_three = replayScaling(trace, capped).apps.at(0);
  EXPECT_EQ(at_most_three.max_instances, 3);
  EXPECT_NEAR(at_most_three.peak_utilisation, 4.0 / 3, 1e-9);
  EXPECT_GT(at_most_three.unmet_core_hours, 0);
  EXPECT_GE(fast_start.scale_ins, 1U);
}

// A gap in the trace is unknown load, as in the sizing replay: the point
// after three hours without samples stands for twice the usual step (10
// minutes) of its load and unmet demand, while the instances running
// through the gap count in full.
TEST(ScalingReplayTest, AGapCountsItsInstancesButNotThePointAftersLoadThroughout) {
  AppTrace app;
  app.app_id = "/gappy";
  TimePoint at = fromUnixSeconds(1'700'006'400);
  for (int i = 0; i < 12; ++i, at += 5min)
    app.points.push_back({.at = at, .cpu_reserved_cores = 2, .cpu_used_cores = 1});
  at += 3h;  // then a point 3h05m after the last: 4 cores on 2 instances of 1
  app.points.push_back({.at = at, .cpu_reserved_cores = 2, .cpu_used_cores = 4});
  Trace trace;
  trace.start = app.points.front().at;
  trace.end = app.points.back().at;
  trace.samples = app.points.size();
  trace.apps.push_back(std::move(app));
  ScalingReplayOptions options = rules();
  options.forecast = false;
  const AppScaling result = replayScaling(trace, options).apps.at(0);
  const double before = 12 * 5.0 / 60;  // the first point stands for a step too
  EXPECT_NEAR(result.hours, before + 3 + 5.0 / 60, 1e-9);
  EXPECT_NEAR(result.instance_hours, 2 * result.hours, 1e-9);
  EXPECT_NEAR(result.unmet_core_hours, 2 * 10.0 / 60, 1e-9);
  EXPECT_NEAR(result.used_core_hours, before + 4 * 10.0 / 60, 1e-9);
  EXPECT_NEAR(result.hours_above_up, 10.0 / 60, 1e-9);
  EXPECT_NEAR(result.max_backlog_core_seconds, 2 * 600, 1e-6);
}

// The grid finds the fewest instance-hours whose peak utilisation stays
// under the bound; a bound nothing meets has no best.
TEST(ScalingReplayTest, TheGridFindsTheCheapestSettingUnderTheUtilisationBound) {
  const Trace trace = dailyRamp(3);
  const std::vector<double> ups{0.5, 0.7, 0.9};
  const std::vector<double> downs{0.2, 0.4};
  const std::vector<int> steps{1, 2};
  const ScalingGrid grid = scalingGrid(trace, rules(), 1.0, ups, downs, steps);
  EXPECT_EQ(grid.points.size(), 12U);
  ASSERT_TRUE(grid.best);
  const ScalingGridPoint& best = grid.points[*grid.best];
  EXPECT_LE(best.result.total.peak_utilisation, 1.0);
  for (const ScalingGridPoint& point : grid.points) {
    if (point.within) {
      EXPECT_GE(point.result.total.instance_hours, best.result.total.instance_hours);
    }
  }
  EXPECT_FALSE(scalingGrid(trace, rules(), 0.01, ups, downs, steps).best);
}

}  // namespace
}  // namespace rightsize::simulate
