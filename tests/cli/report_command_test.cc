// `rightsize report` end to end: the binary against a real Prometheus over
// a backfilled trace, in each format, and its refusals.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "test_support.h"

#include "rightsize/core/json.h"
#include "rightsize/testing/fake_marathon.h"
#include "rightsize/testing/prometheus_server.h"

namespace rightsize::cli {
namespace {

using namespace std::chrono_literals;

struct ReportRun {
  int exit_code = -1;
  std::string output;
};

ReportRun runReport(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv = {testing::rightsizeBinary(), "report"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto child = testing::spawn(argv, env);
  const int status = child->wait(60s);
  child->drain(1s);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, child->output()};
}

// A day of two apps at 5 minutes: one idle on 2 cores, one busy on 1.
simulate::Trace twoApps() {
  std::string csv = "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb\n";
  for (const auto& [app, reserved, used] : {std::tuple{"/idle", 2.0, 0.2}, std::tuple{"/busy", 1.0, 0.9}}) {
    for (int i = 0; i < 288; ++i) {
      csv += std::string(app) + "," + std::to_string(1'700'006'400 + 300 * i) + "," + std::to_string(reserved) + "," +
             std::to_string(used) + ",2048,600\n";
    }
  }
  return *simulate::parseTrace(csv, "two.csv");
}

TEST(ReportBinaryTest, ReportsFromPrometheusInEachFormat) {
  const simulate::Trace trace = twoApps();
  auto prometheus = testing::PrometheusServer::start(testing::traceOpenMetrics(trace, testing::TraceSeries::kAgent));
  ASSERT_TRUE(prometheus) << prometheus.error().message();
  const std::string end = std::to_string(static_cast<long long>(toUnixSeconds(trace.end)));
  const std::vector<std::string> common = {"--prometheus", (*prometheus)->url(), "--end", end, "--history", "2d"};

  std::vector<std::string> json_args = common;
  json_args.insert(json_args.end(), {"--format", "json", "--core-hour-price", "0.05"});
  const ReportRun json = runReport(json_args);
  ASSERT_EQ(json.exit_code, 0) << json.output;
  auto document = json::parse(json.output, "report");
  ASSERT_TRUE(document) << document.error().message() << "\n" << json.output;
  EXPECT_STREQ((*document)["source"].GetString(), "agent series");
  ASSERT_EQ((*document)["apps"].Size(), 2u);
  const auto& busy = (*document)["apps"][0];
  const auto& idle = (*document)["apps"][1];
  EXPECT_STREQ(busy["app_id"].GetString(), "/busy");
  EXPECT_DOUBLE_EQ(idle["cpus"].GetDouble(), 2);
  EXPECT_LT(idle["recommended_cpus"].GetDouble(), 1);
  EXPECT_GT(idle["core_hours_saved_per_month"].GetDouble(), 0);
  EXPECT_NEAR((*document)["totals"]["money_saved_per_month"].GetDouble(),
              0.05 * (*document)["totals"]["core_hours_saved_per_month"].GetDouble(), 1e-6);

  EXPECT_FALSE(idle.HasMember("recommended_limits"));

  // The sizer's --limits burstable: every app replayed with a request and
  // limits, both reported.
  std::vector<std::string> burstable_args = common;
  burstable_args.insert(burstable_args.end(), {"--format", "json", "--limits", "burstable"});
  const ReportRun burstable = runReport(burstable_args);
  ASSERT_EQ(burstable.exit_code, 0) << burstable.output;
  auto limited = json::parse(burstable.output, "report");
  ASSERT_TRUE(limited) << limited.error().message() << "\n" << burstable.output;
  for (const auto& app : (*limited)["apps"].GetArray()) {
    ASSERT_TRUE(app.HasMember("recommended_limits")) << app["app_id"].GetString();
    const auto& limits = app["recommended_limits"];
    ASSERT_TRUE(limits.HasMember("cpus") && limits.HasMember("mem")) << app["app_id"].GetString();
    EXPECT_GE(limits["cpus"].GetDouble(), app["recommended_cpus"].GetDouble());
    EXPECT_GE(limits["mem"].GetDouble(), app["recommended_mem"].GetDouble());
  }

  // The sizer's policy flags: a --min-history of a whole day (with a
  // --memory-history as long) shrinks nothing in a day of history.
  std::vector<std::string> patient_args = common;
  patient_args.insert(patient_args.end(),
                      {"--format", "json", "--apps", "/idle", "--min-history", "1d", "--memory-history", "1d"});
  const ReportRun patient = runReport(patient_args);
  ASSERT_EQ(patient.exit_code, 0) << patient.output;
  auto held = json::parse(patient.output, "report");
  ASSERT_TRUE(held) << held.error().message() << "\n" << patient.output;
  ASSERT_EQ((*held)["apps"].Size(), 1u);
  EXPECT_DOUBLE_EQ((*held)["apps"][0]["recommended_cpus"].GetDouble(), 2);
  EXPECT_EQ((*held)["apps"][0]["redeploys"].GetUint64(), 0u);

  // The sizer's minimum change: no shrink of /idle takes 4 cores or 4 GiB.
  std::vector<std::string> small_args = common;
  small_args.insert(small_args.end(),
                    {"--format", "json", "--apps", "/idle", "--min-change-cpus", "4", "--min-change-mem", "4096"});
  const ReportRun small = runReport(small_args);
  ASSERT_EQ(small.exit_code, 0) << small.output;
  auto kept = json::parse(small.output, "report");
  ASSERT_TRUE(kept) << kept.error().message() << "\n" << small.output;
  ASSERT_EQ((*kept)["apps"].Size(), 1u);
  EXPECT_EQ((*kept)["apps"][0]["redeploys"].GetUint64(), 0u);

  const ReportRun table = runReport(common);
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("2 apps from agent series"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("prod:/idle"), std::string::npos) << table.output;

  std::vector<std::string> csv_args = common;
  csv_args.insert(csv_args.end(), {"--format", "csv", "--apps", "/idle"});
  const ReportRun csv = runReport(csv_args);
  ASSERT_EQ(csv.exit_code, 0) << csv.output;
  EXPECT_NE(csv.output.find("\nprod,/idle,1,2,"), std::string::npos) << csv.output;
  EXPECT_EQ(csv.output.find("/busy"), std::string::npos) << csv.output;

  // The HTML page, to a file: the table, the plots of the worst, median and
  // best (here /busy and /idle) and of the app --plot-apps names.
  testing::TempDir dir;
  std::vector<std::string> html_args = common;
  html_args.insert(html_args.end(), {"--format", "html", "--out", dir.path() + "/report.html", "--plot-apps", "/bu.*"});
  const ReportRun html = runReport(html_args);
  ASSERT_EQ(html.exit_code, 0) << html.output;
  std::ifstream file(dir.path() + "/report.html");
  const std::string page((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u) << page.substr(0, 200);
  EXPECT_NE(page.find("<tr data-app=\"/idle\">"), std::string::npos);
  EXPECT_NE(page.find("<tr data-app=\"/busy\">"), std::string::npos);
  EXPECT_NE(page.find("data-app=\"/idle\"><figcaption><b>median and best</b>"), std::string::npos);
  EXPECT_NE(page.find("data-app=\"/busy\"><figcaption><b>worst and named</b>"), std::string::npos);
  EXPECT_NE(page.find("</html>"), std::string::npos);

  // A token goes as a bearer: Prometheus ignores it, the report still runs.
  const ReportRun with_token = runReport(common, {"RIGHTSIZE_PROMETHEUS_TOKEN=abc"});
  EXPECT_EQ(with_token.exit_code, 0) << with_token.output;
}

TEST(ReportBinaryTest, BadFlagsAndAnUnreachablePrometheus) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--prometheus", "prometheus:9090"}, "--prometheus"},
      {{"--prometheus", "http://user:pw@prometheus:9090"}, "credentials do not belong"},
      {{"--prometheus", "http://127.0.0.1:1", "--end", "yesterday"}, "--end"},
      {{"--prometheus", "http://127.0.0.1:1", "--format", "xml"}, "--format"},
      {{"--prometheus", "http://127.0.0.1:1", "--limits", "capped"}, "--limits"},
      {{"--prometheus", "http://127.0.0.1:1", "--min-history", "2d"}, "--min-history"},
      {{"--prometheus", "http://127.0.0.1:1", "--sizer-history", "0s"}, "--sizer-history"},
      {{"--prometheus", "http://127.0.0.1:1", "--format", "html", "--plot-apps", "(web"}, "--plot-apps"},
      {{"--prometheus", "http://127.0.0.1:1", "--plot-apps", "/web"}, "--format html"},
      {{"--prometheus", "http://127.0.0.1:1", "--history", "1m", "--step", "5m"}, "--step"},
      {{}, "--prometheus"},
      {{"--prometheus", "http://127.0.0.1:1", "--cadvisor-app-label", "container-env"}, "--cadvisor-app-label"},
      {{"--prometheus", "http://127.0.0.1:1", "--marathon-url", "marathon:8080"}, "--marathon-url"},
      {{"--prometheus", "http://127.0.0.1:1", "--marathon-url", "http://user:pw@marathon:8080"},
       "credentials do not belong"},
  };
  for (const auto& [args, expected] : cases) {
    const ReportRun run = runReport(args);
    EXPECT_NE(run.exit_code, 0) << expected << "\n" << run.output;  // 2, or CLI11's own code
    EXPECT_NE(run.exit_code, 1) << expected << "\n" << run.output;  // not taken for Prometheus down
    EXPECT_NE(run.output.find(expected), std::string::npos) << run.output;
    EXPECT_EQ(run.output.find("pw"), std::string::npos) << run.output;
  }
  const ReportRun down = runReport({"--prometheus", "http://127.0.0.1:1", "--timeout", "2s"});
  EXPECT_EQ(down.exit_code, 1) << down.output;
  EXPECT_NE(down.output.find("127.0.0.1:1"), std::string::npos) << down.output;
}

// With --marathon-url: Marathon's definitions and labels, its credentials
// from the environment as the sizer takes them.
TEST(ReportBinaryTest, MarathonsAppsAndLabels) {
  const simulate::Trace trace = twoApps();
  auto prometheus = testing::PrometheusServer::start(testing::traceOpenMetrics(trace, testing::TraceSeries::kAgent));
  ASSERT_TRUE(prometheus) << prometheus.error().message();
  ManualClock clock;
  testing::FakeMarathon marathon(clock);
  ASSERT_TRUE(
      marathon.addApp({.id = "/idle", .cpus = 2, .mem_mib = 2048, .labels = {{"rightsize.enabled", "false"}}}).ok());
  ASSERT_TRUE(
      marathon
          .addApp(
              {.id = "/busy", .cpus = 1, .mem_mib = 2048, .instances = 4, .labels = {{"rightsize.mem.min", "lots"}}})
          .ok());
  ASSERT_TRUE(marathon.start({"127.0.0.1", 0}).ok());
  const std::string end = std::to_string(static_cast<long long>(toUnixSeconds(trace.end)));
  const ReportRun run = runReport({"--prometheus", (*prometheus)->url(), "--end", end, "--history", "2d", "--format",
                                   "json", "--marathon-url", marathon.url(), "--gzip"},
                                  {"RIGHTSIZE_MARATHON_TOKEN=abc"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  // (--gzip: Prometheus' answers compressed, curl decoding them.)
  // The warning goes to stderr (in the output too), the JSON to stdout.
  EXPECT_NE(run.output.find("rightsize.mem.min"), std::string::npos) << run.output;
  const auto json_at = run.output.find("{\"source\"");
  ASSERT_NE(json_at, std::string::npos) << run.output;
  auto document = json::parse(run.output.substr(json_at, run.output.find('\n', json_at) - json_at), "report");
  ASSERT_TRUE(document) << document.error().message() << "\n" << run.output;
  const auto& busy = (*document)["apps"][0];
  const auto& idle = (*document)["apps"][1];
  EXPECT_STREQ(busy["marathon"].GetString(), "live");
  EXPECT_EQ(busy["tasks"].GetInt(), 4);
  EXPECT_STREQ(idle["marathon"].GetString(), "excluded");
  EXPECT_DOUBLE_EQ(idle["recommended_cpus"].GetDouble(), 2);
  ASSERT_FALSE(marathon.requests().empty());
  EXPECT_EQ(marathon.requests()[0].path, "/v2/apps");
}

}  // namespace
}  // namespace rightsize::cli
