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
  EXPECT_DOUBLE_EQ(*e.cpus_throttled_time_secs, 8036.840845388);
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

// /monitor/statistics of a Mesos 1.10+ agent with CFS (MesosContainerizer
// usage(), src/slave/containerizer/mesos/containerizer.cpp): command tasks
// of Marathon apps, cpus 1 mem 128 without resourceLimits ("web"), cpus 0.5
// mem 128 limited to 2 cores and 512 MiB ("burst"), and the same with
// "unlimited" limits on a 16-core, 64 GiB host ("free"); and one from an
// agent without CFS ("nocfs"). The requests and limits include the command
// executor's 0.1 cpus and 32 MiB, as in Mesos' own test
// SlaveTest.StatisticsEndpointRunningExecutor (a task of cpus 1 without
// limits: cpus_soft_limit 1.1, mem_soft_limit_bytes = mem_limit_bytes).
constexpr std::string_view kStatisticsWithSoftLimits = R"([
  {"executor_id": "web.instance-6a3e0d2c-1d6f-11ee-be56-0242ac120002._app.1",
   "framework_id": "20231101-101010-16777343-5050-1-0000",
   "source": "web.instance-6a3e0d2c-1d6f-11ee-be56-0242ac120002._app.1",
   "statistics": {"cpus_limit": 1.1, "cpus_nr_periods": 16314, "cpus_nr_throttled": 12, "cpus_soft_limit": 1.1,
     "cpus_system_time_secs": 26.67, "cpus_throttled_time_secs": 0.84, "cpus_user_time_secs": 123.49,
     "mem_anon_bytes": 83886080, "mem_cache_bytes": 16384, "mem_critical_pressure_counter": 0,
     "mem_file_bytes": 16384, "mem_limit_bytes": 167772160, "mem_low_pressure_counter": 0,
     "mem_mapped_file_bytes": 4096, "mem_medium_pressure_counter": 0, "mem_rss_bytes": 83886080,
     "mem_soft_limit_bytes": 167772160, "mem_total_bytes": 83906560, "processes": 2, "threads": 9,
     "timestamp": 1700000010.41595}},
  {"executor_id": "burst.instance-7b4f1e3d-1d6f-11ee-be56-0242ac120002._app.1",
   "framework_id": "20231101-101010-16777343-5050-1-0000",
   "source": "burst.instance-7b4f1e3d-1d6f-11ee-be56-0242ac120002._app.1",
   "statistics": {"cpus_limit": 2.1, "cpus_nr_periods": 9000, "cpus_nr_throttled": 0, "cpus_soft_limit": 0.6,
     "cpus_system_time_secs": 40.1, "cpus_throttled_time_secs": 0, "cpus_user_time_secs": 900.5,
     "mem_anon_bytes": 209715200, "mem_cache_bytes": 0, "mem_file_bytes": 0, "mem_limit_bytes": 570425344,
     "mem_mapped_file_bytes": 0, "mem_rss_bytes": 209715200, "mem_soft_limit_bytes": 167772160,
     "mem_total_bytes": 209715200, "processes": 2, "threads": 30, "timestamp": 1700000010.41601}},
  {"executor_id": "free.instance-8c5a2f4e-1d6f-11ee-be56-0242ac120002._app.1",
   "framework_id": "20231101-101010-16777343-5050-1-0000",
   "source": "free.instance-8c5a2f4e-1d6f-11ee-be56-0242ac120002._app.1",
   "statistics": {"cpus_limit": 16, "cpus_nr_periods": 10, "cpus_nr_throttled": 0, "cpus_soft_limit": 0.6,
     "cpus_system_time_secs": 1, "cpus_user_time_secs": 2, "mem_limit_bytes": 68719476736,
     "mem_rss_bytes": 1048576, "mem_soft_limit_bytes": 167772160, "timestamp": 1700000010.41607}},
  {"executor_id": "nocfs.instance-9d6b3a5f-1d6f-11ee-be56-0242ac120002._app.1",
   "framework_id": "20231101-101010-16777343-5050-1-0000",
   "source": "nocfs.instance-9d6b3a5f-1d6f-11ee-be56-0242ac120002._app.1",
   "statistics": {"cpus_soft_limit": 1.1, "cpus_system_time_secs": 1, "cpus_user_time_secs": 2,
     "mem_limit_bytes": 167772160, "mem_rss_bytes": 1048576, "mem_soft_limit_bytes": 167772160,
     "timestamp": 1700000010.41612}}
])";

TEST(MonitorStatisticsTest, ReadsTheRequestsAndLimitsOfMesos110) {
  auto parsed = parseMonitorStatistics(kStatisticsWithSoftLimits, "src");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_TRUE(parsed->errors.empty()) << parsed->errors.front().message();
  ASSERT_EQ(parsed->executors.size(), 4u);
  const auto& web = parsed->executors[0];
  EXPECT_DOUBLE_EQ(*web.cpus_soft_limit, 1.1);
  EXPECT_DOUBLE_EQ(*web.cpus_limit, 1.1);
  EXPECT_EQ(*web.memory_soft_limit_bytes, 167772160u);
  EXPECT_EQ(*web.memory_limit_bytes, 167772160u);
  EXPECT_EQ(*web.memory_used_bytes, 83886080u + 4096u);
  const auto& burst = parsed->executors[1];
  EXPECT_DOUBLE_EQ(*burst.cpus_soft_limit, 0.6);
  EXPECT_DOUBLE_EQ(*burst.cpus_limit, 2.1);
  EXPECT_EQ(*burst.memory_soft_limit_bytes, 167772160u);
  EXPECT_EQ(*burst.memory_limit_bytes, 570425344u);
  const auto& free = parsed->executors[2];
  EXPECT_DOUBLE_EQ(*free.cpus_limit, 16);  // "unlimited": the host's CPUs, as Mesos reports it
  EXPECT_EQ(*free.memory_limit_bytes, 68719476736u);
  const auto& nocfs = parsed->executors[3];
  EXPECT_DOUBLE_EQ(*nocfs.cpus_soft_limit, 1.1);
  EXPECT_FALSE(nocfs.cpus_limit);
  EXPECT_FALSE(nocfs.cpus_nr_periods);
}

TEST(MonitorStatisticsTest, OlderAgentsHaveNoSoftLimits) {
  auto parsed = parseMonitorStatistics(readFixture("mesos/monitor_statistics_port_mapping.json"), "fixture");
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->executors.size(), 1u);
  EXPECT_FALSE(parsed->executors[0].cpus_soft_limit);
  EXPECT_FALSE(parsed->executors[0].memory_soft_limit_bytes);
}

TEST(MonitorStatisticsTest, ANegativeThrottledTimeLeavesTheEntryOut) {
  const std::string body = R"([
    {"executor_id": "ok", "statistics": {"timestamp": 1700000000, "cpus_user_time_secs": 1,
      "cpus_system_time_secs": 1, "cpus_throttled_time_secs": 0.5}},
    {"executor_id": "negative", "statistics": {"timestamp": 1700000000, "cpus_user_time_secs": 1,
      "cpus_system_time_secs": 1, "cpus_throttled_time_secs": -0.5}},
    {"executor_id": "absent", "statistics": {"timestamp": 1700000000, "cpus_user_time_secs": 1,
      "cpus_system_time_secs": 1}}])";
  auto parsed = parseMonitorStatistics(body, "src");
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->executors.size(), 2u);
  EXPECT_DOUBLE_EQ(*parsed->executors[0].cpus_throttled_time_secs, 0.5);
  EXPECT_FALSE(parsed->executors[1].cpus_throttled_time_secs);
  ASSERT_EQ(parsed->errors.size(), 1u);
  EXPECT_EQ(parsed->errors[0].message(), "src: statistics[1].statistics.cpus_throttled_time_secs: negative value");
}

TEST(MonitorStatisticsTest, SoftLimitsOutsideTheirRange) {
  const std::string body = R"([
    {"executor_id": "zero", "statistics": {"timestamp": 1700000000, "cpus_user_time_secs": 1,
      "cpus_system_time_secs": 1, "mem_soft_limit_bytes": 0, "cpus_soft_limit": 0}},
    {"executor_id": "unlimited", "statistics": {"timestamp": 1700000000, "cpus_user_time_secs": 1,
      "cpus_system_time_secs": 1, "mem_soft_limit_bytes": 9223372036854771712}},
    {"executor_id": "negative-cpus", "statistics": {"timestamp": 1700000000, "cpus_user_time_secs": 1,
      "cpus_system_time_secs": 1, "cpus_soft_limit": -0.5}},
    {"executor_id": "text-memory", "statistics": {"timestamp": 1700000000, "cpus_user_time_secs": 1,
      "cpus_system_time_secs": 1, "mem_soft_limit_bytes": "160M"}}])";
  auto parsed = parseMonitorStatistics(body, "src");
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->executors.size(), 2u);
  EXPECT_FALSE(parsed->executors[0].memory_soft_limit_bytes);  // 0: none
  EXPECT_EQ(parsed->executors[0].cpus_soft_limit, 0.0);
  EXPECT_FALSE(parsed->executors[1].memory_soft_limit_bytes);  // the kernel's "unlimited"
  ASSERT_EQ(parsed->errors.size(), 2u);
  EXPECT_EQ(parsed->errors[0].kind(), ErrorKind::kInvalidValue);
  EXPECT_EQ(parsed->errors[0].message(), "src: statistics[2].statistics.cpus_soft_limit: negative value");
  EXPECT_EQ(parsed->errors[1].kind(), ErrorKind::kInvalidValue);
  EXPECT_NE(parsed->errors[1].message().find("statistics[3].statistics.mem_soft_limit_bytes"), std::string::npos)
      << parsed->errors[1].message();
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

// Mesos 1.10+ lists a task's limits in /state, an "unlimited" one as the
// bare token Infinity (stout's jsonify): read, not a malformed body.
TEST(AgentStateTest, UnlimitedTaskLimitsDoNotSpoilTheState) {
  const std::string body = R"({"hostname": "a1", "resources": {"cpus": 16},
    "frameworks": [{"id": "m", "name": "marathon", "executors": [
      {"id": "free.instance-8c5a2f4e-1d6f-11ee-be56-0242ac120002._app.1", "container": "c-free",
       "tasks": [{"id": "free.instance-8c5a2f4e-1d6f-11ee-be56-0242ac120002._app.1",
                  "resources": {"cpus": 0.5, "mem": 128}, "limits": {"cpus": Infinity, "mem": Infinity},
                  "labels": [{"key": "env", "value": "prod"}]}]},
      {"id": "burst.instance-7b4f1e3d-1d6f-11ee-be56-0242ac120002._app.1", "container": "c-burst",
       "tasks": [{"id": "burst.instance-7b4f1e3d-1d6f-11ee-be56-0242ac120002._app.1",
                  "resources": {"cpus": 0.5, "mem": 128}, "limits": {"cpus": 2, "mem": 512}}]}]}]})";
  auto parsed = parseAgentState(body, "src");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_TRUE(parsed->errors.empty());
  ASSERT_EQ(parsed->state.executors.size(), 2u);
  EXPECT_EQ(parsed->state.executors[0].container_id, "c-free");
  EXPECT_EQ(parsed->state.executors[0].app_id, "/free");
  EXPECT_EQ(parsed->state.executors[0].env, "prod");
  EXPECT_EQ(parsed->state.executors[1].app_id, "/burst");
  // A non-finite figure where one is read is still refused.
  auto infinite = parseAgentState(R"({"resources": {"cpus": Infinity}})", "src");
  ASSERT_TRUE(infinite.ok());
  EXPECT_FALSE(infinite->state.cpus);
  ASSERT_EQ(infinite->errors.size(), 1u);
  EXPECT_EQ(infinite->errors[0].kind(), ErrorKind::kInvalidValue);
}

// Where the host stands: its memory for tasks and its fault domain's zone
// (Mesos 1.5+, --domain), for the sizer's fleet capacity.
TEST(AgentStateTest, ReadsTheHostsMemoryAndZone) {
  auto parsed = parseAgentState(
      R"({"resources": {"cpus": 16, "mem": 63488}, "domain": {"fault_domain": {"region": {"name": "eu-west-1"},)"
      R"( "zone": {"name": "eu-west-1b"}}}})",
      "src");
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->errors.empty());
  EXPECT_EQ(parsed->state.mem_mib, 63488);
  EXPECT_EQ(parsed->state.zone, "eu-west-1b");
  // Neither given: unknown. A zone name that is no string: said, left out.
  auto bare =
      parseAgentState(R"({"resources": {"cpus": 16}, "domain": {"fault_domain": {"zone": {"name": 7}}}})", "src");
  ASSERT_TRUE(bare.ok());
  EXPECT_FALSE(bare->state.mem_mib);
  EXPECT_EQ(bare->state.zone, "");
  ASSERT_EQ(bare->errors.size(), 1u);
  EXPECT_NE(bare->errors[0].message().find("domain.fault_domain.zone.name"), std::string::npos)
      << bare->errors[0].message();
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
