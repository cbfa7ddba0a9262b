#include "rightsize/agent/container_tracker.h"

#include <gtest/gtest.h>

#include <cmath>

namespace rightsize::agent {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

class ContainerTrackerTest : public ::testing::Test {
 protected:
  ContainerTrackerTest() { options_.window = minutes(5); }

  // A reading `t` seconds after the start with `cpu` cumulative seconds.
  ContainerSample sample(double t, double cpu) const {
    ContainerSample s;
    s.identity.container_id = "c1";
    s.identity.app_id = "/web";
    s.at = start_ + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(t));
    s.cpu_seconds = cpu;
    s.reserved_cores = 1.1;
    s.memory_limit_bytes = 160u << 20;
    s.memory_used_bytes = 100u << 20;
    return s;
  }

  TrackerOptions options_;
  TimePoint start_ = fromUnixSeconds(1'700'000'000);
};

TEST_F(ContainerTrackerTest, FirstReadingGivesMemoryButNoCpuRate) {
  ContainerTracker tracker(options_);
  ASSERT_TRUE(tracker.update(sample(0, 100)).ok());
  const ContainerStats stats = tracker.stats();
  EXPECT_EQ(stats.samples, 1u);
  EXPECT_FALSE(stats.used_cores);
  EXPECT_FALSE(stats.used_cores_avg);
  EXPECT_FALSE(stats.lying_factor_cores);
  EXPECT_DOUBLE_EQ(*stats.reserved_cores, 1.1);
  EXPECT_DOUBLE_EQ(*stats.memory_used_bytes, 100u << 20);
  EXPECT_DOUBLE_EQ(*stats.memory_lying_factor_bytes, 60u << 20);
}

TEST_F(ContainerTrackerTest, UsedCoresIsCpuTimeOverWallTime) {
  ContainerTracker tracker(options_);
  ASSERT_TRUE(tracker.update(sample(0, 100)).ok());
  ASSERT_TRUE(tracker.update(sample(10, 104.2)).ok());
  const ContainerStats stats = tracker.stats();
  EXPECT_NEAR(*stats.used_cores, 0.42, 1e-9);
  EXPECT_NEAR(*stats.used_cores_avg, 0.42, 1e-9);
  EXPECT_NEAR(*stats.lying_factor_cores, 1.1 - 0.42, 1e-9);
  EXPECT_EQ(stats.samples, 2u);
}

TEST_F(ContainerTrackerTest, MovingAverageFollowsAStepWithTheWindowAsTimeConstant) {
  ContainerTracker tracker(options_);
  double cpu = 0;
  ASSERT_TRUE(tracker.update(sample(0, cpu)).ok());
  cpu += 10 * 0.2;
  ASSERT_TRUE(tracker.update(sample(10, cpu)).ok());  // 0.2 cores: the average starts there
  for (int i = 2; i <= 31; ++i) {                     // then 1.0 core for 300 s = one time constant
    cpu += 10 * 1.0;
    ASSERT_TRUE(tracker.update(sample(10.0 * i, cpu)).ok());
  }
  const ContainerStats stats = tracker.stats();
  EXPECT_NEAR(*stats.used_cores_avg, 1.0 - 0.8 * std::exp(-1.0), 1e-9);
  EXPECT_NEAR(*stats.lying_factor_cores, 1.1 - *stats.used_cores_avg, 1e-9);
  EXPECT_DOUBLE_EQ(*stats.used_cores_p95, 1.0);
  EXPECT_EQ(stats.samples, 31u);  // 300 s window at 10 s: the readings from t=10 to t=310
}

TEST_F(ContainerTrackerTest, P95AndPeakCoverOnlyTheWindow) {
  ContainerTracker tracker(options_);
  double cpu = 0;
  ASSERT_TRUE(tracker.update(sample(0, cpu)).ok());
  auto spike = sample(10, cpu += 10 * 3.0);  // a 3-core spike with a memory peak
  spike.memory_used_bytes = 150u << 20;
  ASSERT_TRUE(tracker.update(spike).ok());
  for (int i = 2; i <= 10; ++i) ASSERT_TRUE(tracker.update(sample(10.0 * i, cpu += 10 * 0.5)).ok());
  EXPECT_DOUBLE_EQ(*tracker.stats().used_cores_p95, 3.0);  // nearest rank: the 10th of 10 rates
  EXPECT_DOUBLE_EQ(*tracker.stats().memory_used_bytes_peak, 150u << 20);
  for (int i = 11; i <= 40; ++i) ASSERT_TRUE(tracker.update(sample(10.0 * i, cpu += 10 * 0.5)).ok());
  EXPECT_DOUBLE_EQ(*tracker.stats().used_cores_p95, 0.5);
  EXPECT_DOUBLE_EQ(*tracker.stats().memory_used_bytes_peak, 100u << 20);
}

TEST_F(ContainerTrackerTest, CounterResetIsReportedAndStartsANewBaseline) {
  ContainerTracker tracker(options_);
  ASSERT_TRUE(tracker.update(sample(0, 500)).ok());
  ASSERT_TRUE(tracker.update(sample(10, 505)).ok());
  auto reset = tracker.update(sample(20, 1));  // the container restarted
  ASSERT_FALSE(reset.ok());
  EXPECT_EQ(reset.error().kind(), ErrorKind::kCounterReset);
  EXPECT_NE(reset.error().message().find("c1"), std::string::npos);
  EXPECT_FALSE(tracker.stats().used_cores);
  EXPECT_NEAR(*tracker.stats().used_cores_avg, 0.5, 1e-9);  // history kept
  ASSERT_TRUE(tracker.update(sample(30, 3)).ok());
  EXPECT_NEAR(*tracker.stats().used_cores, 0.2, 1e-9);
}

TEST_F(ContainerTrackerTest, TimeGoingBackIsAClockJump) {
  ContainerTracker tracker(options_);
  ASSERT_TRUE(tracker.update(sample(100, 10)).ok());
  ASSERT_TRUE(tracker.update(sample(110, 15)).ok());
  auto jump = tracker.update(sample(50, 16));
  ASSERT_FALSE(jump.ok());
  EXPECT_EQ(jump.error().kind(), ErrorKind::kClockJump);
  EXPECT_EQ(tracker.stats().samples, 1u);  // windows restarted
  ASSERT_TRUE(tracker.update(sample(60, 17)).ok());
  EXPECT_NEAR(*tracker.stats().used_cores, 0.1, 1e-9);
  // The first good rate after the jump already moves the average.
  EXPECT_LT(*tracker.stats().used_cores_avg, 0.5);
}

TEST_F(ContainerTrackerTest, TheSameSnapshotTwiceIsIgnored) {
  ContainerTracker tracker(options_);
  ASSERT_TRUE(tracker.update(sample(0, 10)).ok());
  ASSERT_TRUE(tracker.update(sample(10, 15)).ok());
  ASSERT_TRUE(tracker.update(sample(10, 15)).ok());
  EXPECT_EQ(tracker.stats().samples, 2u);
  EXPECT_NEAR(*tracker.stats().used_cores, 0.5, 1e-9);
}

TEST_F(ContainerTrackerTest, AGapYieldsTheAverageRateOverTheGap) {
  ContainerTracker tracker(options_);
  ASSERT_TRUE(tracker.update(sample(0, 0)).ok());
  ASSERT_TRUE(tracker.update(sample(3600, 1800)).ok());  // an hour without readings
  EXPECT_NEAR(*tracker.stats().used_cores, 0.5, 1e-9);
  EXPECT_EQ(tracker.stats().samples, 1u);  // the first reading left the window
}

TEST_F(ContainerTrackerTest, ThrottledRatioFromPeriodCounters) {
  ContainerTracker tracker(options_);
  auto first = sample(0, 0);
  first.cfs_periods = 1000;
  first.cfs_throttled_periods = 10;
  ASSERT_TRUE(tracker.update(first).ok());
  auto second = sample(10, 5);
  second.cfs_periods = 1100;
  second.cfs_throttled_periods = 35;
  ASSERT_TRUE(tracker.update(second).ok());
  EXPECT_DOUBLE_EQ(*tracker.stats().throttled_ratio, 0.25);
  auto idle = sample(20, 5);  // no runnable periods: not throttled
  idle.cfs_periods = 1100;
  idle.cfs_throttled_periods = 35;
  ASSERT_TRUE(tracker.update(idle).ok());
  EXPECT_DOUBLE_EQ(*tracker.stats().throttled_ratio, 0.0);
  auto without = sample(30, 6);  // CFS not enabled: unknown
  ASSERT_TRUE(tracker.update(without).ok());
  EXPECT_FALSE(tracker.stats().throttled_ratio);
}

// Throttled time summed over CPUs, per second: a demand of 3 cores under a
// 2-core quota leaves 1 core waiting.
TEST_F(ContainerTrackerTest, ThrottledCoresFromThrottledTime) {
  ContainerTracker tracker(options_);
  auto first = sample(0, 0);
  first.cfs_throttled_seconds = 4;
  ASSERT_TRUE(tracker.update(first).ok());
  EXPECT_FALSE(tracker.stats().throttled_cores);  // no rate from one reading
  auto second = sample(10, 20);
  second.cfs_throttled_seconds = 14;
  ASSERT_TRUE(tracker.update(second).ok());
  EXPECT_DOUBLE_EQ(*tracker.stats().throttled_cores, 1.0);
  auto reset = sample(20, 40);  // the counter went back: no figure this interval, counted
  reset.cfs_throttled_seconds = 1;
  EXPECT_EQ(tracker.update(reset).error().kind(), ErrorKind::kCounterReset);
  EXPECT_FALSE(tracker.stats().throttled_cores);
  EXPECT_NEAR(*tracker.stats().used_cores, 2.0, 1e-9);  // CPU time's rate stands
  auto idle = sample(30, 40);
  idle.cfs_throttled_seconds = 1;
  ASSERT_TRUE(tracker.update(idle).ok());
  EXPECT_DOUBLE_EQ(*tracker.stats().throttled_cores, 0.0);
  auto absurd = sample(40, 41);  // beyond any host's cores: counted
  absurd.cfs_throttled_seconds = 1e9;
  EXPECT_EQ(tracker.update(absurd).error().kind(), ErrorKind::kInvalidValue);
  EXPECT_FALSE(tracker.stats().throttled_cores);
  ASSERT_TRUE(tracker.update(sample(50, 42)).ok());  // a source without the counter: unknown
  EXPECT_FALSE(tracker.stats().throttled_cores);
}

TEST_F(ContainerTrackerTest, RejectsNonFiniteAndAbsurdValues) {
  ContainerTracker tracker(options_);
  auto nan = sample(0, std::nan(""));
  EXPECT_EQ(tracker.update(nan).error().kind(), ErrorKind::kInvalidValue);
  auto negative_limit = sample(0, 1);
  negative_limit.reserved_cores = -1;
  EXPECT_EQ(tracker.update(negative_limit).error().kind(), ErrorKind::kInvalidValue);
  auto absurd_limit = sample(0, 1);
  absurd_limit.reserved_cores = 1e6;
  EXPECT_EQ(tracker.update(absurd_limit).error().kind(), ErrorKind::kInvalidValue);
  ASSERT_TRUE(tracker.update(sample(0, 1)).ok());
  auto absurd = tracker.update(sample(1, 1e9));
  ASSERT_FALSE(absurd.ok());
  EXPECT_EQ(absurd.error().kind(), ErrorKind::kInvalidValue);
  EXPECT_FALSE(tracker.stats().used_cores);
}

TEST_F(ContainerTrackerTest, UnknownLimitsGiveUnknownLyingFactors) {
  ContainerTracker tracker(options_);
  auto s = sample(0, 0);
  s.reserved_cores.reset();
  s.memory_limit_bytes.reset();
  ASSERT_TRUE(tracker.update(s).ok());
  s = sample(10, 1);
  s.reserved_cores.reset();
  s.memory_limit_bytes.reset();
  ASSERT_TRUE(tracker.update(s).ok());
  EXPECT_TRUE(tracker.stats().used_cores);
  EXPECT_FALSE(tracker.stats().lying_factor_cores);
  EXPECT_FALSE(tracker.stats().memory_lying_factor_bytes);
  EXPECT_FALSE(tracker.stats().memory_reserved_bytes);
}

// Marathon's resourceLimits: 0.5 cores and 128 MiB requested, up to 2
// cores and 512 MiB allowed. What is reserved, and what the lying factors
// measure against, is the request; the limits are published beside it.
TEST_F(ContainerTrackerTest, ARequestBelowItsLimitIsWhatIsReserved) {
  ContainerTracker tracker(options_);
  const auto burst = [&](double t, double cpu) {
    ContainerSample s = sample(t, cpu);
    s.reserved_cores = 0.5;
    s.limit_cores = 2.0;
    s.memory_request_bytes = 128u << 20;
    s.memory_limit_bytes = 512u << 20;
    s.memory_used_bytes = 200u << 20;
    return s;
  };
  ASSERT_TRUE(tracker.update(burst(0, 0)).ok());
  ASSERT_TRUE(tracker.update(burst(10, 15)).ok());  // 1.5 cores
  const ContainerStats stats = tracker.stats();
  EXPECT_DOUBLE_EQ(*stats.reserved_cores, 0.5);
  EXPECT_DOUBLE_EQ(*stats.limit_cores, 2.0);
  EXPECT_NEAR(*stats.used_above_request_cores, 1.0, 1e-9);
  EXPECT_NEAR(*stats.lying_factor_cores, -1.0, 1e-9);
  EXPECT_DOUBLE_EQ(*stats.memory_reserved_bytes, 128u << 20);
  EXPECT_DOUBLE_EQ(*stats.memory_limit_bytes, 512u << 20);
  EXPECT_DOUBLE_EQ(*stats.memory_lying_factor_bytes, -(72.0 * (1u << 20)));

  const wire::Container wire = wireContainer(stats);
  EXPECT_EQ(wire.cpu.reserved_cores, 0.5);
  EXPECT_EQ(wire.cpu.limit_cores, 2.0);
  EXPECT_EQ(wire.cpu.used_above_request_cores, stats.used_above_request_cores);
  EXPECT_EQ(wire.mem.reserved_bytes, 128u << 20);
  EXPECT_EQ(wire.mem.limit_bytes, 512u << 20);
}

// Without a separate request (or with one equal to the limit) the figures
// are what they were before requests were told apart: the limit is what is
// reserved.
TEST_F(ContainerTrackerTest, WithoutASeparateRequestTheLimitIsReserved) {
  for (const std::optional<std::uint64_t> request :
       {std::optional<std::uint64_t>(), std::optional<std::uint64_t>(160u << 20)}) {
    ContainerTracker tracker(options_);
    auto first = sample(0, 100);
    first.memory_request_bytes = request;
    auto second = sample(10, 104.2);
    second.memory_request_bytes = request;
    ASSERT_TRUE(tracker.update(first).ok());
    ASSERT_TRUE(tracker.update(second).ok());
    const ContainerStats stats = tracker.stats();
    EXPECT_DOUBLE_EQ(*stats.memory_reserved_bytes, 160u << 20);
    EXPECT_DOUBLE_EQ(*stats.memory_limit_bytes, 160u << 20);
    EXPECT_DOUBLE_EQ(*stats.memory_lying_factor_bytes, 60u << 20);
    EXPECT_FALSE(stats.limit_cores);                 // the sample tells only what is reserved
    EXPECT_EQ(stats.used_above_request_cores, 0.0);  // 0.42 used of 1.1
  }
}

// Memory requested but not limited ("unlimited"): the request is reserved,
// and there is no limit. A request above the limit reserves the limit.
TEST_F(ContainerTrackerTest, MemoryRequestWithoutOrAboveTheLimit) {
  ContainerTracker unlimited(options_);
  auto s = sample(0, 0);
  s.memory_limit_bytes.reset();
  s.memory_request_bytes = 128u << 20;
  ASSERT_TRUE(unlimited.update(s).ok());
  EXPECT_DOUBLE_EQ(*unlimited.stats().memory_reserved_bytes, 128u << 20);
  EXPECT_FALSE(unlimited.stats().memory_limit_bytes);
  EXPECT_DOUBLE_EQ(*unlimited.stats().memory_lying_factor_bytes, 28u << 20);

  ContainerTracker above(options_);
  s = sample(0, 0);
  s.memory_request_bytes = 256u << 20;
  ASSERT_TRUE(above.update(s).ok());
  EXPECT_DOUBLE_EQ(*above.stats().memory_reserved_bytes, 160u << 20);
}

TEST_F(ContainerTrackerTest, UseAboveTheRequestNeedsAnAverageAndARequest) {
  ContainerTracker tracker(options_);
  ASSERT_TRUE(tracker.update(sample(0, 0)).ok());
  EXPECT_FALSE(tracker.stats().used_above_request_cores);  // no rate yet
  auto unreserved = sample(10, 30);
  unreserved.reserved_cores.reset();
  ASSERT_TRUE(tracker.update(unreserved).ok());
  EXPECT_TRUE(tracker.stats().used_cores_avg);
  EXPECT_FALSE(tracker.stats().used_above_request_cores);  // no request
  ASSERT_TRUE(tracker.update(sample(20, 60)).ok());        // 3 cores on 1.1
  EXPECT_NEAR(*tracker.stats().used_above_request_cores, 3.0 - 1.1, 1e-9);
}

TEST_F(ContainerTrackerTest, RejectsAnAbsurdLimit) {
  ContainerTracker tracker(options_);
  for (double limit : {-1.0, 1e6, std::nan("")}) {
    auto s = sample(0, 1);
    s.limit_cores = limit;
    EXPECT_EQ(tracker.update(s).error().kind(), ErrorKind::kInvalidValue) << limit;
  }
}

}  // namespace
}  // namespace rightsize::agent
