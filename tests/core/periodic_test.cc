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

}  // namespace
}  // namespace rightsize
