#include "rightsize/wire/containers_report.h"

#include <gtest/gtest.h>

namespace rightsize::wire {
namespace {

// The example of docs/api.md, with a second container of which nothing is
// known yet.
ContainersReport sample() {
  ContainersReport report;
  report.host = "agent-1";
  report.timestamp = fromUnixSeconds(1700000000.5);
  report.window = std::chrono::minutes(5);
  Container web;
  web.container_id = "c1";
  web.app_id = "/web";
  web.task_id = "web.instance-x._app.1";
  web.env = "prod";
  web.samples = 31;
  web.cpu = {.reserved_cores = 1.1,
             .used_cores = 0.42,
             .used_cores_avg = 0.40,
             .used_cores_p95 = 0.81,
             .lying_factor_cores = 0.70,
             .throttled_ratio = 0.0};
  web.mem = {
      .reserved_bytes = 167772160, .used_bytes = 90000000, .used_bytes_peak = 95000000, .lying_factor_bytes = 77772160};
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
            R"({"host":"agent-1","timestamp":1700000000.5,"window_seconds":300,"containers":[)"
            R"({"container_id":"c1","app_id":"/web","task_id":"web.instance-x._app.1","env":"prod","samples":31,)"
            R"("cpu":{"reserved_cores":1.1,"used_cores":0.42,"used_cores_avg":0.4,"used_cores_p95":0.81,)"
            R"("lying_factor_cores":0.7,"throttled_ratio":0},)"
            R"("mem":{"reserved_bytes":167772160,"used_bytes":90000000,"used_bytes_peak":95000000,)"
            R"("lying_factor_bytes":77772160}},)"
            R"({"container_id":"c2","app_id":"","task_id":"","instance_type":"m5.large","samples":1,)"
            R"("cpu":{"reserved_cores":null,"used_cores":null,"used_cores_avg":null,"used_cores_p95":null,)"
            R"("lying_factor_cores":null,"throttled_ratio":null},)"
            R"("mem":{"reserved_bytes":null,"used_bytes":null,"used_bytes_peak":null,"lying_factor_bytes":null}}]})");
}

TEST(WireContainersReportTest, AnEmptyReportHasItsTimeAndAnEmptyArray) {
  EXPECT_EQ(encodeContainersReport({}), R"({"host":"","timestamp":0.0,"window_seconds":0,"containers":[]})");
}

TEST(WireContainersReportTest, WhatIsEncodedDecodesToItself) {
  ContainersReport report = sample();
  report.window = std::chrono::milliseconds(300500);
  report.containers[0].cpu.lying_factor_cores = -0.25;  // reserved below use
  report.containers[0].mem.lying_factor_bytes = -1048576;
  report.containers[1].app_id = "/batch";
  report.containers[1].task_id = "batch.1";
  std::vector<Error> errors;
  const ContainersReport decoded = decodeContainersReport(encodeContainersReport(report), "agent", errors);
  EXPECT_TRUE(errors.empty()) << errors.front().message();
  EXPECT_EQ(decoded, report);
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
  const std::pair<const char*, const char*> figures[] = {
      {"cpu", "reserved_cores"}, {"cpu", "used_cores_avg"}, {"cpu", "used_cores_p95"}, {"cpu", "throttled_ratio"},
      {"mem", "reserved_bytes"}, {"mem", "used_bytes"},     {"mem", "used_bytes_peak"}};
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
