#include "rightsize/sizing/scaling.h"

#include <gtest/gtest.h>

namespace rightsize::sizing {
namespace {

using namespace std::chrono_literals;

ScaleSettings rules(int low, int high, ScaleMetric metric = ScaleMetric::kCpu) {
  ScaleSettings s;
  s.min_instances = low;
  s.max_instances = high;
  s.metric = metric;
  return s;
}

// `tasks` tasks each using `per_task` cores of `cpus` (+ the executor's 0.1).
AppUsage cpuUse(int tasks, double per_task) {
  AppUsage usage;
  usage.tasks = tasks;
  usage.cpu_used_sum = tasks * per_task;
  usage.cpu_overhead = 0.1;
  return usage;
}

AppUsage lag(double lag_seconds, int partitions, bool falling_behind, double throttled = 0) {
  AppUsage usage = cpuUse(2, 0.5);
  usage.lag_seconds = lag_seconds;
  usage.kafka_partitions = partitions;
  usage.lag_reported = true;
  usage.lag_growing = falling_behind;
  usage.cpu_throttled = throttled;
  return usage;
}

struct Scaler {
  ScaleSettings settings;
  ScaleClock clock;
  std::optional<TimePoint> last_scale_at;
  ScaleEvaluation at(TimePoint now, int instances, const AppUsage& usage, bool kafka_consumer = false) {
    const ScaleInput input{.settings = settings,
                           .instances = instances,
                           .cpus = 1.0,
                           .usage = usage,
                           .kafka_consumer = kafka_consumer,
                           .last_scale_at = last_scale_at,
                           .now = now};
    return evaluateScale(input, ScaleOptions{}, clock);
  }
};

const TimePoint kScaleStart = fromUnixSeconds(1700000000);

TEST(ScalingTest, WithoutBothBoundsNothing) {
  Scaler run{ScaleSettings{}};
  const auto e = run.at(kScaleStart, 2, cpuUse(2, 1.0));
  EXPECT_FALSE(e.enabled);
  EXPECT_FALSE(e.scale);
  EXPECT_EQ(e.recommended, 2);
  EXPECT_EQ(e.reason, "");
}

TEST(ScalingTest, OutOnceTheMeanStaysAboveUpForTheSustain) {
  Scaler run{rules(2, 6)};
  // 1.045 of 1.1 reserved: 95 %.
  auto e = run.at(kScaleStart, 2, cpuUse(2, 1.045));
  ASSERT_TRUE(e.metric);
  EXPECT_NEAR(*e.metric, 0.95, 1e-9);
  EXPECT_EQ(e.direction, ScaleDirection::kOut);
  EXPECT_EQ(e.recommended, 3);
  EXPECT_FALSE(e.scale);
  EXPECT_FALSE(run.at(kScaleStart + 30s, 2, cpuUse(2, 1.045)).scale);
  e = run.at(kScaleStart + 60s, 2, cpuUse(2, 1.045));
  EXPECT_TRUE(e.scale);
  EXPECT_EQ(e.recommended, 3);
  EXPECT_NE(e.reason.find("2 -> 3 instances"), std::string::npos) << e.reason;
  // The busiest task is not the measure: one task at 100 %, one at 50 %:
  // a mean of 75 %, below 80 %.
  Scaler mean{rules(2, 6)};
  AppUsage uneven = cpuUse(2, 0.825);
  EXPECT_EQ(mean.at(kScaleStart, 2, uneven).direction, ScaleDirection::kNone);
}

TEST(ScalingTest, NoTwoDecisionsWithinTheIntervalAndNeverAboveMax) {
  Scaler run{rules(2, 4)};
  run.settings.step = 3;
  run.last_scale_at = kScaleStart;
  (void)run.at(kScaleStart, 2, cpuUse(2, 1.045));
  auto e = run.at(kScaleStart + 2min, 2, cpuUse(2, 1.045));
  EXPECT_FALSE(e.scale);
  EXPECT_NE(e.reason.find("the next scale decision from"), std::string::npos) << e.reason;
  e = run.at(kScaleStart + 5min, 2, cpuUse(2, 1.045));
  EXPECT_TRUE(e.scale);
  EXPECT_EQ(e.recommended, 4);  // 2 + 3, within max 4
  e = run.at(kScaleStart + 20min, 4, cpuUse(4, 1.045));
  EXPECT_FALSE(e.scale);
  EXPECT_EQ(e.recommended, 4);
  EXPECT_NE(e.reason.find("at its maximum of 4"), std::string::npos) << e.reason;
}

TEST(ScalingTest, InOnlyAfterAWholeIntervalBelowDownAndNeverBelowMin) {
  Scaler run{rules(2, 6)};
  run.settings.step = 5;
  auto e = run.at(kScaleStart, 4, cpuUse(4, 0.05));
  EXPECT_EQ(e.direction, ScaleDirection::kIn);
  EXPECT_EQ(e.recommended, 2);  // 4 - 5, within min 2
  EXPECT_FALSE(run.at(kScaleStart + 4min, 4, cpuUse(4, 0.05)).scale);
  // Back within the thresholds: the wait starts over.
  (void)run.at(kScaleStart + 4min + 30s, 4, cpuUse(4, 0.5));
  EXPECT_FALSE(run.at(kScaleStart + 6min, 4, cpuUse(4, 0.05)).scale);
  EXPECT_FALSE(run.at(kScaleStart + 10min, 4, cpuUse(4, 0.05)).scale);
  EXPECT_TRUE(run.at(kScaleStart + 11min, 4, cpuUse(4, 0.05)).scale);
  e = run.at(kScaleStart + 30min, 2, cpuUse(2, 0.05));
  EXPECT_FALSE(e.scale);
  EXPECT_NE(e.reason.find("at its minimum of 2"), std::string::npos) << e.reason;
}

TEST(ScalingTest, WithoutTheTasksMeanNoCpuScaling) {
  Scaler run{rules(2, 6)};
  AppUsage busiest_only;  // as the Prometheus source gives: the busiest task
  busiest_only.tasks = 4;
  busiest_only.cpu_used_avg = 0.05;
  const auto e = run.at(kScaleStart, 4, busiest_only);
  EXPECT_FALSE(e.metric);
  EXPECT_FALSE(e.scale);
  EXPECT_EQ(e.recommended, 4);
  EXPECT_NE(e.reason.find("no figures of the tasks' mean cpu use"), std::string::npos) << e.reason;
}

TEST(ScalingTest, OutsideItsBoundsAnAppIsBroughtWithinThem) {
  Scaler run{rules(3, 5)};
  auto e = run.at(kScaleStart, 1, cpuUse(1, 0.5));
  EXPECT_TRUE(e.scale);
  EXPECT_EQ(e.recommended, 3);
  e = run.at(kScaleStart, 9, AppUsage{});  // no figures needed
  EXPECT_TRUE(e.scale);
  EXPECT_EQ(e.recommended, 5);
}

TEST(ScalingTest, ALaggingConsumerGetsInstancesUpToItsPartitionsOnly) {
  Scaler run{rules(1, 8, ScaleMetric::kKafkaLagSeconds)};
  run.settings.step = 4;
  (void)run.at(kScaleStart, 2, lag(300, 4, true));
  auto e = run.at(kScaleStart + 1min, 2, lag(300, 4, true));
  EXPECT_TRUE(e.scale);
  EXPECT_EQ(e.recommended, 4);  // 2 + 4, but 4 partitions
  // At its partitions, not throttled: the bottleneck is elsewhere.
  e = run.at(kScaleStart + 10min, 4, lag(300, 4, true));
  EXPECT_FALSE(e.scale);
  EXPECT_EQ(e.recommended, 4);
  EXPECT_FALSE(e.wants_cpu);
  EXPECT_NE(e.reason.find("4 instances on 4 partitions"), std::string::npos) << e.reason;
  EXPECT_NE(e.reason.find("the bottleneck is elsewhere"), std::string::npos) << e.reason;
  // Throttled: more CPU per instance, not more instances.
  e = run.at(kScaleStart + 20min, 2, lag(300, 4, true, 0.4));
  EXPECT_FALSE(e.scale);
  EXPECT_TRUE(e.wants_cpu);
  EXPECT_EQ(e.recommended, 2);
  // Partitions unknown: no more instances.
  AppUsage unknown = lag(300, 4, true);
  unknown.kafka_partitions.reset();
  (void)run.at(kScaleStart + 30min, 2, unknown);
  EXPECT_FALSE(run.at(kScaleStart + 32min, 2, unknown).scale);
}

TEST(ScalingTest, AnAlertScalesWithoutTheWaitButWithinTheRules) {
  Scaler run{rules(2, 6)};
  run.settings.step = 2;
  AppUsage calm = cpuUse(2, 0.55);  // 50 %: nothing of its own
  ScaleInput input{.settings = run.settings, .instances = 2, .cpus = 1.0, .usage = calm, .now = kScaleStart};
  input.alert = ScaleDirection::kOut;
  auto e = evaluateScale(input, ScaleOptions{}, run.clock);
  EXPECT_TRUE(e.scale);
  EXPECT_EQ(e.recommended, 4);
  EXPECT_EQ(e.reason, "an alert asked to scale out: 2 -> 4 instances");
  input.last_scale_at = kScaleStart - 1min;  // within the interval
  EXPECT_FALSE(evaluateScale(input, ScaleOptions{}, run.clock).scale);
  // A consumer: never beyond its partitions, never in while it lags.
  ScaleSettings consumer = rules(1, 8, ScaleMetric::kKafkaLagSeconds);
  AppUsage at_partitions = lag(30, 4, false);
  ScaleInput asked{.settings = consumer, .instances = 4, .cpus = 1.0, .usage = at_partitions, .now = kScaleStart};
  asked.alert = ScaleDirection::kOut;
  e = evaluateScale(asked, ScaleOptions{}, run.clock);
  EXPECT_FALSE(e.scale);
  EXPECT_EQ(e.reason, "an alert asked to scale out: at its maximum of 4 instances (its partitions)");
  AppUsage lagging = lag(30, 8, true);
  ScaleInput in{.settings = consumer, .instances = 4, .cpus = 1.0, .usage = lagging, .now = kScaleStart};
  in.alert = ScaleDirection::kIn;
  e = evaluateScale(in, ScaleOptions{}, run.clock);
  EXPECT_FALSE(e.scale);
  EXPECT_EQ(e.reason, "an alert asked to scale in, but its consumer lag is not OK");
}

TEST(ScalingTest, AConsumerScalesInOnlyWithItsLagOk) {
  Scaler run{rules(1, 8, ScaleMetric::kKafkaLagSeconds)};
  // Below 5 s of lag, but a group is WARN: not in.
  auto e = run.at(kScaleStart, 4, lag(1, 8, true));
  EXPECT_EQ(e.direction, ScaleDirection::kNone);
  EXPECT_NE(e.reason.find("not OK"), std::string::npos) << e.reason;
  (void)run.at(kScaleStart + 1min, 4, lag(1, 8, false));
  EXPECT_TRUE(run.at(kScaleStart + 6min, 4, lag(1, 8, false)).scale);
  // A cpu-scaled app labelled with consumer groups: the same guard.
  Scaler cpu{rules(1, 8)};
  AppUsage idle = cpuUse(4, 0.05);
  idle.lag_growing = true;
  idle.lag_reported = true;
  EXPECT_EQ(cpu.at(kScaleStart, 4, idle, /*kafka_consumer=*/true).direction, ScaleDirection::kNone);
  idle.lag_growing = false;
  (void)cpu.at(kScaleStart + 1min, 4, idle, true);
  EXPECT_TRUE(cpu.at(kScaleStart + 6min, 4, idle, true).scale);
}

// The time of day: an app whose busiest task's p95 recurs at 1.0 core at
// 09:00 while it uses 0.6 now (a mean of 55 % of its 1.1 reserved) would be
// at 92 %: it scales out now, ahead of the peak, without the sustain; and
// an app below `down` is not scaled in when the coming peak would put its
// fewer instances above `up`.
TEST(ScalingTest, AheadOfARecurringDailyPeakOutNowAndNotIn) {
  Scaler run{rules(2, 6)};
  AppUsage before_peak = cpuUse(2, 0.605);
  before_peak.cpu_used_p95 = 0.6;
  before_peak.cpu_forecast_soon = 1.0;
  before_peak.cpu_forecast_soon_at = kScaleStart + 40min;
  auto e = run.at(kScaleStart, 2, before_peak);
  EXPECT_TRUE(e.scale);
  EXPECT_EQ(e.direction, ScaleDirection::kOut);
  EXPECT_EQ(e.recommended, 3);
  EXPECT_NE(e.reason.find("ahead of its daily peak at"), std::string::npos) << e.reason;
  EXPECT_NE(e.reason.find("(cpu expected at 92% of its reservation)"), std::string::npos) << e.reason;
  // Without the profile: within the thresholds, nothing.
  Scaler reactive{rules(2, 6)};
  AppUsage plain = cpuUse(2, 0.605);
  plain.cpu_used_p95 = 0.6;
  EXPECT_EQ(reactive.at(kScaleStart, 2, plain).direction, ScaleDirection::kNone);
  // A peak that fits: nothing either.
  before_peak.cpu_forecast_soon = 0.7;
  EXPECT_EQ(Scaler{rules(2, 6)}.at(kScaleStart, 2, before_peak).direction, ScaleDirection::kNone);

  // 4 instances at 25 % (below 30 %): 3 would be at 33 % x 3 = 100 % at a
  // peak three times today's use: held.
  Scaler hold{rules(2, 6)};
  AppUsage quiet = cpuUse(4, 0.275);
  quiet.cpu_used_p95 = 0.3;
  quiet.cpu_forecast_soon = 0.9;
  quiet.cpu_forecast_soon_at = kScaleStart + 30min;
  e = hold.at(kScaleStart + 1h, 4, quiet);
  EXPECT_FALSE(e.scale);
  EXPECT_EQ(e.direction, ScaleDirection::kNone);
  EXPECT_NE(e.reason.find("3 instances would be above 80%"), std::string::npos) << e.reason;
}

}  // namespace
}  // namespace rightsize::sizing
