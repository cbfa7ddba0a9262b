#include "rightsize/simulate/isolation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

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
  EXPECT_DOUBLE_EQ(cpu.throttled_cores, 0);  // bursts within the step show in the ratio only
  cpu = cpuUnderLimit(1.5, 1, CpuIsolation::kCfs);
  EXPECT_DOUBLE_EQ(cpu.used_cores, 1);
  EXPECT_DOUBLE_EQ(cpu.throttled_ratio, 1);
  EXPECT_DOUBLE_EQ(cpu.unmet_cores, 0.5);
  EXPECT_DOUBLE_EQ(cpu.throttled_cores, 0.5);  // the kernel's throttled time per second
}

TEST(IsolationTest, WithSharesDemandIsUsedAndNothingIsThrottled) {
  const CpuUnderLimit cpu = cpuUnderLimit(1.5, 1, CpuIsolation::kShares);
  EXPECT_DOUBLE_EQ(cpu.used_cores, 1.5);
  EXPECT_DOUBLE_EQ(cpu.throttled_ratio, 0);
  EXPECT_DOUBLE_EQ(cpu.unmet_cores, 0);
  EXPECT_DOUBLE_EQ(cpu.throttled_cores, 0);
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

// Burstable containers on one host: each gets its request, the host's
// spare CPU goes by shares to those that want more, up to their quotas.
TEST(ShareHostCpu, RequestsFirstThenTheSpareByShares) {
  const std::vector<HostContainer> host = {
      {.demand_cores = 0.5, .request_cores = 1, .limit_cores = 4},            // under its request
      {.demand_cores = 6, .request_cores = 1, .limit_cores = 4},              // capped by its quota
      {.demand_cores = 10, .request_cores = 2, .limit_cores = std::nullopt},  // unlimited
  };
  // 8 cores: 0.5 + 1 + 2 guaranteed, 4.5 left; shares 1:2 would give 1.5 and
  // 3, the first wants 3 more (to its quota of 4): it gets 1.5, then the
  // unlimited one the rest.
  const std::vector<CpuOnHost> out = shareHostCpu(host, 8);
  ASSERT_EQ(out.size(), 3U);
  EXPECT_NEAR(out[0].used_cores, 0.5, 1e-9);
  EXPECT_NEAR(out[0].burst_cores, 0, 1e-9);
  EXPECT_NEAR(out[1].used_cores, 2.5, 1e-9);
  EXPECT_NEAR(out[1].burst_cores, 1.5, 1e-9);
  EXPECT_NEAR(out[1].unmet_cores, 3.5, 1e-9);
  EXPECT_DOUBLE_EQ(out[1].throttled_ratio, 1);   // demand above its quota
  EXPECT_NEAR(out[1].throttled_cores, 2, 1e-9);  // its quota held back 2 cores, the host 1.5 more
  EXPECT_NEAR(out[2].used_cores, 5, 1e-9);
  EXPECT_NEAR(out[2].unmet_cores, 5, 1e-9);
  EXPECT_DOUBLE_EQ(out[2].throttled_ratio, 0);  // no quota: starved, not throttled
  EXPECT_NEAR(out[0].used_cores + out[1].used_cores + out[2].used_cores, 8, 1e-9);

  // A big host serves every burst up to the quotas.
  const std::vector<CpuOnHost> roomy = shareHostCpu(host, 64);
  EXPECT_NEAR(roomy[1].used_cores, 4, 1e-9);
  EXPECT_NEAR(roomy[1].unmet_cores, 2, 1e-9);
  EXPECT_NEAR(roomy[2].used_cores, 10, 1e-9);
  EXPECT_NEAR(roomy[2].burst_cores, 8, 1e-9);
}

TEST(ShareHostCpu, AnOvercommittedHostShortsEveryoneAlike) {
  const std::vector<HostContainer> host = {{.demand_cores = 3, .request_cores = 3, .limit_cores = 3},
                                           {.demand_cores = 3, .request_cores = 3, .limit_cores = 3}};
  const std::vector<CpuOnHost> out = shareHostCpu(host, 4);
  EXPECT_NEAR(out[0].used_cores, 2, 1e-9);
  EXPECT_NEAR(out[1].used_cores, 2, 1e-9);
  EXPECT_NEAR(out[0].unmet_cores, 1, 1e-9);
  EXPECT_DOUBLE_EQ(out[0].throttled_cores, 0);  // starved by the host, not held by its quota
  // Bad demand is no demand.
  const std::vector<HostContainer> bad = {{.demand_cores = std::nan(""), .request_cores = 1, .limit_cores = 2}};
  EXPECT_DOUBLE_EQ(shareHostCpu(bad, 4)[0].used_cores, 0);
}

}  // namespace
}  // namespace rightsize::simulate
