#include "rightsize/agent/cgroup_files.h"

#include <gtest/gtest.h>

#include "rightsize/agent/container_source.h"

namespace rightsize::agent {
namespace {

TEST(CgroupFilesTest, SingleValues) {
  EXPECT_EQ(*parseSingleValue("123456789\n"), 123456789u);
  EXPECT_FALSE(parseSingleValue("").ok());
  EXPECT_FALSE(parseSingleValue("12 34\n").ok());
  EXPECT_EQ(parseSingleValue("abc").error().kind(), ErrorKind::kMalformed);
}

TEST(CgroupFilesTest, KeyedValuesFromCpuStatAndMemoryStat) {
  const std::string cpu_stat = "nr_periods 16314\nnr_throttled 16313\nthrottled_time 8036840845388\n";
  EXPECT_EQ(**parseKeyedValue(cpu_stat, "nr_periods"), 16314u);
  EXPECT_EQ(**parseKeyedValue(cpu_stat, "nr_throttled"), 16313u);
  EXPECT_FALSE(parseKeyedValue(cpu_stat, "nr_bursts")->has_value());
  const std::string memory_stat =
      "cache 16384\nrss 8388608\nrss_huge 0\nmapped_file 4096\ntotal_cache 16384\ntotal_rss 8388608\n"
      "total_mapped_file 4096\ntotal_inactive_file 0";
  EXPECT_EQ(**parseKeyedValue(memory_stat, "total_rss"), 8388608u);
  EXPECT_EQ(**parseKeyedValue(memory_stat, "rss"), 8388608u);            // not confused with rss_huge
  EXPECT_EQ(**parseKeyedValue(memory_stat, "total_inactive_file"), 0u);  // last line without newline
  EXPECT_FALSE(parseKeyedValue("total_rss lots\n", "total_rss").ok());
}

TEST(CgroupFilesTest, CfsQuotaMinusOneMeansNoQuota) {
  EXPECT_FALSE(parseCfsQuota("-1\n")->has_value());
  EXPECT_EQ(**parseCfsQuota("50000\n"), 50000u);
  EXPECT_FALSE(parseCfsQuota("x").ok());
  EXPECT_DOUBLE_EQ(reservedCoresFromCfs(50000, 100000), 0.5);
  EXPECT_DOUBLE_EQ(reservedCoresFromShares(1126), 1126.0 / 1024);
}

TEST(CgroupFilesTest, MemoryLimits) {
  EXPECT_EQ(**parseMemoryLimitV1("167772160\n"), 167772160u);
  EXPECT_FALSE(parseMemoryLimitV1("9223372036854771712\n")->has_value());  // unlimited
  EXPECT_FALSE(parseMemoryMaxV2("max\n")->has_value());
  EXPECT_EQ(**parseMemoryMaxV2("536870912\n"), 536870912u);
  EXPECT_FALSE(parseMemoryMaxV2("lots").ok());
}

// Requests: v1 memory.soft_limit_in_bytes (the kernel's default is its
// "unlimited"), v2 memory.low (default 0, no protection).
TEST(CgroupFilesTest, MemorySoftLimits) {
  EXPECT_EQ(**parseMemorySoftLimitV1("167772160\n"), 167772160u);
  EXPECT_FALSE(parseMemorySoftLimitV1("9223372036854771712\n")->has_value());
  EXPECT_FALSE(parseMemorySoftLimitV1("0\n")->has_value());
  EXPECT_EQ(parseMemorySoftLimitV1("-1\n").error().kind(), ErrorKind::kMalformed);
  EXPECT_NE(parseMemorySoftLimitV1("x").error().message().find("memory.soft_limit_in_bytes"), std::string::npos);
  EXPECT_EQ(**parseMemoryLowV2("167772160\n"), 167772160u);
  EXPECT_FALSE(parseMemoryLowV2("0\n")->has_value());
  EXPECT_FALSE(parseMemoryLowV2("max\n")->has_value());
  EXPECT_NE(parseMemoryLowV2("lots").error().message().find("memory.low"), std::string::npos);
}

// Mesos writes cpu.shares = floor(1024 * cpus) and a quota of cpus * period:
// without a separate limit the two are the same cores, and the quota's
// exact figure is the reservation; with a limit above the request, the
// shares are.
TEST(CgroupFilesTest, TheRequestIsReservedOnlyWhenBelowTheLimit) {
  const double shares_1_1 = reservedCoresFromShares(1126);  // 1.1 cores
  EXPECT_EQ(reservedCores(shares_1_1, 1.1, kSharesToleranceCores), 1.1);
  EXPECT_EQ(reservedCores(shares_1_1, 2.1, kSharesToleranceCores), shares_1_1);
  EXPECT_EQ(reservedCores(shares_1_1, std::nullopt, kSharesToleranceCores), shares_1_1);     // no quota
  EXPECT_EQ(reservedCores(reservedCoresFromShares(1024), 0.5, kSharesToleranceCores), 0.5);  // above the limit
  EXPECT_EQ(reservedCores(std::nullopt, 0.5, kSharesToleranceCores), 0.5);
  EXPECT_FALSE(reservedCores(std::nullopt, std::nullopt));
  // Mesos' figures are exact: a request below the limit by any amount is one.
  EXPECT_EQ(reservedCores(1.0, 1.1), 1.0);
  EXPECT_EQ(reservedCores(1.1, 1.1), 1.1);
  // A weight rounds the shares down by up to some 26 more: within the
  // tolerance for every request Mesos or Docker may write.
  for (double cpus : {0.1, 0.5, 1.0, 1.1, 2.5, 7.3, 32.0}) {
    const auto shares = static_cast<std::uint64_t>(1024 * cpus);
    const std::uint64_t weight = 1 + ((shares - 2) * 9999) / 262142;  // runc's conversion
    EXPECT_EQ(reservedCores(reservedCoresFromWeight(weight), cpus, kWeightToleranceCores), cpus) << cpus;
    EXPECT_LT(*reservedCores(reservedCoresFromWeight(weight), cpus + 0.05, kWeightToleranceCores), cpus + 0.05) << cpus;
  }
}

TEST(CgroupFilesTest, CpuMaxV2) {
  auto limited = parseCpuMax("50000 100000\n");
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(*limited->quota_us, 50000u);
  EXPECT_EQ(limited->period_us, 100000u);
  auto unlimited = parseCpuMax("max 100000\n");
  ASSERT_TRUE(unlimited.ok());
  EXPECT_FALSE(unlimited->quota_us);
  EXPECT_FALSE(parseCpuMax("50000 0").ok());
  EXPECT_FALSE(parseCpuMax("half 100000").ok());
}

TEST(CgroupFilesTest, WeightMapsBackToShares) {
  // runc's mapping: the v1 default of 1024 shares is weight 39.
  EXPECT_NEAR(reservedCoresFromWeight(39), 1.0, 0.03);  // weight steps are ~26 shares wide
  EXPECT_NEAR(reservedCoresFromWeight(1), 2.0 / 1024, 1e-9);
  EXPECT_NEAR(reservedCoresFromWeight(10000), 262144.0 / 1024, 1e-6);
}

TEST(CgroupFilesTest, CgroupProcs) {
  EXPECT_EQ(*parseCgroupProcs("12\n345\n"), (std::vector<int>{12, 345}));
  EXPECT_TRUE(parseCgroupProcs("")->empty());
  EXPECT_FALSE(parseCgroupProcs("12\nabc\n").ok());
}

TEST(CgroupFilesTest, TaskEnvironment) {
  using namespace std::string_literals;
  const std::string environ =
      "PATH=/usr/bin\0MARATHON_APP_ID=/team/web\0MESOS_TASK_ID=team_web.instance-1._app.1\0"
      "MARATHON_APP_LABEL_ENV=prod\0MARATHON_APP_LABEL_ENVX=no\0EMPTY=\0NOEQUALS\0"
      "MARATHON_APP_LABEL_RIGHTSIZE_KAFKA_GROUPS=clicks,views\0"s;
  const TaskEnvironment parsed = parseTaskEnvironment(environ);
  EXPECT_EQ(parsed.app_id, "/team/web");
  EXPECT_EQ(parsed.task_id, "team_web.instance-1._app.1");
  EXPECT_EQ(parsed.env, "prod");
  EXPECT_EQ(parsed.kafka_groups, "clicks,views");
  EXPECT_EQ(parseTaskEnvironment("").app_id, "");
}

}  // namespace
}  // namespace rightsize::agent
