#include "rightsize/testing/fake_mesos_agent.h"

#include <gtest/gtest.h>

#include <future>

#include "test_support.h"

#include "rightsize/agent/mesos_json.h"
#include "rightsize/core/http.h"
#include "rightsize/core/json.h"

namespace rightsize::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class FakeMesosAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fake = FakeMesosAgent::create(clock_, testing::readFixture("mesos/agent_state.json"),
                                       testing::readFixture("mesos/monitor_statistics_port_mapping.json"));
    ASSERT_TRUE(fake.ok()) << fake.error().message();
    fake_ = std::move(*fake);
  }
  ManualClock clock_;
  std::unique_ptr<FakeMesosAgent> fake_;
};

TEST_F(FakeMesosAgentTest, StateKeepsTheFixtureAndListsTheExecutors) {
  fake_->addExecutor(
      {.executor_id = "web.instance-1._app.1", .container_id = "c1", .app_id = "/web", .labels = {{"env", "prod"}}});
  auto document = json::parse(fake_->stateBody(), "fake");
  ASSERT_TRUE(document.ok());
  EXPECT_STREQ((*document)["version"].GetString(), "1.7.1");
  EXPECT_STREQ((*document)["flags"]["cgroups_root"].GetString(), "mesos");
  const auto& executor = (*document)["frameworks"][0]["executors"][0];
  EXPECT_STREQ(executor["container"].GetString(), "c1");
  EXPECT_NE(std::string(executor["directory"].GetString()).find("/runs/c1"), std::string::npos);
  EXPECT_DOUBLE_EQ(executor["tasks"][0]["resources"]["cpus"].GetDouble(), 1.0);  // 1.1 - executor overhead
  auto parsed = agent::parseAgentState(fake_->stateBody(), "fake");
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->state.executors.size(), 1u);
  EXPECT_EQ(parsed->state.executors[0].env, "prod");
}

TEST_F(FakeMesosAgentTest, CountersFollowTheClockAtTheCurrentUsage) {
  fake_->addExecutor({.executor_id = "e1", .container_id = "c1"}, {.used_cores = 0.5, .throttled_ratio = 0.2});
  clock_.advance(seconds(10));
  fake_->setUsage("e1", {.used_cores = 2.0});
  clock_.advance(seconds(10));
  auto parsed = agent::parseMonitorStatistics(fake_->statisticsBody(), "fake");
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->executors.size(), 1u);
  const auto& e = parsed->executors[0];
  EXPECT_NEAR(e.cpu_seconds, 0.5 * 10 + 2.0 * 10, 0.02);
  EXPECT_EQ(*e.cpus_nr_periods, 200u);
  EXPECT_EQ(*e.cpus_nr_throttled, 20u);
  EXPECT_DOUBLE_EQ(e.timestamp_seconds, toUnixSeconds(clock_.now()));
  // Fields of the real capture that the model does not touch are still served.
  EXPECT_NE(fake_->statisticsBody().find("net_traffic_control_statistics"), std::string::npos);
}

TEST_F(FakeMesosAgentTest, ASlowAnswerIsHeldUntilTheClockHasMovedByTheDelay) {
  ASSERT_TRUE(fake_->start({"127.0.0.1", 0}).ok());
  fake_->setFault({.kind = FakeFault::Kind::kSlow, .delay = seconds(10), .remaining = 1});
  CurlHttpClient client;
  auto answer = std::async(std::launch::async, [&] { return client.get(fake_->url() + "/state", seconds(30)); });
  EXPECT_EQ(answer.wait_for(milliseconds(20)), std::future_status::timeout);
  clock_.advance(seconds(9));
  EXPECT_EQ(answer.wait_for(milliseconds(20)), std::future_status::timeout);
  clock_.advance(seconds(1));
  auto response = answer.get();
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(fake_->requests("/state"), 1u);
}

TEST_F(FakeMesosAgentTest, ClearFaultReleasesSlowAnswers) {
  ASSERT_TRUE(fake_->start({"127.0.0.1", 0}).ok());
  fake_->setFault({.kind = FakeFault::Kind::kSlow, .delay = std::chrono::hours(1)});
  CurlHttpClient client;
  auto answer = std::async(std::launch::async, [&] { return client.get(fake_->url() + "/state", seconds(30)); });
  EXPECT_EQ(answer.wait_for(milliseconds(20)), std::future_status::timeout);
  fake_->clearFault();
  auto response = answer.get();
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->status, 200);
}

TEST_F(FakeMesosAgentTest, StoppingReleasesSlowAnswersAndHoldsNoMore) {
  ASSERT_TRUE(fake_->start({"127.0.0.1", 0}).ok());
  fake_->setFault({.kind = FakeFault::Kind::kSlow, .delay = std::chrono::hours(1)});
  CurlHttpClient client;
  auto answer = std::async(std::launch::async, [&] { return client.get(fake_->url() + "/state", seconds(30)); });
  EXPECT_EQ(answer.wait_for(milliseconds(20)), std::future_status::timeout);
  const auto start = std::chrono::steady_clock::now();
  fake_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(5));
  EXPECT_EQ(answer.wait_for(seconds(5)), std::future_status::ready);
  // Destroyed while a slow answer is held: no wait either.
  auto held = FakeMesosAgent::create(clock_, testing::readFixture("mesos/agent_state.json"),
                                     testing::readFixture("mesos/monitor_statistics_port_mapping.json"));
  ASSERT_TRUE(held.ok());
  ASSERT_TRUE((*held)->start({"127.0.0.1", 0}).ok());
  (*held)->setFault({.kind = FakeFault::Kind::kSlow, .delay = std::chrono::hours(1)});
  const std::string late_url = (*held)->url() + "/state";
  auto late = std::async(std::launch::async, [&client, late_url] { return client.get(late_url, seconds(30)); });
  EXPECT_EQ(late.wait_for(milliseconds(20)), std::future_status::timeout);
  const auto destroyed = std::chrono::steady_clock::now();
  held->reset();
  EXPECT_LT(std::chrono::steady_clock::now() - destroyed, seconds(5));
  EXPECT_EQ(late.wait_for(seconds(5)), std::future_status::ready);
}

TEST_F(FakeMesosAgentTest, ResetAndRemove) {
  fake_->addExecutor({.executor_id = "e1", .container_id = "c1"}, {.used_cores = 1});
  clock_.advance(seconds(10));
  fake_->resetCounters("e1");
  clock_.advance(seconds(1));
  auto parsed = agent::parseMonitorStatistics(fake_->statisticsBody(), "fake");
  EXPECT_NEAR(parsed->executors[0].cpu_seconds, 1.0, 0.02);
  fake_->removeExecutor("e1");
  EXPECT_TRUE(agent::parseMonitorStatistics(fake_->statisticsBody(), "fake")->executors.empty());
}

TEST(FakeMesosAgentCreateTest, RejectsFixturesOfTheWrongShape) {
  ManualClock clock;
  EXPECT_FALSE(FakeMesosAgent::create(clock, "{}", "[]").ok());
  EXPECT_FALSE(FakeMesosAgent::create(clock, testing::readFixture("mesos/agent_state.json"), "{").ok());
  EXPECT_FALSE(FakeMesosAgent::create(clock, R"({"frameworks": []})",
                                      testing::readFixture("mesos/monitor_statistics_port_mapping.json"))
                   .ok());
}

}  // namespace
}  // namespace rightsize::testing
