#include "rightsize/testing/fake_mesos_agent.h"

#include <gtest/gtest.h>

#include <future>
#include <limits>
#include <map>

#include "test_support.h"

#include "rightsize/agent/mesos_json.h"
#include "rightsize/core/http.h"
#include "rightsize/core/json.h"

namespace rightsize::testing {
namespace {

using rapidjson::Document;
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
  fake_->addExecutor({.executor_id = "e1", .container_id = "c1"},
                     {.used_cores = 0.5, .throttled_ratio = 0.2, .throttled_cores = 0.3});
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
  EXPECT_NEAR(*e.cpus_throttled_time_secs, 0.3 * 10, 1e-9);
  EXPECT_DOUBLE_EQ(e.timestamp_seconds, toUnixSeconds(clock_.now()));
  // Fields of the real capture that the model does not touch are still served.
  EXPECT_NE(fake_->statisticsBody().find("net_traffic_control_statistics"), std::string::npos);
}

// Mesos 1.10+ with resource limits (MesosContainerizer's usage(),
// Slave::computeExecutorLimits): the requests as soft limits, the limits and
// the executor's share as hard limits, the host's CPUs and memory for an
// unlimited one; tasks without limits as before.
TEST_F(FakeMesosAgentTest, ExecutorsWithLimitsReportSoftAndHardLimitsAsMesos) {
  constexpr std::uint64_t kMib = 1 << 20;
  const double unlimited = std::numeric_limits<double>::infinity();
  fake_->addExecutor({.executor_id = "burst", .container_id = "c1", .task_cpus_limit = 2, .task_mem_limit_mib = 480});
  fake_->addExecutor(
      {.executor_id = "free", .container_id = "c2", .task_cpus_limit = unlimited, .task_mem_limit_mib = unlimited});
  fake_->addExecutor({.executor_id = "mem-only", .container_id = "c3", .cfs = false, .task_mem_limit_mib = 1024});
  fake_->addExecutor({.executor_id = "plain", .container_id = "c4"});
  std::map<std::string, Document> s;  // statistics by executor
  auto read = [this, &s] {
    auto document = json::parse(fake_->statisticsBody(), "fake");
    if (!document.ok() || document->Size() != 4) return false;
    for (const auto& entry : document->GetArray()) {
      Document& statistics = s[entry["executor_id"].GetString()];
      statistics.CopyFrom(entry["statistics"], statistics.GetAllocator());
    }
    return true;
  };
  ASSERT_TRUE(read()) << fake_->statisticsBody();
  EXPECT_DOUBLE_EQ(s["burst"]["cpus_soft_limit"].GetDouble(), 1.1);
  EXPECT_DOUBLE_EQ(s["burst"]["cpus_limit"].GetDouble(), 2.1);
  EXPECT_EQ(s["burst"]["mem_soft_limit_bytes"].GetUint64(), 160 * kMib);
  EXPECT_EQ(s["burst"]["mem_limit_bytes"].GetUint64(), 512 * kMib);
  // Unlimited: the host's, by default the fixture agent's resources.
  EXPECT_DOUBLE_EQ(s["free"]["cpus_limit"].GetDouble(), 1);
  EXPECT_EQ(s["free"]["mem_limit_bytes"].GetUint64(), 244 * kMib);
  EXPECT_DOUBLE_EQ(s["free"]["cpus_soft_limit"].GetDouble(), 1.1);
  // No cpus limit and no CFS: no CPU limit at all, nor CFS counters.
  EXPECT_FALSE(s["mem-only"].HasMember("cpus_limit"));
  EXPECT_FALSE(s["mem-only"].HasMember("cpus_nr_periods"));
  EXPECT_DOUBLE_EQ(s["mem-only"]["cpus_soft_limit"].GetDouble(), 1.1);
  EXPECT_EQ(s["mem-only"]["mem_limit_bytes"].GetUint64(), 1056 * kMib);
  // Without limits: as before, no soft limits.
  EXPECT_DOUBLE_EQ(s["plain"]["cpus_limit"].GetDouble(), 1.1);
  EXPECT_EQ(s["plain"]["mem_limit_bytes"].GetUint64(), 160 * kMib);
  EXPECT_FALSE(s["plain"].HasMember("cpus_soft_limit"));
  EXPECT_FALSE(s["plain"].HasMember("mem_soft_limit_bytes"));

  fake_->setHostCpus(16);
  fake_->setHostMemory(64ull << 30);
  ASSERT_TRUE(read()) << fake_->statisticsBody();
  EXPECT_DOUBLE_EQ(s["free"]["cpus_limit"].GetDouble(), 16);
  EXPECT_EQ(s["free"]["mem_limit_bytes"].GetUint64(), 64ull << 30);

  // /state: the tasks' own limits, an unlimited one as Mesos writes it: the
  // bare token Infinity, which only a lenient parser reads.
  const std::string state = fake_->stateBody();
  EXPECT_NE(state.find(R"("limits":{"cpus":Infinity,"mem":Infinity})"), std::string::npos) << state;
  EXPECT_FALSE(json::parse(state, "fake").ok());
  Document lenient;
  lenient.Parse<rapidjson::kParseNanAndInfFlag>(state.data(), state.size());
  ASSERT_FALSE(lenient.HasParseError());
  EXPECT_DOUBLE_EQ(lenient["resources"]["cpus"].GetDouble(), 16);  // the host's
  std::map<std::string, const rapidjson::Value*> tasks;
  for (const auto& executor : lenient["frameworks"][0]["executors"].GetArray()) {
    tasks[executor["id"].GetString()] = &executor["tasks"][0];
  }
  EXPECT_DOUBLE_EQ((*tasks["burst"])["limits"]["cpus"].GetDouble(), 2);
  EXPECT_DOUBLE_EQ((*tasks["burst"])["limits"]["mem"].GetDouble(), 480);
  EXPECT_DOUBLE_EQ((*tasks["burst"])["resources"]["cpus"].GetDouble(), 1);  // the request
  EXPECT_FALSE((*tasks["mem-only"])["limits"].HasMember("cpus"));
  EXPECT_FALSE(tasks["plain"]->HasMember("limits"));
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
