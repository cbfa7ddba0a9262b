#include "rightsize/agent/cgroup_files.h"

#include <gtest/gtest.h>

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
