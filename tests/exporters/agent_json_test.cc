#include "rightsize/exporters/agent_json.h"

#include <gtest/gtest.h>

#include "rightsize/core/json.h"

namespace rightsize::exporters {
namespace {

agent::AgentSnapshot sampleSnapshot() {
  agent::AgentSnapshot snapshot;
  snapshot.host = "agent-1";
  snapshot.timestamp = fromUnixSeconds(1700000000.5);
  snapshot.window = std::chrono::minutes(5);
  snapshot.cycles = 3;
  snapshot.source_ok = true;
  snapshot.host_capacity_bytes = 8.0 * 1024 * 1024 * 1024;
  snapshot.host_place = wire::HostPlace{"m5.large", "", "on-demand"};
  agent::ContainerStats full;
  full.identity = {.container_id = "c1",
                   .app_id = "/web",
                   .task_id = "web.instance-x._app.1",
                   .env = "prod",
                   .instance_type = "m5.large"};
  full.samples = 31;
  full.reserved_cores = 1.1;
  full.limit_cores = 2.1;
  full.used_cores = 0.42;
  full.used_cores_avg = 0.40;
  full.used_cores_p95 = 0.81;
  full.used_above_request_cores = 0.0;
  full.lying_factor_cores = 0.70;
  full.throttled_ratio = 0.0;
  full.throttled_cores = 0.0;
  full.memory_reserved_bytes = 167772160;
  full.memory_limit_bytes = 301989888;
  full.memory_used_bytes = 90000000;
  full.memory_used_bytes_peak = 95000000;
  full.memory_lying_factor_bytes = 77772160;
  agent::ContainerStats fresh;  // first reading: no rates yet, no limits known
  fresh.identity.container_id = "c2";
  fresh.samples = 1;
  snapshot.containers = {full, fresh};
  return snapshot;
}

TEST(ContainersJsonTest, HasTheShapeOfDesignMd) {
  auto document = json::parse(containersJson(sampleSnapshot()), "output");
  ASSERT_TRUE(document.ok()) << document.error().message();
  const auto& d = *document;
  EXPECT_STREQ(d["host"].GetString(), "agent-1");
  EXPECT_DOUBLE_EQ(d["timestamp"].GetDouble(), 1700000000.5);
  EXPECT_DOUBLE_EQ(d["window_seconds"].GetDouble(), 300);
  ASSERT_EQ(d["containers"].Size(), 2u);
  const auto& c = d["containers"][0];
  EXPECT_STREQ(c["container_id"].GetString(), "c1");
  EXPECT_STREQ(c["app_id"].GetString(), "/web");
  EXPECT_STREQ(c["task_id"].GetString(), "web.instance-x._app.1");
  EXPECT_EQ(c["samples"].GetUint64(), 31u);
  EXPECT_DOUBLE_EQ(c["cpu"]["reserved_cores"].GetDouble(), 1.1);
  EXPECT_DOUBLE_EQ(c["cpu"]["limit_cores"].GetDouble(), 2.1);
  EXPECT_DOUBLE_EQ(c["cpu"]["used_cores"].GetDouble(), 0.42);
  EXPECT_DOUBLE_EQ(c["cpu"]["used_cores_avg"].GetDouble(), 0.40);
  EXPECT_DOUBLE_EQ(c["cpu"]["used_cores_p95"].GetDouble(), 0.81);
  EXPECT_DOUBLE_EQ(c["cpu"]["used_above_request_cores"].GetDouble(), 0.0);
  EXPECT_DOUBLE_EQ(c["cpu"]["lying_factor_cores"].GetDouble(), 0.70);
  EXPECT_DOUBLE_EQ(c["cpu"]["throttled_ratio"].GetDouble(), 0.0);
  EXPECT_DOUBLE_EQ(c["cpu"]["throttled_cores"].GetDouble(), 0.0);
  EXPECT_EQ(c["mem"]["reserved_bytes"].GetDouble(), 167772160);
  EXPECT_EQ(c["mem"]["limit_bytes"].GetDouble(), 301989888);
  EXPECT_EQ(c["mem"]["used_bytes"].GetDouble(), 90000000);
  EXPECT_EQ(c["mem"]["used_bytes_peak"].GetDouble(), 95000000);
  EXPECT_EQ(c["mem"]["lying_factor_bytes"].GetDouble(), 77772160);
}

// The document is wire/'s encoding of the snapshot, byte for byte what the
// agent has always served.
TEST(ContainersJsonTest, IsTheWireEncodingOfTheSnapshot) {
  const std::string text = containersJson(sampleSnapshot());
  EXPECT_EQ(text, wire::encodeContainersReport(containersReport(sampleSnapshot())));
  EXPECT_EQ(
      text,
      R"({"host":"agent-1","timestamp":1700000000.5,"window_seconds":300,"host_used_cores":null,)"
      R"("host_capacity_cores":null,"host_capacity_bytes":8589934592,"instance_type":"m5.large",)"
      R"("lifecycle":"on-demand","containers":[{"container_id":"c1",)"
      R"("app_id":"/web","task_id":"web.instance-x._app.1","env":"prod","instance_type":"m5.large","samples":31,)"
      R"("cpu":{"reserved_cores":1.1,"limit_cores":2.1,"used_cores":0.42,"used_cores_avg":0.4,"used_cores_p95":0.81,)"
      R"("used_above_request_cores":0,"lying_factor_cores":0.7,"throttled_ratio":0,"throttled_cores":0},)"
      R"("mem":{"reserved_bytes":167772160,"limit_bytes":301989888,"used_bytes":90000000,"used_bytes_peak":95000000,"lying_factor_bytes":77772160}},)"
      R"({"container_id":"c2","app_id":"","task_id":"","samples":1,"cpu":{"reserved_cores":null,"limit_cores":null,)"
      R"("used_cores":null,"used_cores_avg":null,"used_cores_p95":null,"used_above_request_cores":null,)"
      R"("lying_factor_cores":null,"throttled_ratio":null,"throttled_cores":null},)"
      R"("mem":{"reserved_bytes":null,"limit_bytes":null,)"
      R"("used_bytes":null,"used_bytes_peak":null,"lying_factor_bytes":null}}]})");
}

TEST(ContainersJsonTest, UnknownValuesAreNull) {
  auto document = json::parse(containersJson(sampleSnapshot()), "output");
  ASSERT_TRUE(document.ok());
  const auto& c = (*document)["containers"][1];
  for (const char* key : {"reserved_cores", "limit_cores", "used_cores", "used_cores_avg", "used_cores_p95",
                          "used_above_request_cores", "lying_factor_cores", "throttled_ratio", "throttled_cores"}) {
    ASSERT_TRUE(c["cpu"].HasMember(key)) << key;
    EXPECT_TRUE(c["cpu"][key].IsNull()) << key;
  }
  for (const char* key : {"reserved_bytes", "limit_bytes", "used_bytes", "used_bytes_peak", "lying_factor_bytes"}) {
    ASSERT_TRUE(c["mem"].HasMember(key)) << key;
    EXPECT_TRUE(c["mem"][key].IsNull()) << key;
  }
  EXPECT_FALSE(c.HasMember("env"));
}

TEST(AgentHealthTest, OkDegradedStartingAndStalled) {
  auto snapshot = sampleSnapshot();
  const Duration stall_after = stallAfter(std::chrono::seconds(10), std::chrono::seconds(10));
  EXPECT_EQ(stall_after, std::chrono::seconds(30));
  EXPECT_EQ(stallAfter(std::chrono::seconds(2), std::chrono::seconds(10)), std::chrono::seconds(14));
  EXPECT_EQ(agentHealth(snapshot, snapshot.timestamp + std::chrono::seconds(5), stall_after).http_status, 200);
  snapshot.source_ok = false;
  const Health degraded = agentHealth(snapshot, snapshot.timestamp, stall_after);
  EXPECT_EQ(degraded.http_status, 200);
  EXPECT_NE(degraded.body.find(R"("status":"degraded")"), std::string::npos);
  const Health stalled = agentHealth(snapshot, snapshot.timestamp + std::chrono::seconds(31), stall_after);
  EXPECT_EQ(stalled.http_status, 503);
  EXPECT_NE(stalled.body.find(R"("status":"stalled")"), std::string::npos);
  snapshot.cycles = 0;
  EXPECT_EQ(agentHealth(snapshot, snapshot.timestamp, stall_after).http_status, 503);
}

}  // namespace
}  // namespace rightsize::exporters
