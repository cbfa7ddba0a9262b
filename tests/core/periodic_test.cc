// PeriodicRunner, and the clocks' two readings.

#include "rightsize/core/periodic.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

namespace rightsize {
namespace {

TEST(PeriodicRunnerTest, RunsAtOnceAndStopsWithoutWaitingForTheInterval) {
  std::mutex mutex;
  std::condition_variable ran;
  int runs = 0;
  PeriodicRunner runner(std::chrono::hours(1), [&] {
    std::lock_guard lock(mutex);
    ++runs;
    ran.notify_all();
  });
  runner.start();
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(ran.wait_for(lock, std::chrono::seconds(10), [&] { return runs == 1; }));
  }
  const auto started = std::chrono::steady_clock::now();
  runner.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_EQ(runs, 1);
}

TEST(PeriodicRunnerTest, RunNowRunsOffTheSchedule) {
  std::mutex mutex;
  std::condition_variable ran;
  int runs = 0;
  PeriodicRunner runner(std::chrono::hours(1), [&] {
    std::lock_guard lock(mutex);
    ++runs;
    ran.notify_all();
  });
  runner.start();
  auto waitFor = [&](int count) {
    std::unique_lock lock(mutex);
    return ran.wait_for(lock, std::chrono::seconds(10), [&] { return runs == count; });
  };
  ASSERT_TRUE(waitFor(1));
  runner.runNow();
  ASSERT_TRUE(waitFor(2));
  runner.runNow();
  ASSERT_TRUE(waitFor(3));
  runner.stop();
  EXPECT_EQ(runs, 3);
}

using namespace std::chrono_literals;

TEST(ManualClockTest, AdvanceMovesBothReadingsAndAJumpBackOnlyWallTime) {
  ManualClock clock;
  const TimePoint wall = clock.now();
  const MonotonicTime steady = clock.steadyNow();
  clock.advance(90s);
  EXPECT_EQ(clock.now() - wall, 90s);
  EXPECT_EQ(clock.steadyNow() - steady, 90s);
  clock.advance(-1h);
  EXPECT_EQ(clock.now() - wall, 90s - 1h);
  EXPECT_EQ(clock.steadyNow() - steady, 90s);
}

TEST(ManualClockTest, SetIsAWallClockJumpThatMonotonicTimeDoesNotSee) {
  ManualClock clock;
  const MonotonicTime steady = clock.steadyNow();
  clock.set(fromUnixSeconds(1'800'000'000.0));
  EXPECT_EQ(toUnixSeconds(clock.now()), 1'800'000'000.0);
  clock.set(fromUnixSeconds(1'600'000'000.0));
  EXPECT_EQ(toUnixSeconds(clock.now()), 1'600'000'000.0);
  EXPECT_EQ(clock.steadyNow(), steady);
}

TEST(ManualWallClockTest, WallTimeByHandMonotonicTimeReal) {
  ManualWallClock clock;
  const TimePoint wall = clock.now();
  const MonotonicTime steady = clock.steadyNow();
  const auto real = std::chrono::steady_clock::now();
  clock.advance(1h);
  EXPECT_EQ(clock.now() - wall, 1h);
  const MonotonicTime later = clock.steadyNow();
  EXPECT_GE(later, steady);
  EXPECT_LE(later - steady, std::chrono::steady_clock::now() - real + 1ms);
}

TEST(SystemClockTest, MonotonicTimeIsTheSteadyClocks) {
  const SystemClock clock;
  const auto before = std::chrono::steady_clock::now();
  const MonotonicTime reading = clock.steadyNow();
  const auto after = std::chrono::steady_clock::now();
  EXPECT_GE(reading, before);
  EXPECT_LE(reading, after);
}

TEST(ScaledClockTest, MonotonicTimeRunsFasterTooAndIgnoresWallClockJumps) {
  ManualClock base;
  const ScaledClock scaled(base, 60);
  const MonotonicTime steady = scaled.steadyNow();
  base.advance(10s);
  EXPECT_EQ(scaled.steadyNow() - steady, 10min);
  base.set(base.now() - 1h);
  EXPECT_EQ(scaled.steadyNow() - steady, 10min);
}

}  // namespace
}  // namespace rightsize
