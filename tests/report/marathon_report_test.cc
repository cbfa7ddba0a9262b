// `rightsize report --marathon-url`: the Marathon double's app definitions
// beside a real Prometheus' history. Today's figures are Marathon's, the
// replay honours each app's rightsize.* labels as the sizer does (the
// recommendation is simulate's with those settings), disabled apps are left
// alone, apps gone from Marathon or without history are said so, bad labels
// are warnings.

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "rightsize/core/clock.h"
#include "rightsize/core/http.h"
#include "rightsize/core/json.h"
#include "rightsize/core/text.h"
#include "rightsize/report/fleet_report.h"
#include "rightsize/report/html_report.h"
#include "rightsize/report/marathon_apps.h"
#include "rightsize/testing/fake_marathon.h"
#include "rightsize/testing/prometheus_server.h"

namespace rightsize::report {
namespace {

using namespace std::chrono_literals;

// Two days at 5 minutes of four apps; the last is no longer in Marathon.
simulate::Trace history() {
  std::string csv = "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb\n";
  const long long start = 1'700'006'400;
  struct App {
    const char* id;
    double reserved, mem_reserved;
    double (*used)(int step);
    double (*mem_used)(int step);
  };
  const App apps[] = {
      {"/shop/idle", 2, 4096, [](int i) { return 0.2 + 0.01 * (i % 3); }, [](int) { return 900.0; }},
      {"/shop/frozen", 1, 2048, [](int) { return 0.1; }, [](int) { return 300.0; }},
      {"/shop/single", 1, 2048, [](int) { return 0.3; }, [](int i) { return std::min(2100.0, 1000 + 2.0 * i); }},
      {"/shop/gone", 1, 1024, [](int) { return 0.2; }, [](int) { return 200.0; }},
  };
  for (const App& app : apps) {
    for (int i = 0; i < 576; ++i) {
      csv += std::string(app.id) + "," + std::to_string(start + 300LL * i) + "," + std::to_string(app.reserved) + "," +
             std::to_string(app.used(i)) + "," + std::to_string(app.mem_reserved) + "," +
             std::to_string(app.mem_used(i)) + "\n";
    }
  }
  auto trace = simulate::parseTrace(csv, "marathon.csv");
  EXPECT_TRUE(trace) << trace.error().message();
  return trace ? std::move(*trace) : simulate::Trace{};
}

// What simulate recommends for `id` replayed alone with `settings`.
simulate::AppResult simulated(const simulate::Trace& trace, const std::string& id,
                              const sizing::AppSettings& settings) {
  simulate::Trace one = trace;
  std::erase_if(one.apps, [&](const simulate::AppTrace& app) { return app.app_id != id; });
  simulate::RightsizePolicyOptions policy;
  policy.settings = settings;
  policy.max_concurrent_deployments = 1000;
  return simulate::replay(one, simulate::rightsizePolicy(policy), {.host_cores = 0}).per_app.at(0);
}

class MarathonReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(marathon_
                    .addApp({.id = "/shop/idle",
                             .cpus = 2,
                             .mem_mib = 4096,
                             .instances = 3,
                             .labels = {{"rightsize.cpu.min", "1.5"}, {"rightsize.cpu.band", "wide"}}})
                    .ok());
    ASSERT_TRUE(
        marathon_.addApp({.id = "/shop/frozen", .cpus = 1, .mem_mib = 2048, .labels = {{"rightsize.enabled", "false"}}})
            .ok());
    // One instance, no label: the sizer grows it, never shrinks it.
    ASSERT_TRUE(marathon_.addApp({.id = "/shop/single", .cpus = 1, .mem_mib = 2048, .instances = 1}).ok());
    ASSERT_TRUE(marathon_.addApp({.id = "/shop/new", .cpus = 0.5, .mem_mib = 512, .instances = 2}).ok());
    ASSERT_TRUE(marathon_.addApp({.id = "/elsewhere/new", .cpus = 4, .mem_mib = 512, .instances = 2}).ok());
    ASSERT_TRUE(marathon_.start({"127.0.0.1", 0}).ok());
  }

  sizing::HttpMarathonClient marathonClient() {
    return sizing::HttpMarathonClient(http_, {.urls = {marathon_.url()}, .timeout = 5s});
  }

  ManualClock clock_;
  testing::FakeMarathon marathon_{clock_};
  CurlHttpClient http_;
};

TEST_F(MarathonReportTest, LiveDefinitionsAndLabelsMakeTheSizersRecommendation) {
  const simulate::Trace trace = history();
  auto prometheus = testing::PrometheusServer::start(testing::traceOpenMetrics(trace, testing::TraceSeries::kAgent));
  ASSERT_TRUE(prometheus) << prometheus.error().message();
  PrometheusClient client(http_, {.url = (*prometheus)->url()});
  auto marathon = marathonClient();
  ReportOptions options;
  options.apps_regex = "/shop/.+";
  auto report = buildReport(client, options, trace.end, &marathon);
  ASSERT_TRUE(report) << report.error().message();
  std::map<std::string, AppReport> apps;
  for (const auto& app : report->apps) apps[app.app_id] = app;
  ASSERT_EQ(apps.size(), 5u);  // the four with history and /shop/new; not /elsewhere/new

  // Labelled: its cpu floor holds, on 3 instances (Marathon's).
  const AppReport& idle = apps.at("/shop/idle");
  EXPECT_EQ(idle.marathon, "live");
  EXPECT_EQ(idle.tasks, 3);
  sizing::AppSettings labelled = simulate::RightsizePolicyOptions{}.settings;
  labelled.cpu_min = 1.5;
  const simulate::AppResult idle_expected = simulated(trace, "/shop/idle", labelled);
  EXPECT_DOUBLE_EQ(idle.recommended_cpus, idle_expected.final_reservation.cpus);
  EXPECT_DOUBLE_EQ(idle.recommended_mem_mib.value_or(-1), idle_expected.final_reservation.mem_mib.value_or(-2));
  EXPECT_EQ(idle.redeploys, idle_expected.redeploys);
  EXPECT_GE(idle.recommended_cpus, 1.5);
  // Without the label it would go lower: the label made the difference.
  EXPECT_LT(simulated(trace, "/shop/idle", simulate::RightsizePolicyOptions{}.settings).final_reservation.cpus, 1.5);
  EXPECT_NEAR(idle.core_hours_saved_per_month, (2 - idle.recommended_cpus) * 3 * 720, 1e-6);

  // rightsize.enabled=false: the sizer never touches it.
  const AppReport& frozen = apps.at("/shop/frozen");
  EXPECT_EQ(frozen.marathon, "excluded");
  EXPECT_DOUBLE_EQ(frozen.recommended_cpus, 1);
  EXPECT_DOUBLE_EQ(frozen.recommended_mem_mib.value_or(-1), 2048);
  EXPECT_EQ(frozen.redeploys, 0u);
  EXPECT_DOUBLE_EQ(frozen.core_hours_saved_per_month, 0);

  // One instance: grown as the sizer would, not shrunk.
  const AppReport& single = apps.at("/shop/single");
  EXPECT_EQ(single.marathon, "live");
  sizing::AppSettings one_instance = simulate::RightsizePolicyOptions{}.settings;
  one_instance.allow_single_instance = false;
  const simulate::AppResult single_expected = simulated(trace, "/shop/single", one_instance);
  EXPECT_DOUBLE_EQ(single.recommended_cpus, single_expected.final_reservation.cpus);
  EXPECT_DOUBLE_EQ(single.recommended_mem_mib.value_or(-1), single_expected.final_reservation.mem_mib.value_or(-2));
  EXPECT_GT(single.recommended_mem_mib.value_or(0), 2048);
  EXPECT_NE(simulated(trace, "/shop/single", simulate::RightsizePolicyOptions{}.settings).final_reservation,
            single_expected.final_reservation);

  // Gone from Marathon: reported, flagged, out of the totals.
  const AppReport& gone = apps.at("/shop/gone");
  EXPECT_EQ(gone.marathon, "gone");
  EXPECT_DOUBLE_EQ(gone.cpus, 1);  // from the metrics
  // In Marathon without history.
  const AppReport& fresh = apps.at("/shop/new");
  EXPECT_EQ(fresh.marathon, "no history");
  EXPECT_EQ(fresh.tasks, 2);
  EXPECT_DOUBLE_EQ(fresh.recommended_cpus, 0.5);
  EXPECT_EQ(fresh.history_seconds, 0);

  EXPECT_EQ(report->totals.apps, 4u);
  EXPECT_NEAR(report->totals.reserved_cores, 2 * 3 + 1 + 1 + 0.5 * 2, 1e-9);
  // The bad label is a warning, naming the app and the label.
  ASSERT_EQ(report->warnings.size(), 1u);
  EXPECT_NE(report->warnings[0].find("/shop/idle"), std::string::npos) << report->warnings[0];
  EXPECT_NE(report->warnings[0].find("rightsize.cpu.band"), std::string::npos) << report->warnings[0];
  // Every output says it.
  auto document = json::parse(reportJson(*report), "report");
  ASSERT_TRUE(document) << document.error().message();
  bool gone_in_json = false;
  for (const auto& app : (*document)["apps"].GetArray()) {
    if (std::string(app["app_id"].GetString()) == "/shop/gone")
      gone_in_json = std::string(app["marathon"].GetString()) == "gone";
  }
  EXPECT_TRUE(gone_in_json);
  EXPECT_NE(reportTable(*report).find("(no history)"), std::string::npos);
  EXPECT_NE(reportCsv(*report).find(",excluded,,\n"), std::string::npos);
}

// A burstable app (its label): the limits the replay recommends beside its
// request, in every output; an app without limits shows none.
TEST_F(MarathonReportTest, ABurstableAppsLimitsAreReportedBesideItsRequest) {
  std::string csv = "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb\n";
  for (const std::string app : {"/burst/web", "/burst/plain"}) {
    for (int i = 0; i < 576; ++i) {
      // Half an hour of 1.8 cores and 1,500 MiB every six hours, 0.3 and 500 between.
      const bool burst = i % 72 < 6;
      csv += app + "," + std::to_string(1'700'006'400LL + 300LL * i) + ",2," + (burst ? "1.8" : "0.3") + ",4096," +
             (burst ? "1500" : "500") + "\n";
    }
  }
  auto trace = simulate::parseTrace(csv, "burst.csv");
  ASSERT_TRUE(trace) << trace.error().message();
  ASSERT_TRUE(marathon_
                  .addApp({.id = "/burst/web",
                           .cpus = 2,
                           .mem_mib = 4096,
                           .instances = 2,
                           .labels = {{"rightsize.limits", "burstable"}, {"rightsize.mem.limit", "unlimited"}}})
                  .ok());
  ASSERT_TRUE(marathon_.addApp({.id = "/burst/plain", .cpus = 2, .mem_mib = 4096, .instances = 2}).ok());
  auto prometheus = testing::PrometheusServer::start(testing::traceOpenMetrics(*trace, testing::TraceSeries::kAgent));
  ASSERT_TRUE(prometheus) << prometheus.error().message();
  PrometheusClient client(http_, {.url = (*prometheus)->url()});
  auto marathon = marathonClient();
  ReportOptions options;
  options.apps_regex = "/burst/.+";
  auto report = buildReport(client, options, trace->end, &marathon);
  ASSERT_TRUE(report) << report.error().message();
  ASSERT_EQ(report->apps.size(), 2u);
  const AppReport& plain = report->apps[0].app_id == "/burst/plain" ? report->apps[0] : report->apps[1];
  const AppReport& web = report->apps[0].app_id == "/burst/web" ? report->apps[0] : report->apps[1];
  ASSERT_EQ(web.app_id, "/burst/web");

  sizing::AppSettings burstable = simulate::RightsizePolicyOptions{}.settings;
  burstable.burstable = true;
  burstable.mem_limit_unlimited = true;
  const simulate::AppResult expected = simulated(*trace, "/burst/web", burstable);
  ASSERT_TRUE(expected.final_reservation.cpus_limit);
  EXPECT_DOUBLE_EQ(web.recommended_cpus, expected.final_reservation.cpus);
  EXPECT_DOUBLE_EQ(web.recommended_cpus_limit.value_or(-1), *expected.final_reservation.cpus_limit);
  EXPECT_GT(*web.recommended_cpus_limit, web.recommended_cpus);  // the bursts are above the request
  EXPECT_TRUE(web.recommended_mem_limit_mib && std::isinf(*web.recommended_mem_limit_mib));
  EXPECT_FALSE(plain.recommended_cpus_limit);
  EXPECT_FALSE(plain.recommended_mem_limit_mib);

  auto document = json::parse(reportJson(*report), "report");
  ASSERT_TRUE(document) << document.error().message();
  for (const auto& app : (*document)["apps"].GetArray()) {
    if (std::string(app["app_id"].GetString()) == "/burst/web") {
      EXPECT_DOUBLE_EQ(app["recommended_limits"]["cpus"].GetDouble(), *web.recommended_cpus_limit);
      EXPECT_STREQ(app["recommended_limits"]["mem"].GetString(), "unlimited");
    } else {
      EXPECT_FALSE(app.HasMember("recommended_limits"));
    }
  }
  const std::string limit = formatRounded(*web.recommended_cpus_limit, 3);
  EXPECT_NE(reportTable(*report).find("limits -> " + limit + " cpus, unlimited MiB"), std::string::npos)
      << reportTable(*report);
  EXPECT_NE(reportCsv(*report).find(",live," + limit + ",unlimited\n"), std::string::npos) << reportCsv(*report);
  EXPECT_NE(reportCsv(*report).find(",live,,\n"), std::string::npos) << reportCsv(*report);
  const std::string page = reportHtml(*report);
  EXPECT_NE(page.find("<th title=\"recommended_cpus_limit\">"), std::string::npos);
  EXPECT_NE(page.find("<td data-v=\"Infinity\">unlimited</td>"), std::string::npos);
}

TEST_F(MarathonReportTest, AMarathonThatCannotBeReadIsAnError) {
  const simulate::Trace trace = history();
  auto prometheus = testing::PrometheusServer::start(testing::traceOpenMetrics(trace, testing::TraceSeries::kAgent));
  ASSERT_TRUE(prometheus) << prometheus.error().message();
  PrometheusClient client(http_, {.url = (*prometheus)->url()});
  marathon_.addFault({.http_status = 503, .count = -1});
  auto marathon = marathonClient();
  auto report = buildReport(client, {}, trace.end, &marathon);
  ASSERT_FALSE(report);
  EXPECT_NE(report.error().message().find("Marathon"), std::string::npos) << report.error().message();
}

TEST_F(MarathonReportTest, AnEnvPrometheusDoesNotHaveIsAWarning) {
  const simulate::Trace trace = history();
  auto prometheus = testing::PrometheusServer::start(testing::traceOpenMetrics(trace, testing::TraceSeries::kAgent));
  ASSERT_TRUE(prometheus) << prometheus.error().message();
  PrometheusClient client(http_, {.url = (*prometheus)->url()});
  auto marathon = marathonClient();
  ReportOptions options;
  options.marathon_env = "staging";  // the series say env="prod"
  auto report = buildReport(client, options, trace.end, &marathon);
  ASSERT_TRUE(report) << report.error().message();
  ASSERT_FALSE(report->warnings.empty());
  EXPECT_NE(report->warnings[0].find("env=\"staging\""), std::string::npos) << report->warnings[0];
  std::size_t without_history = 0;
  for (const auto& app : report->apps) {
    if (app.env == "prod") {
      EXPECT_EQ(app.marathon, "") << app.app_id;  // another env's: as without Marathon
    } else {
      EXPECT_EQ(app.marathon, "no history") << app.app_id;
      ++without_history;
    }
  }
  EXPECT_EQ(without_history, 5u);
}

TEST(MarathonEnvTest, SeveralEnvsNeedToBeNamed) {
  AppsHistory history;
  history.envs = {"prod", "staging", "prod"};
  ReportOptions options;
  auto unnamed = marathonEnv(history, options);
  ASSERT_FALSE(unnamed);
  EXPECT_NE(unnamed.error().message().find("--marathon-env"), std::string::npos);
  EXPECT_NE(unnamed.error().message().find("staging"), std::string::npos);
  options.marathon_env = "staging";
  auto named = marathonEnv(history, options);
  ASSERT_TRUE(named);
  EXPECT_EQ(*named, "staging");
  history.envs = {"prod", "prod"};
  auto only = marathonEnv(history, {});
  ASSERT_TRUE(only);
  EXPECT_EQ(*only, "prod");
}

}  // namespace
}  // namespace rightsize::report
