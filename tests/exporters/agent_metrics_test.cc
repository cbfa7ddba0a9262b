#include "rightsize/exporters/agent_metrics.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace rightsize::exporters {
namespace {

agent::AgentSnapshot snapshotWith(std::vector<std::string> ids) {
  agent::AgentSnapshot snapshot;
  snapshot.host = "agent-1";
  snapshot.cycles = 1;
  snapshot.source_ok = true;
  snapshot.host_used_cores = 3.5;
  snapshot.host_capacity_cores = 16;
  for (const auto& id : ids) {
    agent::ContainerStats c;
    c.identity = {
        .container_id = id, .app_id = "/web", .task_id = "web." + id, .env = "prod", .instance_type = "m5.large"};
    c.reserved_cores = 1.1;
    c.limit_cores = 2.1;
    c.used_cores = 0.42;
    c.used_cores_avg = 0.4;
    c.used_cores_p95 = 0.8;
    c.used_above_request_cores = 0;
    c.lying_factor_cores = 0.7;
    c.throttled_ratio = 0.05;
    c.throttled_cores = 0.25;
    c.memory_reserved_bytes = 167772160;
    c.memory_limit_bytes = 301989888;
    c.memory_used_bytes = 90000000;
    c.memory_used_bytes_peak = 95000000;
    c.memory_lying_factor_bytes = 77772160;
    snapshot.containers.push_back(c);
  }
  return snapshot;
}

TEST(AgentMetricsTest, ExposesEveryContainerGaugeWithDesignLabels) {
  AgentMetrics metrics;
  const std::string text = metrics.render(snapshotWith({"c1"}));
  const std::string labels =
      R"({app_id="/web",container_id="c1",env="prod",host="agent-1",instance_type="m5.large",task_id="web.c1"})";
  for (const std::string& line : {
           "rightsize_container_cpu_reserved_cores" + labels + " 1.1",
           "rightsize_container_cpu_limit_cores" + labels + " 2.1",
           "rightsize_container_cpu_used_cores" + labels + " 0.42",
           "rightsize_container_cpu_used_cores_avg" + labels + " 0.4",
           "rightsize_container_cpu_used_cores_p95" + labels + " 0.8",
           "rightsize_container_cpu_used_above_request_cores" + labels + " 0",
           "rightsize_container_cpu_lying_factor_cores" + labels + " 0.7",
           "rightsize_container_cpu_throttled_ratio" + labels + " 0.05",
           "rightsize_container_cpu_throttled_cores" + labels + " 0.25",
           "rightsize_container_memory_reserved_bytes" + labels + " 167772160",
           "rightsize_container_memory_limit_bytes" + labels + " 301989888",
           "rightsize_container_memory_used_bytes" + labels + " 90000000",
           "rightsize_container_memory_used_bytes_peak" + labels + " 95000000",
           "rightsize_container_memory_lying_factor_bytes" + labels + " 77772160",
           std::string(R"(rightsize_host_cpu_used_cores{host="agent-1"} 3.5)"),
           std::string(R"(rightsize_host_cpu_capacity_cores{host="agent-1"} 16)"),
       }) {
    EXPECT_NE(text.find(line + "\n"), std::string::npos) << line << "\nin:\n" << text;
  }
}

TEST(AgentMetricsTest, AVanishedContainersSeriesDisappear) {
  AgentMetrics metrics;
  EXPECT_NE(metrics.render(snapshotWith({"c1", "c2"})).find(R"(container_id="c2")"), std::string::npos);
  EXPECT_EQ(metrics.render(snapshotWith({"c1"})).find(R"(container_id="c2")"), std::string::npos);
}

TEST(AgentMetricsTest, CountsErrorsBySourceAndKind) {
  AgentMetrics metrics;
  metrics.record("mesos", Error(ErrorKind::kMalformed, "bad"));
  metrics.record("mesos", Error(ErrorKind::kMalformed, "bad again"));
  metrics.record("cgroups", Error(ErrorKind::kUnreadable, "x"));
  metrics.observeCycle(std::chrono::milliseconds(12));
  const std::string text = metrics.render(snapshotWith({}));
  EXPECT_NE(text.find(R"(rightsize_agent_errors_total{kind="malformed",source="mesos"} 2)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(rightsize_agent_errors_total{kind="unreadable",source="cgroups"} 1)"), std::string::npos);
  EXPECT_NE(text.find("rightsize_agent_cycle_duration_seconds_count 1"), std::string::npos);
}

TEST(AgentMetricsTest, DeclaredSourcesStartEveryErrorKindAtZero) {
  AgentMetrics metrics;
  metrics.declareSource("cgroups");
  const std::string text = metrics.render(snapshotWith({}));
  for (const char* kind : {"unavailable", "http_status", "malformed", "missing_field", "invalid_value", "counter_reset",
                           "clock_jump", "unreadable"}) {
    EXPECT_NE(text.find("rightsize_agent_errors_total{kind=\"" + std::string(kind) + "\",source=\"cgroups\"} 0\n"),
              std::string::npos)
        << kind << "\n"
        << text;
  }
}

TEST(AgentMetricsTest, UnknownValuesAreOmittedNotZero) {
  auto snapshot = snapshotWith({"c1"});
  snapshot.containers[0].used_cores.reset();
  snapshot.containers[0].identity.env.clear();
  AgentMetrics metrics;
  const std::string text = metrics.render(snapshot);
  EXPECT_EQ(text.find("rightsize_container_cpu_used_cores{"), std::string::npos);
  EXPECT_EQ(text.find(R"(env="")"), std::string::npos);
}

// Limits are written for the containers that have one: an unlimited
// container has its request, and no limit series rather than a 0.
TEST(AgentMetricsTest, LimitSeriesOnlyForContainersWithALimit) {
  auto snapshot = snapshotWith({"limited", "unlimited"});
  auto& unlimited = snapshot.containers[1];
  unlimited.limit_cores.reset();
  unlimited.memory_limit_bytes.reset();
  AgentMetrics metrics;
  const std::string text = metrics.render(snapshot);
  for (const std::string name : {"rightsize_container_cpu_limit_cores", "rightsize_container_memory_limit_bytes"}) {
    EXPECT_NE(text.find(name + R"({app_id="/web",container_id="limited",)"), std::string::npos) << name;
    EXPECT_EQ(text.find(name + R"({app_id="/web",container_id="unlimited",)"), std::string::npos) << name;
  }
  for (const std::string name :
       {"rightsize_container_cpu_reserved_cores", "rightsize_container_memory_reserved_bytes"}) {
    EXPECT_NE(text.find(name + R"({app_id="/web",container_id="unlimited",)"), std::string::npos) << name;
  }
  for (auto& c : snapshot.containers) {
    c.limit_cores.reset();
    c.memory_limit_bytes.reset();
  }
  const std::string none = metrics.render(snapshot);
  EXPECT_EQ(none.find("rightsize_container_cpu_limit_cores"), std::string::npos);  // not even HELP
  EXPECT_EQ(none.find("rightsize_container_memory_limit_bytes"), std::string::npos);
}

TEST(AgentMetricsTest, PassesPromtoolCheckMetrics) {
  AgentMetrics metrics;
  metrics.record("mesos", Error(ErrorKind::kUnavailable, "down"));
  metrics.observeCycle(std::chrono::milliseconds(3));
  auto snapshot = snapshotWith({"c1", "c2"});
  snapshot.containers[1].identity.app_id = R"(/odd"app\name)";  // label escaping
  const auto result = testing::promtoolCheckMetrics(metrics.render(snapshot));
  EXPECT_EQ(result.exit_code, 0) << result.output;
}

}  // namespace
}  // namespace rightsize::exporters
