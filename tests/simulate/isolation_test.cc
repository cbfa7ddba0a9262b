#include "rightsize/simulate/isolation.h"

#include <gtest/gtest.h>

namespace rightsize::simulate {
namespace {

TEST(IsolationTest, UnderACfsQuotaUseIsCappedAndThrottlingRampsFromNinetyPercent) {
  CpuUnderLimit cpu = cpuUnderLimit(0.5, 1, CpuIsolation::kCfs);
  EXPECT_DOUBLE_EQ(cpu.used_cores, 0.5);
  EXPECT_DOUBLE_EQ(cpu.throttled_ratio, 0);
  EXPECT_DOUBLE_EQ(cpu.unmet_cores, 0);
  cpu = cpuUnderLimit(0.9, 1, CpuIsolation::kCfs);
  EXPECT_NEAR(cpu.throttled_ratio, 0, 1e-9);
  cpu = cpuUnderLimit(0.95, 1, CpuIsolation::kCfs);
  EXPECT_NEAR(cpu.throttled_ratio, 0.5, 1e-9);
  EXPECT_DOUBLE_EQ(cpu.unmet_cores, 0);
  cpu = cpuUnderLimit(1.5, 1, CpuIsolation::kCfs);
  EXPECT_DOUBLE_EQ(cpu.used_cores, 1);
  EXPECT_DOUBLE_EQ(cpu.throttled_ratio, 1);
  EXPECT_DOUBLE_EQ(cpu.unmet_cores, 0.5);
}

TEST(IsolationTest, WithSharesDemandIsUsedAndNothingIsThrottled) {
  const CpuUnderLimit cpu = cpuUnderLimit(1.5, 1, CpuIsolation::kShares);
  EXPECT_DOUBLE_EQ(cpu.used_cores, 1.5);
  EXPECT_DOUBLE_EQ(cpu.throttled_ratio, 0);
  EXPECT_DOUBLE_EQ(cpu.unmet_cores, 0);
}

TEST(IsolationTest, NamesAndOomKills) {
  EXPECT_EQ(parseCpuIsolation("cfs"), CpuIsolation::kCfs);
  EXPECT_EQ(parseCpuIsolation("shares"), CpuIsolation::kShares);
  EXPECT_FALSE(parseCpuIsolation("quota").has_value());
  EXPECT_EQ(cpuIsolationName(CpuIsolation::kShares), "shares");
  EXPECT_TRUE(oomKilled(1025, 1024));
  EXPECT_FALSE(oomKilled(1024, 1024));
  // A negative demand (a broken sample) uses nothing.
  EXPECT_DOUBLE_EQ(cpuUnderLimit(-1, 1, CpuIsolation::kCfs).used_cores, 0);
}

}  // namespace
}  // namespace rightsize::simulate
