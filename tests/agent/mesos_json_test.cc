#include "rightsize/agent/mesos_json.h"

#include <gtest/gtest.h>

#include "test_support.h"

#include "rightsize/core/json.h"

namespace rightsize::agent {
namespace {

using testing::readFixture;

TEST(MonitorStatisticsTest, ParsesTheRealCapturedResponse) {
  auto parsed = parseMonitorStatistics(readFixture("mesos/monitor_statistics_port_mapping.json"), "fixture");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  ASSERT_EQ(parsed->executors.size(), 1u);
  EXPECT_TRUE(parsed->errors.empty());
  const auto& e = parsed->executors[0];
  EXPECT_EQ(e.executor_id, "job.1436298853");
  EXPECT_EQ(e.framework_id, "20150707-195256-1740121354-5150-29801-0000");
  EXPECT_DOUBLE_EQ(e.cpu_seconds, 123.49 + 2667.06);
  EXPECT_DOUBLE_EQ(*e.cpus_limit, 1.1);
  EXPECT_EQ(*e.cpus_nr_periods, 16314u);
  EXPECT_EQ(*e.cpus_nr_throttled, 16313u);
  EXPECT_EQ(*e.memory_used_bytes, 8388608u);  // rss + mapped file (0)
  EXPECT_EQ(*e.memory_limit_bytes, 167772160u);
  EXPECT_GT(e.timestamp_seconds, 1.4e9);
}

TEST(MonitorStatisticsTest, ParsesTheDocumentedExample) {
  auto parsed = parseMonitorStatistics(readFixture("mesos/monitor_statistics_endpoint_doc.json"), "fixture");
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->executors.size(), 1u);
  const auto& e = parsed->executors[0];
  EXPECT_DOUBLE_EQ(e.cpu_seconds, 96348.84 + 34501.45);
  EXPECT_DOUBLE_EQ(*e.cpus_limit, 8.25);
  EXPECT_EQ(*e.memory_used_bytes, 5105614848u + 7159808u);
  EXPECT_DOUBLE_EQ(e.timestamp_seconds, 1388534400.0);
}

TEST(MonitorStatisticsTest, MalformedOrTruncatedBodiesFailAsAWhole) {
  const std::string body = readFixture("mesos/monitor_statistics_port_mapping.json");
  for (const std::string& bad : {body.substr(0, body.size() / 2), std::string("<html>502</html>"), std::string(""),
                                 std::string(R"({"executor_id": "x"})")}) {
    auto parsed = parseMonitorStatistics(bad, "http://agent:5051/monitor/statistics");
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().kind(), ErrorKind::kMalformed);
    EXPECT_NE(parsed.error().message().find("http://agent:5051/monitor/statistics"), std::string::npos);
  }
}

TEST(MonitorStatisticsTest, SkipsBadEntriesAndKeepsTheOthers) {
  const std::string body = R"([
    {"executor_id": "good", "framework_id": "f", "statistics": {"timestamp": 1700000000, "cpus_user_time_secs": 1,
      "cpus_system_time_secs": 0.5, "cpus_nr_periods": 10.0}},
    {"executor_id": "no-stats", "framework_id": "f"},
    {"executor_id": "string-time", "statistics": {"timestamp": 1700000000, "cpus_user_time_secs": "NaN",
      "cpus_system_time_secs": 1}},
    {"executor_id": "negative", "statistics": {"timestamp": 1700000000, "cpus_user_time_secs": -1,
      "cpus_system_time_secs": 1}},
    {"executor_id": "no-time", "statistics": {"cpus_user_time_secs": 1, "cpus_system_time_secs": 1}},
    {"executor_id": "bad-limit", "statistics": {"timestamp": 1700000000, "cpus_user_time_secs": 1,
      "cpus_system_time_secs": 1, "cpus_limit": -2}},
    {"executor_id": "bad-count", "statistics": {"timestamp": 1700000000, "cpus_user_time_secs": 1,
      "cpus_system_time_secs": 1, "mem_rss_bytes": -5}},
    42,
    {"executor_id": "far-future", "framework_id": "f", "statistics": {"timestamp": 1e20, "cpus_user_time_secs": 1,
      "cpus_system_time_secs": 1}}
  ])";
  auto parsed = parseMonitorStatistics(body, "src");
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->executors.size(), 1u);
  EXPECT_EQ(parsed->executors[0].executor_id, "good");
  EXPECT_EQ(*parsed->executors[0].cpus_nr_periods, 10u);
  EXPECT_FALSE(parsed->executors[0].memory_used_bytes);
  ASSERT_EQ(parsed->errors.size(), 8u);
  EXPECT_EQ(parsed->errors[0].kind(), ErrorKind::kMissingField);
  EXPECT_EQ(parsed->errors[0].message(), "src: statistics[1].statistics: missing");
  EXPECT_EQ(parsed->errors[1].kind(), ErrorKind::kInvalidValue);
  EXPECT_EQ(parsed->errors[1].message(),
            "src: statistics[2].statistics.cpus_user_time_secs: expected a number, got string");
  EXPECT_EQ(parsed->errors[2].kind(), ErrorKind::kInvalidValue);
  EXPECT_EQ(parsed->errors[3].kind(), ErrorKind::kMissingField);
  EXPECT_NE(parsed->errors[3].message().find("timestamp"), std::string::npos);
  EXPECT_NE(parsed->errors[6].message().find("statistics[7]"), std::string::npos);
  EXPECT_NE(parsed->errors[7].message().find("not a plausible Unix time"), std::string::npos);
  // Entries that named their executor are reported as skipped, not vanished.
  ASSERT_EQ(parsed->skipped.size(), 7u);
  EXPECT_EQ(parsed->skipped.front(), (std::pair<std::string, std::string>{"f", "no-stats"}));
  EXPECT_EQ(parsed->skipped.back(), (std::pair<std::string, std::string>{"f", "far-future"}));
}

TEST(MonitorStatisticsTest, UnlimitedMemoryIsNoLimitAndHugeCountsDoNotOverflow) {
  const std::string body = R"([{"executor_id": "e", "statistics": {"timestamp": 1700000000,
    "cpus_user_time_secs": 1, "cpus_system_time_secs": 1, "mem_limit_bytes": 9223372036854771712,
    "mem_rss_bytes": 1.5e19, "cpus_nr_periods": 1.8446744073709552e19}}])";
  auto parsed = parseMonitorStatistics(body, "src");
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->executors.size(), 0u);  // 2^64 periods is not a count
  const std::string fine = R"([{"executor_id": "e", "statistics": {"timestamp": 1700000000,
    "cpus_user_time_secs": 1, "cpus_system_time_secs": 1, "mem_limit_bytes": 9223372036854771712,
    "mem_rss_bytes": 1.5e19}}])";
  auto ok = parseMonitorStatistics(fine, "src");
  ASSERT_TRUE(ok.ok());
  ASSERT_EQ(ok->executors.size(), 1u);
  EXPECT_FALSE(ok->executors[0].memory_limit_bytes);
  EXPECT_EQ(*ok->executors[0].memory_used_bytes, 15000000000000000000u);
}

// Found while fuzzing (fuzz/mesos_fuzz, docs/fuzzing.md): each figure was valid, their
// sums were not (CPU time +inf, memory used wrapped around 2^64).
TEST(MonitorStatisticsTest, SumsBeyondRangeSkipTheEntry) {
  const std::string body = R"([
    {"executor_id": "cpu", "statistics": {"timestamp": 1700000000,
      "cpus_user_time_secs": 1e308, "cpus_system_time_secs": 1e308}},
    {"executor_id": "mem", "statistics": {"timestamp": 1700000000, "cpus_user_time_secs": 1,
      "cpus_system_time_secs": 1, "mem_rss_bytes": 1.8e19, "mem_mapped_file_bytes": 1e18}}])";
  auto parsed = parseMonitorStatistics(body, "src");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->executors.size(), 0u);
  ASSERT_EQ(parsed->errors.size(), 2u);
  EXPECT_EQ(parsed->errors[0].kind(), ErrorKind::kInvalidValue);
  EXPECT_NE(parsed->errors[0].message().find("statistics[0].statistics: cpus_user_time_secs + cpus_system_time_secs"),
            std::string::npos)
      << parsed->errors[0].message();
  EXPECT_NE(parsed->errors[1].message().find("statistics[1].statistics: mem_rss_bytes + mem_mapped_file_bytes"),
            std::string::npos)
      << parsed->errors[1].message();
  EXPECT_EQ(parsed->skipped.size(), 2u);
}

TEST(MonitorStatisticsTest, DeeplyNestedBodiesFailWithoutExhaustingTheStack) {
  const std::string body(200000, '[');
  auto parsed = parseMonitorStatistics(body, "src");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().kind(), ErrorKind::kMalformed);
}

TEST(AgentStateTest, ParsesTheRealAgentState) {
  auto parsed = parseAgentState(readFixture("mesos/agent_state.json"), "fixture");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_TRUE(parsed->errors.empty());
  const auto& state = parsed->state;
  EXPECT_EQ(state.hostname, "localhost");
  EXPECT_DOUBLE_EQ(*state.cpus, 1.0);
  ASSERT_EQ(state.executors.size(), 1u);
  const auto& e = state.executors[0];
  EXPECT_EQ(e.framework_id, "20150403-140128-251789322-5050-6047-0000");
  EXPECT_EQ(e.executor_id, "hello.dc130e23-df88-11e4-b9ec-080027fc1312");
  EXPECT_EQ(e.container_id, "f67a5e0b-91f9-474a-94a0-e2c6a3b28ea4");
  EXPECT_EQ(e.task_id, "hello.dc130e23-df88-11e4-b9ec-080027fc1312");
  EXPECT_EQ(e.app_id, "/hello");
}

TEST(AgentStateTest, ReadsAttributesAndTaskLabels) {
  const std::string body = R"({"hostname": "a1", "resources": {"cpus": 16},
    "attributes": {"instance_type": "m5.4xlarge", "rack": 3, "env": "prod"},
    "frameworks": [{"id": "m", "name": "marathon", "executors": [
      {"id": "web_api.instance-1c0b6f0e-4a4c-11e9-9e9b-0242ac110002._app.1", "container": "c1",
       "tasks": [{"id": "web_api.instance-1c0b6f0e-4a4c-11e9-9e9b-0242ac110002._app.1",
                  "labels": [{"key": "env", "value": "staging"}, {"key": "team", "value": "x"},
                             {"key": "rightsize.kafka.groups", "value": "clicks,views"}]}]},
      {"id": "exec-without-container", "tasks": []},
      {"container": "no-id"}]},
     {"id": "c", "name": "chronos", "executors": [{"id": "job.1", "container": "c3", "tasks": [{"id": "job.1"}]}]}]})";
  auto parsed = parseAgentState(body, "src");
  ASSERT_TRUE(parsed.ok());
  const auto& state = parsed->state;
  EXPECT_EQ(state.attributes.at("instance_type"), "m5.4xlarge");
  EXPECT_EQ(state.attributes.at("rack"), "3");
  ASSERT_EQ(state.executors.size(), 3u);
  EXPECT_EQ(state.executors[0].app_id, "/web/api");
  EXPECT_EQ(state.executors[0].env, "staging");
  EXPECT_EQ(state.executors[0].kafka_groups, "clicks,views");
  EXPECT_EQ(state.executors[1].container_id, "exec-without-container");
  EXPECT_EQ(state.executors[2].app_id, "");  // not a Marathon framework
  ASSERT_EQ(parsed->errors.size(), 1u);
  EXPECT_EQ(parsed->errors[0].message(), "src: frameworks[0].executors[2].id: missing");
}

TEST(AgentStateTest, NotAnObjectFails) {
  EXPECT_FALSE(parseAgentState("[]", "src").ok());
  EXPECT_FALSE(parseAgentState(R"({"frameworks": )", "src").ok());
}

TEST(MarathonTaskIdTest, MapsEveryMarathonFormatBackToTheAppId) {
  EXPECT_EQ(appIdFromMarathonTaskId("hello.dc130e23-df88-11e4-b9ec-080027fc1312"), "/hello");
  EXPECT_EQ(appIdFromMarathonTaskId("tools_docker_registry.002b4d28-c4ba-11e4-b6f6-56847afe9799"),
            "/tools/docker/registry");
  EXPECT_EQ(appIdFromMarathonTaskId("my-service.instance-a41beca1-fa49-11e8-93c4-269daf75ef3f._app.1"), "/my-service");
  EXPECT_EQ(appIdFromMarathonTaskId("pod.instance-a41beca1-fa49-11e8-93c4-269daf75ef3f.web.2"), "/pod");
  EXPECT_EQ(appIdFromMarathonTaskId("group_app.marathon-a41beca1-fa49-11e8-93c4-269daf75ef3f"), "/group/app");
  EXPECT_EQ(appIdFromMarathonTaskId("dotted.name.dc130e23-df88-11e4-b9ec-080027fc1312"), "/dotted.name");
  // Markers count only when a UUID follows them: this is a legacy id of the
  // app "a.instance-b".
  EXPECT_EQ(appIdFromMarathonTaskId("a.instance-b.dc130e23-df88-11e4-b9ec-080027fc1312"), "/a.instance-b");
  EXPECT_FALSE(appIdFromMarathonTaskId("job.instance-notauuid._app.1"));
  EXPECT_FALSE(appIdFromMarathonTaskId("job.1436298853"));
  EXPECT_FALSE(appIdFromMarathonTaskId(""));
}

TEST(MarathonTaskIdTest, RealTaskIdsFromAMasterState) {
  // Every Marathon task of the mesos-dns fixture maps to the app its id names
  // (the apps there have no dots, so the app is everything before the first).
  auto document = json::parse(readFixture("mesos/master_state_fake.json"), "fixture");
  ASSERT_TRUE(document.ok());
  int checked = 0;
  for (const auto& framework : (*document)["frameworks"].GetArray()) {
    if (std::string(framework["name"].GetString()) != "marathon") continue;
    for (const auto& task : framework["tasks"].GetArray()) {
      const std::string id = task["id"].GetString();
      EXPECT_EQ(appIdFromMarathonTaskId(id), "/" + id.substr(0, id.find('.'))) << id;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 8);
}

}  // namespace
}  // namespace rightsize::agent
