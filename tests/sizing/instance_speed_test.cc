#include "rightsize/sizing/instance_speed.h"

#include <gtest/gtest.h>

#include <cmath>

namespace rightsize::sizing {
namespace {

wire::Container task(const std::string& app, const std::string& type, double cores) {
  wire::Container c;
  c.container_id = app + "-" + type + "-" + std::to_string(cores);
  c.app_id = app;
  c.task_id = c.container_id;
  c.instance_type = type;
  c.cpu.used_cores_avg = cores;
  return c;
}

AgentReport agent(std::vector<wire::Container> containers) {
  AgentReport report;
  report.reachable = true;
  report.containers = std::move(containers);
  return report;
}

// Apps a..e each run a task on m5 (the reference: most tasks) and one on
// m4, which needs `slow` times the CPU; app e's m4 task does other work
// (5x): the median keeps it from moving the factor.
std::vector<AgentReport> cycle(double slow = 1.25) {
  std::vector<wire::Container> fast, old;
  for (const std::string app : {"/a", "/b", "/c", "/d"}) {
    fast.push_back(task(app, "m5", 0.8));
    fast.push_back(task(app, "m5", 0.8));
    old.push_back(task(app, "m4", 0.8 * slow));
  }
  fast.push_back(task("/e", "m5", 0.4));
  old.push_back(task("/e", "m4", 2.0));
  old.push_back(task("/idle", "m4", 0.01));  // too little to count
  fast.push_back(task("/idle", "m5", 0.01));
  return {agent(fast), agent(old)};
}

TEST(InstanceSpeedTest, AFactorIsTheMedianRatioAndTrustedOnlyAfterEnoughAppsAndCycles) {
  InstanceSpeed speed({.min_cores = 0.05, .min_apps = 3, .min_samples = 10});
  for (int i = 0; i < 9; ++i) speed.observe(cycle());
  EXPECT_EQ(speed.reference(), "m5");
  EXPECT_FALSE(speed.factor("m4"));  // 9 cycles: not trusted, not used
  EXPECT_EQ(speed.factor("m5"), 1.0);
  speed.observe(cycle());
  ASSERT_TRUE(speed.factor("m4"));
  EXPECT_NEAR(*speed.factor("m4"), 1.25, 1e-9);
  const auto factors = speed.factors();
  ASSERT_EQ(factors.size(), 2U);
  EXPECT_EQ(factors[0].instance_type, "m4");
  EXPECT_EQ(factors[0].apps, 5U);  // /idle never counted
  EXPECT_EQ(factors[0].trusted_apps, 5U);
  EXPECT_TRUE(factors[1].reference);
  EXPECT_FALSE(speed.factor("c5"));  // never seen
}

TEST(InstanceSpeedTest, TooFewAppsOnBothTypesIsNoFactor) {
  InstanceSpeed speed({.min_cores = 0.05, .min_apps = 6, .min_samples = 1});
  for (int i = 0; i < 20; ++i) speed.observe(cycle());
  EXPECT_FALSE(speed.factor("m4"));
  EXPECT_FALSE(speed.factors()[0].trusted);
}

TEST(InstanceSpeedTest, TheConstraintsSayWhereAnAppMayLand) {
  const std::vector<std::string> known{"c5.2xlarge", "m4.2xlarge", "m5.2xlarge"};
  std::vector<std::string> problems;
  EXPECT_FALSE(allowedTypes({{"hostname", "UNIQUE", std::nullopt}}, known, {}, problems));
  EXPECT_EQ(allowedTypes({{"instance_type", "LIKE", "m.\\.2xlarge"}}, known, {}, problems),
            (std::vector<std::string>{"m4.2xlarge", "m5.2xlarge"}));
  EXPECT_EQ(allowedTypes({{"instance_type", "UNLIKE", "m4.*"}}, known, {}, problems),
            (std::vector<std::string>{"c5.2xlarge", "m5.2xlarge"}));
  EXPECT_EQ(allowedTypes({{"instance_type", "LIKE", "m"}}, known, {}, problems),
            std::vector<std::string>{});  // the whole value must match
  EXPECT_EQ(allowedTypes({{"instance_type", "CLUSTER", "c5.2xlarge"}}, known, {}, problems),
            std::vector<std::string>{"c5.2xlarge"});
  EXPECT_EQ(allowedTypes({{"instance_type", "IS", "m5.2xlarge"}}, known, {}, problems),
            std::vector<std::string>{"m5.2xlarge"});
  EXPECT_EQ(allowedTypes({{"instance_type", "CLUSTER", std::nullopt}}, known, {"m5.2xlarge"}, problems),
            std::vector<std::string>{"m5.2xlarge"});
  EXPECT_EQ(allowedTypes({{"instance_type", "LIKE", "m.*"}, {"instance_type", "UNLIKE", "m4.*"}}, known, {}, problems),
            std::vector<std::string>{"m5.2xlarge"});
  EXPECT_TRUE(problems.empty());
  EXPECT_FALSE(allowedTypes({{"instance_type", "LIKE", "m5.(2xlarge"}}, known, {}, problems));
  ASSERT_EQ(problems.size(), 1U);
  EXPECT_EQ(problems[0], "constraint [instance_type, LIKE, m5.(2xlarge]: not a regular expression");
}

TEST(InstanceSpeedTest, AnAppIsSizedForTheSlowestTypeItMayLandOn) {
  InstanceSpeed speed({.min_cores = 0.05, .min_apps = 3, .min_samples = 1});
  speed.observe(cycle(1.25));
  // Running on both, free to land anywhere: measured on m4 (its slowest),
  // sized for m4: nothing to scale.
  EXPECT_EQ(speedScale(speed, {"m4", "m5"}, std::nullopt).scale, 1);
  // Running on m5 only, may land on m4: 1.25 times its use.
  const SpeedScale scale = speedScale(speed, {"m5"}, std::nullopt);
  EXPECT_NEAR(scale.scale, 1.25, 1e-9);
  EXPECT_EQ(scale.measured_on, "m5");
  EXPECT_EQ(scale.sized_for, "m4");
  // Pinned to m5: as measured.
  EXPECT_EQ(speedScale(speed, {"m5"}, std::vector<std::string>{"m5"}).scale, 1);
  // Running on m4, pinned to m5 (a constraint changed): 1/1.25.
  EXPECT_NEAR(speedScale(speed, {"m4"}, std::vector<std::string>{"m5"}).scale, 0.8, 1e-9);
  // No trusted factor where it runs: untouched.
  EXPECT_EQ(speedScale(speed, {"c5"}, std::nullopt).scale, 1);
}

}  // namespace
}  // namespace rightsize::sizing
