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

// Histories that are not whole: a reservation changed mid-history, a gap, an
// app starting late, one stopping early (a count of 3 tasks last reported
// before the end), changes on the queries' cuts in time.
simulate::Trace unevenApps() {
  std::string csv = "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb\n";
  const long long start = 1'700'006'400;
  const auto row = [&](const char* app, int i, double cpus, double used, double mem, double mem_used) {
    csv += std::string(app) + "," + std::to_string(start + 300LL * i) + "," + std::to_string(cpus) + "," +
           std::to_string(used) + "," + std::to_string(mem) + "," + std::to_string(mem_used) + "\n";
  };
  const auto wave = [](int i) { return 0.3 + 0.2 * ((i / 12) % 2); };
  for (int i = 0; i < 576; ++i) row("/t/resized", i, i < 250 ? 1 : 2, wave(i), i < 250 ? 1024 : 2048, 600);
  for (int i = 0; i < 576; ++i) {
    if (i < 200 || i > 260) row("/t/gap", i, 1, wave(i), 1024, 500);
  }
  for (int i = 400; i < 576; ++i) row("/t/late", i, 0.5, 0.2, 512, 300);
  for (int i = 457; i < 576; ++i) row("/t/later.v2", i, 0.5, 0.4, 512, 300);
  for (int i = 0; i <= 500; ++i) row("/t/stops", i, 2, 0.5, 4096, 1000);
  // Its reservations change exactly where a cut in time falls.
  for (int i = 0; i < 576; ++i) row("/t/boundary", i, i < 300 ? 4 : 1, 0.6, i < 300 ? 8192 : 2048, 900);
  auto trace = simulate::parseTrace(csv, "uneven.csv");
  EXPECT_TRUE(trace) << trace.error().message();
  return trace ? std::move(*trace) : simulate::Trace{};
}

// The report as it was read before the apps came by groups and the tasks
// from the last step: each series in one range query over every app.
FleetReport readAllAtOnce(PrometheusClient& client, const SeriesSource& source, const ReportOptions& options,
                          TimePoint now) {
  std::vector<QueryResult> results;
  for (const std::string* query :
       {&source.cpu_used, &source.cpu_reserved, &source.mem_used, &source.mem_reserved, &source.tasks}) {
    std::string promql = *query;
    for (const auto& [what, with] :
         {std::pair<std::string, std::string>{"{APPS}", "app_id=~\".+\""}, {"{STEP}", "299s"}}) {
      for (auto at = promql.find(what); at != std::string::npos; at = promql.find(what)) {
        promql.replace(at, what.size(), with);
      }
    }
    auto result = client.queryRange(promql, now - options.history, now, options.step, 10);
    EXPECT_TRUE(result) << result.error().message();
    results.push_back(result ? std::move(*result) : QueryResult{});
  }
  FleetReport report = reportFromHistory(
      historyFromSeries(results[0], results[1], results[2], results[3], results[4], options.step), options);
  report.source = source.name;
  report.start = now - options.history;
  report.end = now;
  return report;
}

TEST(FleetReportTest, AppsReadByGroupsAndCutInTimeGiveTheReportOfOneReading) {
  const simulate::Trace trace = unevenApps();
  ASSERT_EQ(trace.apps.size(), 6u);
  ReportOptions options;
  // From the first point to the last: step i of the queries is point i.
  options.history = std::chrono::seconds(575 * 300);
  options.replay.host_cores = 0;
  for (const auto series : {testing::TraceSeries::kRecordingRules, testing::TraceSeries::kAgent}) {
    const bool agent = series == testing::TraceSeries::kAgent;
    SCOPED_TRACE(agent ? "agent series" : "recording rules");
    std::string text = testing::traceOpenMetrics(trace, series);
    if (!agent) {
      // The stopped app ran 3 tasks at its end, the resized one 2.
      for (const auto& [app, tasks] : {std::pair<std::string, std::string>{"/t/stops", "3"}, {"/t/resized", "2"}}) {
        const std::string line =
            "app:rightsize_container_cpu_reserved_cores:count{env=\"prod\",app_id=\"" + app + "\"} ";
        for (auto at = text.find(line); at != std::string::npos; at = text.find(line, at + 1)) {
          text.replace(at + line.size(), 1, tasks);
        }
      }
    }
    auto prometheus = testing::PrometheusServer::start(text);
    ASSERT_TRUE(prometheus) << prometheus.error().message();
    CurlHttpClient http;
    const TimePoint now = trace.end;
    PrometheusClient whole(http, {.url = (*prometheus)->url()});
    const FleetReport expected =
        readAllAtOnce(whole, agent ? agentSeriesSource() : recordingRulesSource(), options, now);
    ASSERT_EQ(expected.apps.size(), 6u);
    // One app a group, each cut in queries of 100 steps: the cuts fall on
    // steps 200, 300 and 400.
    PrometheusClient cut(http,
                         {.url = (*prometheus)->url(), .max_points_per_series = 100, .max_points_per_query = 150});
    auto grouped = buildReport(cut, options, now);
    ASSERT_TRUE(grouped) << grouped.error().message();
    // The probes, the apps listed, and per app 4 series in 6 queries, the
    // tasks at the last step, and over the history for the stopped app.
    EXPECT_EQ(grouped->queries, (agent ? 3u : 2u) + 6 * (4 * 6 + 1) + 6);
    EXPECT_EQ(reportJson(*grouped), reportJson(expected));
    // On one replay thread (the reader's own) or several, with one query in
    // flight at a time or several (each reader its own client): the same,
    // and the same queries.
    for (const std::size_t threads : {1, 3}) {
      for (const std::size_t concurrent : {1, 4}) {
        ReportOptions on = options;
        on.threads = threads;
        on.concurrent_queries = concurrent;
        PrometheusClient again(
            http, {.url = (*prometheus)->url(), .max_points_per_series = 100, .max_points_per_query = 150});
        auto replayed = buildReport(again, on, now);
        ASSERT_TRUE(replayed) << replayed.error().message();
        EXPECT_EQ(reportJson(*replayed), reportJson(expected)) << threads << " threads, " << concurrent << " queries";
        EXPECT_EQ(replayed->queries, grouped->queries);
      }
    }
    // And read at once, by default.
    auto at_once = buildReport(whole, options, now);
    ASSERT_TRUE(at_once) << at_once.error().message();
    EXPECT_EQ(reportJson(*at_once), reportJson(expected));
    const auto find = [&](const std::string& id) {
      return *std::find_if(grouped->apps.begin(), grouped->apps.end(),
                           [&](const AppReport& a) { return a.app_id == id; });
    };
    EXPECT_DOUBLE_EQ(find("/t/resized").cpus, 2);
    EXPECT_DOUBLE_EQ(find("/t/boundary").cpus, 1);
    EXPECT_DOUBLE_EQ(find("/t/boundary").mem_mib.value_or(0), 2048);
    EXPECT_EQ(find("/t/resized").tasks, agent ? 1 : 2);
    EXPECT_EQ(find("/t/stops").tasks, agent ? 1 : 3);
    // A plain selector (the recording rules') holds a point its lookback
    // (5 minutes, both ends) on; the agents' 299 s windows do not.
    const int held = agent ? 0 : 1;
    EXPECT_NEAR(find("/t/gap").coverage, (576.0 - 61 + held) / 576, 1e-9);
    EXPECT_NEAR(find("/t/late").history_seconds, 175 * 300, 1);
    EXPECT_NEAR(find("/t/later.v2").history_seconds, 118 * 300, 1);
    EXPECT_NEAR(find("/t/stops").history_seconds, (500 + held) * 300, 1);
  }
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
