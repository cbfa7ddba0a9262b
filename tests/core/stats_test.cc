#include "rightsize/core/stats.h"

#include <gtest/gtest.h>

#include <cmath>

namespace rightsize {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const TimePoint kStart = fromUnixSeconds(1'700'000'000);

TEST(TimeEwmaTest, FirstSampleSetsTheAverage) {
  TimeEwma ewma(minutes(5));
  EXPECT_FALSE(ewma.value());
  ewma.update(kStart, 2.0);
  EXPECT_DOUBLE_EQ(*ewma.value(), 2.0);
}

TEST(TimeEwmaTest, StepResponseReachesOneMinusOneOverEAfterOneTimeConstant) {
  TimeEwma ewma(minutes(5));
  ewma.update(kStart, 0.0);
  for (int i = 1; i <= 30; ++i) ewma.update(kStart + seconds(10 * i), 1.0);
  EXPECT_NEAR(*ewma.value(), 1.0 - std::exp(-1.0), 1e-9);
}

TEST(TimeEwmaTest, IrregularSamplingGivesTheSameAverageAsRegular) {
  TimeEwma regular(minutes(1));
  TimeEwma irregular(minutes(1));
  regular.update(kStart, 0.0);
  irregular.update(kStart, 0.0);
  for (int i = 1; i <= 6; ++i) regular.update(kStart + seconds(10 * i), 1.0);
  irregular.update(kStart + seconds(60), 1.0);  // one sample after a 60 s gap
  EXPECT_NEAR(*regular.value(), *irregular.value(), 1e-12);
}

TEST(TimeEwmaTest, IgnoresRepeatedTimestampsAndRebasesWhenTimeGoesBack) {
  TimeEwma ewma(minutes(1));
  ewma.update(kStart, 1.0);
  ewma.update(kStart, 100.0);
  EXPECT_DOUBLE_EQ(*ewma.value(), 1.0);
  ewma.update(kStart - minutes(10), 100.0);  // clock went back: ignored, time base restarts
  EXPECT_DOUBLE_EQ(*ewma.value(), 1.0);
  ewma.update(kStart - minutes(9), 0.0);  // one minute after the new base
  EXPECT_NEAR(*ewma.value(), std::exp(-1.0), 1e-12);
}

TEST(SlidingWindowTest, NearestRankPercentile) {
  SlidingWindow window(minutes(5), 1000);
  for (int i = 1; i <= 100; ++i) window.add(kStart + seconds(i), static_cast<double>(i));
  EXPECT_DOUBLE_EQ(*window.quantile(0.95), 95.0);
  EXPECT_DOUBLE_EQ(*window.quantile(0.5), 50.0);
  EXPECT_DOUBLE_EQ(*window.quantile(1.0), 100.0);
  EXPECT_DOUBLE_EQ(*window.quantile(0.0), 1.0);
  EXPECT_DOUBLE_EQ(*window.max(), 100.0);
}

TEST(SlidingWindowTest, ForgetsSamplesOlderThanTheWindow) {
  SlidingWindow window(minutes(5), 1000);
  window.add(kStart, 10.0);
  window.add(kStart + minutes(1), 1.0);
  EXPECT_DOUBLE_EQ(*window.max(), 10.0);
  window.add(kStart + minutes(5) + seconds(1), 2.0);
  EXPECT_EQ(window.size(), 2u);
  EXPECT_DOUBLE_EQ(*window.max(), 2.0);
  window.expire(kStart + minutes(20));
  EXPECT_TRUE(window.empty());
  EXPECT_FALSE(window.quantile(0.95));
}

TEST(SlidingWindowTest, KeepsAtMostMaxSamples) {
  SlidingWindow window(minutes(5), 3);
  for (int i = 0; i < 10; ++i) window.add(kStart + seconds(i), static_cast<double>(i));
  EXPECT_EQ(window.size(), 3u);
  EXPECT_DOUBLE_EQ(*window.quantile(0.0), 7.0);
}

}  // namespace
}  // namespace rightsize
