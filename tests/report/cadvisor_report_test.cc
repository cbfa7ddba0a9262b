// `rightsize report` over cAdvisor's series, for fleets without agents: a
// trace backfilled into a real Prometheus as cAdvisor would have left it
// (CPU as counters), the app read from each shape of label, and the
// recommendations simulate's for the same trace.

#include <gtest/gtest.h>

#include <map>

#include "two_day_trace.h"

#include "rightsize/core/http.h"
#include "rightsize/report/cadvisor_source.h"
#include "rightsize/report/fleet_report.h"
#include "rightsize/testing/cadvisor_series.h"
#include "rightsize/testing/prometheus_server.h"

namespace rightsize::report {
namespace {

// Two days at 5 minutes: an idle app on 2 cores, one busy every afternoon,
// one deep in groups with a dot in a name, a tiny one, and one --apps
// leaves out.
simulate::Trace cadvisorApps() {
  return twoDayTrace(
      {
          {"/shop/idle", 2, 4096, [](int i, int) { return 0.2 + 0.01 * (i % 3); }, [](int) { return 900.0; }},
          {"/shop/daily", 1, 2048, [](int, int hour) { return hour >= 14 && hour < 17 ? 1.4 : 0.3; },
           [](int) { return 700.0; }},
          {"/team.a/api/v2-web", 0.5, 1024, [](int, int) { return 0.7; },
           [](int i) { return std::min(1100.0, 600 + 1.0 * i); }},
          // 0.123 cores: 125 shares, which are 0.122 cores; the CFS quota says 0.123.
          {"/shop/tiny", 0.123, 256, [](int, int) { return 0.05; }, [](int) { return 100.0; }},
          {"/other/left-out", 1, 1024, [](int, int) { return 0.5; }, [](int) { return 500.0; }},
      },
      "four.csv");
}

TEST(CadvisorReportTest, EachLabelShapeGivesSimulatesRecommendations) {
  const simulate::Trace trace = cadvisorApps();
  ReportOptions options;
  options.apps_regex = "/shop/.+|/team[.]a/.+";
  options.replay.host_cores = 0;
  simulate::Trace wanted = trace;
  std::erase_if(wanted.apps, [](const simulate::AppTrace& app) { return app.app_id == "/other/left-out"; });
  simulate::RightsizePolicyOptions policy = options.policy;
  policy.max_concurrent_deployments = 1000;
  const simulate::PolicyResult expected = simulate::replay(wanted, simulate::rightsizePolicy(policy), options.replay);
  std::map<std::string, const simulate::AppResult*> by_id;
  for (const auto& app : expected.per_app) by_id[app.app_id] = &app;

  const testing::CadvisorShape shapes[] = {
      // Docker, cAdvisor --env_metadata_whitelist=MARATHON_APP_ID (the default label).
      {.app_label = "container_env_marathon_app_id", .task_id = false, .docker = true},
      // Docker, Marathon's MESOS_TASK_ID container label.
      {.app_label = "container_label_MESOS_TASK_ID", .task_id = true, .docker = true},
      // The Mesos containerizer through cAdvisor's Mesos handler: the
      // executor's source is the task id; the executor's share inside.
      {.app_label = "container_label_source", .task_id = true, .docker = false},
  };
  for (const testing::CadvisorShape& shape : shapes) {
    SCOPED_TRACE(shape.app_label);
    auto prometheus = testing::PrometheusServer::start(testing::cadvisorOpenMetrics(trace, shape));
    ASSERT_TRUE(prometheus) << prometheus.error().message();
    CurlHttpClient http;
    PrometheusClient client(http, {.url = (*prometheus)->url()});
    options.cadvisor_app_label = shape.app_label;
    auto report = buildReport(client, options, trace.end);
    ASSERT_TRUE(report) << report.error().message();
    EXPECT_EQ(report->source, "cAdvisor series");
    EXPECT_TRUE(report->warnings.empty()) << report->warnings.front();
    ASSERT_EQ(report->apps.size(), 4u);
    for (const AppReport& app : report->apps) {
      SCOPED_TRACE(app.app_id);
      ASSERT_TRUE(by_id.contains(app.app_id));
      const simulate::AppResult& replayed = *by_id.at(app.app_id);
      const simulate::AppTrace& original = *std::find_if(
          trace.apps.begin(), trace.apps.end(), [&](const simulate::AppTrace& a) { return a.app_id == app.app_id; });
      EXPECT_EQ(app.env, "");
      EXPECT_EQ(app.tasks, 1);
      // The reservation as Marathon has it, whichever executor's share the
      // container holds.
      EXPECT_DOUBLE_EQ(app.cpus, original.points.back().cpu_reserved_cores);
      EXPECT_DOUBLE_EQ(app.mem_mib.value_or(-1), original.points.back().memory_reserved_mib.value_or(-2));
      EXPECT_DOUBLE_EQ(app.recommended_cpus, replayed.final_reservation.cpus);
      EXPECT_DOUBLE_EQ(app.recommended_mem_mib.value_or(-1), replayed.final_reservation.mem_mib.value_or(-2));
      EXPECT_EQ(app.redeploys, replayed.redeploys);
      EXPECT_EQ(app.oom_kills, replayed.oom_kills);
      EXPECT_NEAR(app.history_seconds, 575 * 300, 1);
      EXPECT_NEAR(app.coverage, 1, 1e-9);
    }
  }
}

// The label is a flag: the wrong one finds nothing, and says which it read.
TEST(CadvisorReportTest, TheAppLabelFlagChoosesTheSeries) {
  const simulate::Trace trace = cadvisorApps();
  auto prometheus = testing::PrometheusServer::start(testing::cadvisorOpenMetrics(
      trace, {.app_label = "container_label_MESOS_TASK_ID", .task_id = true, .docker = true}));
  ASSERT_TRUE(prometheus) << prometheus.error().message();
  CurlHttpClient http;
  PrometheusClient client(http, {.url = (*prometheus)->url()});
  ReportOptions options;  // the default label, container_env_marathon_app_id
  auto missing = buildReport(client, options, trace.end);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("container_env_marathon_app_id"), std::string::npos)
      << missing.error().message();
  options.cadvisor_app_label = "container_label_MESOS_TASK_ID";
  auto found = buildReport(client, options, trace.end);
  ASSERT_TRUE(found) << found.error().message();
  std::vector<std::string> ids;
  for (const auto& app : found->apps) ids.push_back(app.app_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"/other/left-out", "/shop/daily", "/shop/idle", "/shop/tiny",
                                           "/team.a/api/v2-web"}));
  // A label that is not one is refused before any query.
  options.cadvisor_app_label = "container-label";
  auto refused = buildReport(client, options, trace.end);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("--cadvisor-app-label"), std::string::npos);
}

TEST(CadvisorReportTest, AppLabelNamesAreValidated) {
  EXPECT_TRUE(validCadvisorAppLabel("container_env_marathon_app_id").ok());
  EXPECT_TRUE(validCadvisorAppLabel("container_label_MESOS_TASK_ID").ok());
  for (const char* bad : {"", "9lives", "container-label", "app_id", "env", "rightsize_app", "__name__", "a\"b"}) {
    EXPECT_FALSE(validCadvisorAppLabel(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace rightsize::report
