// `rightsize report`'s core against a real Prometheus: a trace backfilled
// with promtool, as the agents' series and as the recording rules', read
// back and replayed; the recommendations are simulate's for the same trace.

#include "rightsize/report/fleet_report.h"

#include <gtest/gtest.h>

#include <cmath>

#include "two_day_trace.h"

#include "rightsize/core/http.h"
#include "rightsize/core/json.h"
#include "rightsize/testing/prometheus_server.h"

namespace rightsize::report {
namespace {

using namespace std::chrono_literals;

// Two days at 5 minutes: an idle app on 2 cores, one busy every afternoon on
// 1 core, one whose memory fills its 2 GiB; and one the regex leaves out.
simulate::Trace threeApps() {
  return twoDayTrace(
      {
          {"/shop/idle", 2, 4096, [](int i, int) { return 0.2 + 0.01 * (i % 3); }, [](int) { return 900.0; }},
          {"/shop/daily", 1, 2048, [](int, int hour) { return hour >= 14 && hour < 17 ? 1.4 : 0.3; },
           [](int) { return 700.0; }},
          {"/shop/filling", 1, 2048, [](int, int) { return 0.5; },
           [](int i) { return std::min(2100.0, 1000 + 2.0 * i); }},
          {"/other/left-out", 1, 1024, [](int, int) { return 0.5; }, [](int) { return 500.0; }},
      },
      "three.csv");
}

TEST(FleetReportTest, ReadsTheHistoryBackAndRecommendsWhatSimulateDoes) {
  const simulate::Trace trace = threeApps();
  ReportOptions options;
  options.apps_regex = "/shop/.+";
  options.core_hour_price = 0.04;
  options.replay.host_cores = 0;
  // What simulate recommends for the same apps, replayed alone.
  simulate::Trace shop = trace;
  std::erase_if(shop.apps, [](const simulate::AppTrace& app) { return app.app_id.rfind("/shop/", 0) != 0; });
  simulate::RightsizePolicyOptions policy = options.policy;
  policy.max_concurrent_deployments = 1000;
  const simulate::PolicyResult expected = simulate::replay(shop, simulate::rightsizePolicy(policy), options.replay);
  std::map<std::string, const simulate::AppResult*> by_id;
  for (const auto& app : expected.per_app) by_id[app.app_id] = &app;

  for (const auto series : {testing::TraceSeries::kRecordingRules, testing::TraceSeries::kAgent}) {
    SCOPED_TRACE(series == testing::TraceSeries::kAgent ? "agent series" : "recording rules");
    auto prometheus = testing::PrometheusServer::start(testing::traceOpenMetrics(trace, series));
    ASSERT_TRUE(prometheus) << prometheus.error().message();
    CurlHttpClient http;
    PrometheusClient client(http, {.url = (*prometheus)->url()});
    auto report = buildReport(client, options, trace.end);
    ASSERT_TRUE(report) << report.error().message();
    EXPECT_EQ(report->source, series == testing::TraceSeries::kAgent ? "agent series" : "recording rules");
    ASSERT_EQ(report->apps.size(), 3u);
    for (const AppReport& app : report->apps) {
      SCOPED_TRACE(app.app_id);
      ASSERT_TRUE(by_id.contains(app.app_id));
      const simulate::AppResult& replayed = *by_id.at(app.app_id);
      EXPECT_EQ(app.env, "prod");
      EXPECT_DOUBLE_EQ(app.cpus, 1.0 + (app.app_id == "/shop/idle" ? 1 : 0));
      EXPECT_DOUBLE_EQ(app.recommended_cpus, replayed.final_reservation.cpus);
      EXPECT_DOUBLE_EQ(app.recommended_mem_mib.value_or(-1), replayed.final_reservation.mem_mib.value_or(-2));
      EXPECT_EQ(app.redeploys, replayed.redeploys);
      EXPECT_EQ(app.oom_kills, replayed.oom_kills);
      EXPECT_NEAR(app.history_seconds, 575 * 300, 1);
      EXPECT_NEAR(app.coverage, 1, 1e-9);
      EXPECT_NEAR(app.confidence, 575.0 * 300 / (7 * 86400), 1e-6);
      EXPECT_EQ(app.confidence_label, "low");
      EXPECT_NEAR(app.core_hours_saved_per_month, (app.cpus - app.recommended_cpus) * 720, 1e-6);
      EXPECT_NEAR(app.money_saved_per_month.value_or(0), app.core_hours_saved_per_month * 0.04, 1e-9);
    }
    // The idle app is shrunk, the filling one grown.
    const auto find = [&](const std::string& id) {
      return *std::find_if(report->apps.begin(), report->apps.end(),
                           [&](const AppReport& a) { return a.app_id == id; });
    };
    EXPECT_LT(find("/shop/idle").recommended_cpus, 1.0);
    EXPECT_GT(find("/shop/filling").recommended_mem_mib.value_or(0), 2048);
    EXPECT_GT(report->totals.core_hours_saved_per_month, 0);
    // The JSON as docs/report.md has it.
    auto document = json::parse(reportJson(*report), "report");
    ASSERT_TRUE(document) << document.error().message();
    EXPECT_EQ((*document)["totals"]["apps"].GetUint64(), 3u);
    EXPECT_TRUE((*document)["apps"][0].HasMember("recommended_cpus"));
    EXPECT_TRUE((*document)["apps"][0].HasMember("confidence"));
    EXPECT_NE(reportTable(*report).find("/shop/idle"), std::string::npos);
    EXPECT_EQ(reportCsv(*report).rfind("env,app_id,tasks,cpus,", 0), 0u);
  }
}

// The apps replay independently: on one thread or several, the same report.
TEST(FleetReportTest, ThreadsChangeNothing) {
  AppsHistory history;
  history.trace = threeApps();
  history.envs.assign(history.trace.apps.size(), "prod");
  history.tasks.assign(history.trace.apps.size(), 2);
  ReportOptions options;
  options.threads = 1;
  const std::string one = reportJson(reportFromHistory(history, options));
  options.threads = 3;
  const std::string three = reportJson(reportFromHistory(history, options));
  EXPECT_EQ(three, one);
  EXPECT_NE(one.find(R"("app_id":"/other/left-out")"), std::string::npos) << one;
}

TEST(FleetReportTest, APrometheusWithoutRightsizeSeriesIsAClearError) {
  auto prometheus = testing::PrometheusServer::start("# TYPE up gauge\nup{job=\"x\"} 1 1700000000\n# EOF\n");
  ASSERT_TRUE(prometheus) << prometheus.error().message();
  CurlHttpClient http;
  PrometheusClient client(http, {.url = (*prometheus)->url()});
  auto report = buildReport(client, {}, fromUnixSeconds(1'700'000'000));
  ASSERT_FALSE(report);
  EXPECT_NE(report.error().message().find("has no rightsize series"), std::string::npos) << report.error().message();
  // And one that is not there.
  PrometheusClient nowhere(http, {.url = "http://127.0.0.1:1", .timeout = 2s});
  EXPECT_FALSE(buildReport(nowhere, {}, fromUnixSeconds(1'700'000'000)));
}

}  // namespace
}  // namespace rightsize::report
