#include "rightsize/wire/containers_report.h"

#include <gtest/gtest.h>

namespace rightsize::wire {
namespace {

// The example of docs/api.md (a container whose limits are above its
// requests), with a second container of which nothing is known yet.
ContainersReport sample() {
  ContainersReport report;
  report.host = "agent-1";
  report.timestamp = fromUnixSeconds(1700000000.5);
  report.window = std::chrono::minutes(5);
  report.host_used_cores = 3.5;
  report.host_capacity_cores = 16;
  report.host_capacity_bytes = 64.0 * 1024 * 1024 * 1024;
  report.place = HostPlace{"m5.4xlarge", "eu-west-1a", "spot"};
  Container web;
  web.container_id = "c1";
  web.app_id = "/web";
  web.task_id = "web.instance-x._app.1";
  web.env = "prod";
  web.samples = 31;
  web.cpu = {.reserved_cores = 1.1,
             .limit_cores = 2.1,
             .used_cores = 0.42,
             .used_cores_avg = 0.40,
             .used_cores_p95 = 0.81,
             .used_above_request_cores = 0.0,
             .lying_factor_cores = 0.70,
             .throttled_ratio = 0.0,
             .throttled_cores = 0.25};
  web.mem = {.reserved_bytes = 167772160,
             .limit_bytes = 301989888,
             .used_bytes = 90000000,
             .used_bytes_peak = 95000000,
             .lying_factor_bytes = 77772160};
  Container fresh;
  fresh.container_id = "c2";
  fresh.instance_type = "m5.large";
  fresh.samples = 1;
  report.containers = {web, fresh};
  return report;
}

std::string containersOf(std::string_view entries) {
  return R"({"host": "agent-1", "timestamp": 1700000000.5, "window_seconds": 300, "containers": [)" +
         std::string(entries) + "]}";
}

TEST(WireContainersReportTest, EncodesTheJsonOfApiMd) {
  EXPECT_EQ(encodeContainersReport(sample()),
            R"({"host":"agent-1","timestamp":1700000000.5,"window_seconds":300,"host_used_cores":3.5,)"
            R"("host_capacity_cores":16,"host_capacity_bytes":68719476736,"instance_type":"m5.4xlarge",)"
            R"("zone":"eu-west-1a","lifecycle":"spot","containers":[)"
            R"({"container_id":"c1","app_id":"/web","task_id":"web.instance-x._app.1","env":"prod","samples":31,)"
            R"("cpu":{"reserved_cores":1.1,"limit_cores":2.1,"used_cores":0.42,"used_cores_avg":0.4,)"
            R"("used_cores_p95":0.81,"used_above_request_cores":0,"lying_factor_cores":0.7,"throttled_ratio":0,)"
            R"("throttled_cores":0.25},)"
            R"("mem":{"reserved_bytes":167772160,"limit_bytes":301989888,"used_bytes":90000000,)"
            R"("used_bytes_peak":95000000,"lying_factor_bytes":77772160}},)"
            R"({"container_id":"c2","app_id":"","task_id":"","instance_type":"m5.large","samples":1,)"
            R"("cpu":{"reserved_cores":null,"limit_cores":null,"used_cores":null,"used_cores_avg":null,)"
            R"("used_cores_p95":null,"used_above_request_cores":null,"lying_factor_cores":null,"throttled_ratio":null,)"
            R"("throttled_cores":null},)"
            R"("mem":{"reserved_bytes":null,"limit_bytes":null,"used_bytes":null,"used_bytes_peak":null,)"
            R"("lying_factor_bytes":null}}]})");
}

TEST(WireContainersReportTest, AnEmptyReportHasItsTimeAndAnEmptyArray) {
  EXPECT_EQ(encodeContainersReport({}),
            R"({"host":"","timestamp":0.0,"window_seconds":0,"host_used_cores":null,"host_capacity_cores":null,)"
            R"("host_capacity_bytes":null,"containers":[]})");
}

TEST(WireContainersReportTest, WhatIsEncodedDecodesToItself) {
  ContainersReport report = sample();
  report.window = std::chrono::milliseconds(300500);
  report.containers[0].cpu.lying_factor_cores = -0.25;  // reserved below use
  report.containers[0].cpu.used_above_request_cores = 0.25;
  report.containers[0].mem.lying_factor_bytes = -1048576;
  report.containers[1].app_id = "/batch";
  report.containers[1].task_id = "batch.1";
  // An agent writes limit_bytes, null or not: the decoder says it was there.
  for (Container& c : report.containers) c.mem.limit_reported = true;
  std::vector<Error> errors;
  const ContainersReport decoded = decodeContainersReport(encodeContainersReport(report), "agent", errors);
  EXPECT_TRUE(errors.empty()) << errors.front().message();
  EXPECT_EQ(decoded, report);
}

// The host's figures are informational: a bad one is said and left out, the
// containers kept.
TEST(WireContainersReportTest, ABadHostFigureIsLeftOut) {
  std::vector<Error> errors;
  const ContainersReport report = decodeContainersReport(
      R"({"host": "h", "host_used_cores": -3, "host_capacity_cores": 16, "containers": []})", "agent", errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message(), "agent: host_used_cores is not a non-negative number");
  EXPECT_FALSE(report.host_used_cores);
  EXPECT_EQ(report.host_capacity_cores, 16);
}

// An agent older than limit_bytes reports its hard limit as reserved_bytes:
// the decoder tells a missing member from a null one (unlimited).
TEST(WireContainersReportTest, AMissingLimitIsToldFromAnUnlimitedOne) {
  const std::string body = R"({"host": "h", "timestamp": 1, "window_seconds": 300, "containers": [
    {"container_id": "c1", "app_id": "/a", "task_id": "a.1", "mem": {"reserved_bytes": 1024, "used_bytes": 10}},
    {"container_id": "c2", "app_id": "/a", "task_id": "a.2",
     "mem": {"reserved_bytes": 1024, "limit_bytes": null, "used_bytes": 10}}]})";
  std::vector<Error> errors;
  const ContainersReport decoded = decodeContainersReport(body, "agent", errors);
  ASSERT_EQ(decoded.containers.size(), 2u) << (errors.empty() ? "" : errors.front().message());
  EXPECT_FALSE(decoded.containers[0].mem.limit_reported);
  EXPECT_TRUE(decoded.containers[1].mem.limit_reported);
  EXPECT_FALSE(decoded.containers[1].mem.limit_bytes);
}

TEST(WireContainersReportTest, InvalidUtf8IsReplacedOnTheWay) {
  ContainersReport report;
  report.host = "agent-\xff";
  std::vector<Error> errors;
  EXPECT_EQ(decodeContainersReport(encodeContainersReport(report), "agent", errors).host, "agent-\xef\xbf\xbd");
}

// Each figure the sizer reads refuses its entry, named by index and field,
// when it is not a number >= 0; the other entries are kept.
TEST(WireContainersReportTest, EveryBadFigureIsNamed) {
  const std::pair<const char*, const char*> figures[] = {{"cpu", "reserved_cores"},
                                                         {"cpu", "limit_cores"},
                                                         {"cpu", "used_cores_avg"},
                                                         {"cpu", "used_cores_p95"},
                                                         {"cpu", "used_above_request_cores"},
                                                         {"cpu", "throttled_ratio"},
                                                         {"cpu", "throttled_cores"},
                                                         {"mem", "reserved_bytes"},
                                                         {"mem", "limit_bytes"},
                                                         {"mem", "used_bytes"},
                                                         {"mem", "used_bytes_peak"}};
  for (const auto& [object, name] : figures) {
    for (const char* bad : {"-1", "\"0.5\"", "true", "{}", "[]"}) {
      const std::string body = containersOf(R"({"app_id": "/web", "task_id": "web.1", "cpu": {}, "mem": {}},)"
                                            R"({"app_id": "/web", "task_id": "web.2", ")" +
                                            std::string(object) + R"(": {")" + name + R"(": )" + bad + "}}");
      std::vector<Error> errors;
      const ContainersReport report = decodeContainersReport(body, "http://agent-1:9540/v1/containers", errors);
      ASSERT_EQ(report.containers.size(), 1u) << name << " " << bad;
      EXPECT_EQ(report.containers[0].task_id, "web.1");
      ASSERT_EQ(errors.size(), 1u);
      EXPECT_EQ(errors[0].kind(), ErrorKind::kInvalidValue);
      EXPECT_EQ(errors[0].message(), "http://agent-1:9540/v1/containers: containers[1]: " + std::string(name) +
                                         " is not a non-negative number");
    }
  }
}

// An agent from before requests and limits were told apart sends no
// limit_cores, used_above_request_cores nor limit_bytes: unknown, as null,
// and the entry is kept.
TEST(WireContainersReportTest, TheLimitMembersAreOptional) {
  std::vector<Error> errors;
  const ContainersReport report = decodeContainersReport(
      containersOf(R"({"app_id": "/web", "task_id": "web.1",)"
                   R"( "cpu": {"reserved_cores": 1.1, "used_cores_avg": 0.4, "used_cores_p95": 0.81},)"
                   R"( "mem": {"reserved_bytes": 167772160, "used_bytes": 90000000}},)"
                   R"({"app_id": "/web", "task_id": "web.2",)"
                   R"( "cpu": {"reserved_cores": 1.1, "limit_cores": null, "used_above_request_cores": null},)"
                   R"( "mem": {"reserved_bytes": 167772160, "limit_bytes": null}},)"
                   R"({"app_id": "/web", "task_id": "web.3",)"
                   R"( "cpu": {"reserved_cores": 1.1, "limit_cores": 2.1, "used_above_request_cores": 0.5},)"
                   R"( "mem": {"reserved_bytes": 167772160, "limit_bytes": 301989888}})"),
      "agent", errors);
  EXPECT_TRUE(errors.empty()) << errors.front().message();
  ASSERT_EQ(report.containers.size(), 3u);
  for (const Container& c : {report.containers[0], report.containers[1]}) {
    EXPECT_EQ(c.cpu.reserved_cores, 1.1) << c.task_id;
    EXPECT_FALSE(c.cpu.limit_cores) << c.task_id;
    EXPECT_FALSE(c.cpu.used_above_request_cores) << c.task_id;
    EXPECT_EQ(c.mem.reserved_bytes, 167772160) << c.task_id;
    EXPECT_FALSE(c.mem.limit_bytes) << c.task_id;
  }
  const Container& limited = report.containers[2];
  EXPECT_EQ(limited.cpu.limit_cores, 2.1);
  EXPECT_EQ(limited.cpu.used_above_request_cores, 0.5);
  EXPECT_EQ(limited.mem.limit_bytes, 301989888);
}

TEST(WireContainersReportTest, AppIdAndTaskIdMustBeStrings) {
  for (const char* entry : {R"({"task_id": "x"})", R"({"app_id": "/web"})", R"({"app_id": 1, "task_id": "x"})",
                            R"({"app_id": "/web", "task_id": null})", R"("web.1")"}) {
    std::vector<Error> errors;
    EXPECT_TRUE(decodeContainersReport(containersOf(entry), "agent", errors).containers.empty()) << entry;
    ASSERT_EQ(errors.size(), 1u) << entry;
    EXPECT_EQ(errors[0].kind(), ErrorKind::kMissingField);
    EXPECT_EQ(errors[0].message(), "agent: containers[0]: app_id and task_id must be strings");
  }
}

TEST(WireContainersReportTest, ABodyThatIsNoReportIsOneError) {
  for (const char* body : {R"({"containers": [)", "", "[]", R"({"containers": {}})", R"({"host": "agent-1"})"}) {
    std::vector<Error> errors;
    const ContainersReport report = decodeContainersReport(body, "agent", errors);
    EXPECT_TRUE(report.containers.empty()) << body;
    ASSERT_EQ(errors.size(), 1u) << body;
    EXPECT_NE(errors[0].message().find("agent"), std::string::npos) << errors[0].message();
  }
  std::vector<Error> errors;
  (void)decodeContainersReport(R"({"containers": null})", "agent", errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].kind(), ErrorKind::kMalformed);
  EXPECT_EQ(errors[0].message(), "agent: no containers array");
}

// Null or absent figures are unknown; members the sizer does not read are
// taken when of their type and never refuse an entry.
TEST(WireContainersReportTest, UnknownAndInformationalMembers) {
  std::vector<Error> errors;
  const ContainersReport report = decodeContainersReport(
      R"({"host": 7, "timestamp": "now", "containers": [)"
      R"({"app_id": "/web", "task_id": "web.1", "cpu": {"used_cores_avg": null}, "mem": 3},)"
      R"({"container_id": 5, "app_id": "", "task_id": "t", "samples": -1, "env": ["prod"],)"
      R"( "cpu": {"used_cores": "x", "lying_factor_cores": -0.5}, "mem": {"lying_factor_bytes": -1e9}}]})",
      "agent", errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(report.host, "");
  EXPECT_EQ(report.timestamp, TimePoint{});
  ASSERT_EQ(report.containers.size(), 2u);
  EXPECT_EQ(report.containers[0].cpu, CpuFigures{});
  EXPECT_EQ(report.containers[0].mem, MemFigures{});
  const Container& other = report.containers[1];
  EXPECT_EQ(other.container_id, "");
  EXPECT_EQ(other.samples, 0u);
  EXPECT_EQ(other.env, "");
  EXPECT_FALSE(other.cpu.used_cores);
  EXPECT_EQ(other.cpu.lying_factor_cores, -0.5);
  EXPECT_EQ(other.mem.lying_factor_bytes, -1e9);
}

}  // namespace
}  // namespace rightsize::wire
