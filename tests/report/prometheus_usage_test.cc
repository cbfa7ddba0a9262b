// The sizer reading Prometheus (--usage-source prometheus): the recording
// rules' series of an app give the AppUsage the agents' /v1/containers
// give, so the sizer decides the same either way; a Prometheus that is not
// there gives no figures and no decision, counted.

#include "rightsize/report/prometheus_usage.h"

#include <gtest/gtest.h>

#include <string_view>

#include "rightsize/core/http.h"
#include "rightsize/core/units.h"
#include "rightsize/exporters/sizer_http.h"
#include "rightsize/sizing/sizer.h"
#include "rightsize/testing/fake_agent.h"
#include "rightsize/testing/fake_marathon.h"
#include "rightsize/testing/prometheus_server.h"

namespace rightsize::report {
namespace {

using namespace std::chrono_literals;

const TimePoint kStart = fromUnixSeconds(1'700'000'000);

// Two hours of the recording rules at their 1-minute evaluation, constant:
// /shop/web's three tasks as the FakeAgent serves them (0.3 cores on
// average, p95 0.5, 700 MiB; 2 cores and 1 GiB reserved plus the
// executor's), and /billing's consumer group falling behind.
std::string rulesHistory() {
  std::string out;
  const auto family = [&](const std::string& name, const std::string& labels, double value) {
    out += "# TYPE " + name + " gauge\n";
    for (int minute = 0; minute <= 120; ++minute) {
      out += name + labels + " " + formatExact(value) + " " +
             std::to_string(static_cast<long long>(toUnixSeconds(kStart)) + 60 * minute) + "\n";
    }
  };
  const std::string web = R"({env="prod",app_id="/shop/web"})";
  family("app:rightsize_container_cpu_used_cores:max_avg5m", web, 0.3);
  family("app:rightsize_container_cpu_used_cores:max_p95_5m", web, 0.5);
  family("app:rightsize_container_cpu_throttled_ratio:max_avg5m", web, 0);
  family("app:rightsize_container_cpu_throttled_cores:max_avg5m", web, 0.25);
  family("app:rightsize_container_cpu_throttled_cores:count", web, 3);
  family("app:rightsize_container_memory_used_bytes:max_avg5m", web, 700 * kMiB);
  family("app:rightsize_container_memory_used_bytes:max_max5m", web, 700 * kMiB);
  family("app:rightsize_container_cpu_reserved_cores:max", web, 2.1);
  family("app:rightsize_container_memory_reserved_bytes:max", web, 1056 * kMiB);
  family("app:rightsize_container_memory_limit_bytes:max", web, 1056 * kMiB);
  family("app:rightsize_container_cpu_reserved_cores:count", web, 3);
  family("rightsize_kafka_group_status", R"({env="prod",group="billing",status="WARN"})", 1);
  out += "# EOF\n";
  return out;
}

class PrometheusUsageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.set(kStart + 30min);
    testing::FakeAppSpec web;
    web.id = "/shop/web";
    web.cpus = 2.0;
    web.mem_mib = 1024;
    web.instances = 3;
    web.labels = {{"rightsize.enabled", "true"}};
    ASSERT_TRUE(marathon_.addApp(web).ok());
    ASSERT_TRUE(marathon_.start({"127.0.0.1", 0}).ok());
    agent_ = std::make_unique<testing::FakeAgent>(marathon_);
    ASSERT_TRUE(agent_->start().ok());
    agent_->set("/shop/web", {0.3, 0.5, 700});
  }
  sizing::SizerOptions options() const {
    sizing::SizerOptions o;
    o.agents = {"http://" + agent_->address()};
    o.policy.min_history = o.policy.sustain;
    o.policy.min_task_age = 0s;
    return o;
  }
  // Cycles every 30 s for 15 minutes; the app's recommendation.
  std::pair<std::optional<double>, std::optional<double>> recommend(sizing::Sizer& sizer) {
    for (int i = 0; i < 30; ++i) {
      sizer.runCycle();
      clock_.advance(30s);
    }
    for (const auto& app : sizer.snapshot()->apps) {
      if (app.app_id == "/shop/web") return {app.recommended_cpus, app.recommended_mem_mib};
    }
    return {};
  }

  ManualClock clock_;
  testing::FakeMarathon marathon_{clock_};
  std::unique_ptr<testing::FakeAgent> agent_;
  CurlHttpClient http_;
};

TEST_F(PrometheusUsageTest, TheSizerDecidesTheSameFromPrometheusAsFromTheAgents) {
  auto prometheus = testing::PrometheusServer::start(rulesHistory());
  ASSERT_TRUE(prometheus) << prometheus.error().message();
  PrometheusClient client(http_, {.url = (*prometheus)->url(), .timeout = 5s});
  PrometheusUsageSource source(client, {});

  // What one read gives, as summarize() would from the agents.
  std::vector<sizing::MarathonApp> apps(2);
  apps[0].id = "/shop/web";
  apps[0].cpus = 2;
  apps[0].mem_mib = 1024;
  apps[1].id = "/billing";
  apps[1].labels = {{"rightsize.kafka.groups", "billing"}};
  const sizing::UsageReading reading = source.read(apps, kStart + 30min);
  ASSERT_TRUE(reading.ok) << (reading.errors.empty() ? "" : reading.errors.front().message());
  ASSERT_TRUE(reading.usage.contains("/shop/web"));
  const sizing::AppUsage& web = reading.usage.at("/shop/web");
  EXPECT_EQ(web.tasks, 3);
  EXPECT_DOUBLE_EQ(*web.cpu_used_avg, 0.3);
  EXPECT_DOUBLE_EQ(*web.cpu_used_p95, 0.5);
  EXPECT_DOUBLE_EQ(*web.cpu_throttled_cores, 0.25);
  EXPECT_DOUBLE_EQ(*web.mem_used_mib, 700);
  EXPECT_DOUBLE_EQ(web.cpu_overhead, sizing::kExecutorCpus);
  EXPECT_DOUBLE_EQ(web.mem_overhead_mib, sizing::kExecutorMemMib);
  EXPECT_FALSE(web.mem_near_limit);
  EXPECT_FALSE(web.lag_growing);
  // /billing has no figures, but its group's status is read; with figures
  // it would be held. Before the history, nothing.
  EXPECT_FALSE(reading.usage.contains("/billing"));
  EXPECT_TRUE(source.read(apps, kStart - 1h).usage.empty());

  // The sizer both ways, on the same data.
  exporters::SizerMetrics agent_metrics;
  testing::FakeMarathon* marathon = &marathon_;
  sizing::HttpMarathonClient marathon_client(http_, {.urls = {marathon->url()}});
  sizing::HttpAgentSource agents(http_, 2s);
  sizing::Sizer from_agents(marathon_client, agents, nullptr, clock_, agent_metrics, options());
  const auto by_agents = recommend(from_agents);
  clock_.set(kStart + 30min);
  exporters::SizerMetrics prometheus_metrics;
  sizing::SizerOptions with_prometheus = options();
  with_prometheus.usage_source = &source;
  sizing::Sizer from_prometheus(marathon_client, agents, nullptr, clock_, prometheus_metrics, with_prometheus);
  const auto by_prometheus = recommend(from_prometheus);
  ASSERT_TRUE(by_agents.first && by_prometheus.first);
  // max(0.3 + 0.135, 0.5 x 1.1, the day's peak 0.5 x 1.2) - 0.1 = 0.5 cores either way.
  EXPECT_NEAR(*by_agents.first, 0.5, 1e-9);
  EXPECT_EQ(by_prometheus, by_agents);
}

// Recorded figures no agent could have published are refused per app, each
// named, and the app gets no figures (as an agent's refused task): CPU use
// above --max-cpus, a throttled ratio above 1, throttled cores below 0 or
// above --max-cpus. Throttled cores published by fewer tasks than report
// are unknown.
TEST_F(PrometheusUsageTest, ImpossibleFiguresAreRefusedPerAppAndNamed) {
  std::string history;
  const auto family = [&](const std::string& name, const std::string& app, double value) {
    history += "# TYPE " + name + " gauge\n";
    for (int minute = 0; minute <= 10; ++minute) {
      history += name + R"({env="prod",app_id=")" + app + R"("} )" + formatExact(value) + " " +
                 std::to_string(static_cast<long long>(toUnixSeconds(kStart)) + 60 * minute) + "\n";
    }
  };
  const std::pair<const char*, std::pair<const char*, double>> bad[] = {
      {"/ok", {"app:rightsize_container_cpu_throttled_cores:max_avg5m", 0.5}},
      {"/rollout", {"app:rightsize_container_cpu_throttled_cores:max_avg5m", 0.5}},
      {"/hot", {"app:rightsize_container_cpu_used_cores:max_p95_5m", 1e6}},
      {"/ratio", {"app:rightsize_container_cpu_throttled_ratio:max_avg5m", 1.5}},
      {"/negative", {"app:rightsize_container_cpu_throttled_cores:max_avg5m", -0.5}},
      {"/huge", {"app:rightsize_container_cpu_throttled_cores:max_avg5m", 1e6}}};
  std::vector<sizing::MarathonApp> apps;
  for (const auto& [app, figure] : bad) {
    family("app:rightsize_container_cpu_used_cores:max_avg5m", app, 0.3);
    family(figure.first, app, figure.second);
    family("app:rightsize_container_cpu_reserved_cores:count", app, 2);
    // /rollout: one of its two tasks' agents does not publish it yet.
    family("app:rightsize_container_cpu_throttled_cores:count", app, std::string_view(app) == "/rollout" ? 1 : 2);
    apps.emplace_back().id = app;
  }
  history += "# EOF\n";
  auto prometheus = testing::PrometheusServer::start(history);
  ASSERT_TRUE(prometheus) << prometheus.error().message();
  PrometheusClient client(http_, {.url = (*prometheus)->url(), .timeout = 5s});
  PrometheusUsageSource source(client, {});
  const sizing::UsageReading reading = source.read(apps, kStart + 5min);
  ASSERT_TRUE(reading.ok);
  ASSERT_EQ(reading.usage.size(), 2u);
  EXPECT_DOUBLE_EQ(*reading.usage.at("/ok").cpu_throttled_cores, 0.5);
  EXPECT_FALSE(reading.usage.at("/rollout").cpu_throttled_cores);  // as from the agents, mid-rollout
  ASSERT_EQ(reading.errors.size(), 4u);
  const std::string expected[] = {"app /hot: CPU use above the ceiling of 128 cores (--max-cpus)",
                                  "app /ratio: a throttled ratio above 1", "app /negative: negative throttled cores",
                                  "app /huge: CPU use above the ceiling of 128 cores (--max-cpus)"};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(reading.errors[i].kind(), ErrorKind::kInvalidValue);
    EXPECT_NE(reading.errors[i].message().find(expected[i]), std::string::npos) << reading.errors[i].message();
  }
}

TEST_F(PrometheusUsageTest, APrometheusThatIsNotThereMeansNoDecisionCounted) {
  PrometheusClient client(http_, {.url = "http://127.0.0.1:1", .timeout = 2s});
  PrometheusUsageSource source(client, {});
  exporters::SizerMetrics metrics;
  sizing::SizerOptions o = options();
  o.usage_source = &source;
  sizing::HttpMarathonClient marathon_client(http_, {.urls = {marathon_.url()}});
  sizing::HttpAgentSource agents(http_, 2s);
  sizing::Sizer sizer(marathon_client, agents, nullptr, clock_, metrics, o);
  sizer.runCycle();
  const auto snapshot = sizer.snapshot();
  ASSERT_EQ(snapshot->apps.size(), 1u);
  EXPECT_EQ(snapshot->apps[0].state, sizing::AppState::kNoData);
  EXPECT_EQ(snapshot->agents_reachable, 0u);
  const std::string text = metrics.render(*snapshot);
  EXPECT_NE(text.find(R"(rightsize_sizer_errors_total{kind="unavailable"} 1)"), std::string::npos) << text;
}

}  // namespace
}  // namespace rightsize::report
