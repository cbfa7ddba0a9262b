// `rightsize report --format html`: the page's parts (escaping, the
// downsampling, which apps are plotted, --plot-apps), the plotted series
// against simulate's own replay, and the page as headless Chromium renders
// it from a report read back from a real Prometheus.

#include "rightsize/report/html_report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>

#include "test_support.h"
#include "two_day_trace.h"

#include "rightsize/core/http.h"
#include "rightsize/testing/headless_chromium.h"
#include "rightsize/testing/prometheus_server.h"

namespace rightsize::report {
namespace {

using namespace std::chrono_literals;

// Two days at 5 minutes: an idle app on 2 cores (the best saving), one busy
// every afternoon on 1 core, one steady and one that needs more memory than
// it has; an id that needs escaping.
simulate::Trace fourApps() {
  return twoDayTrace(
      {
          {"/shop/idle", 2, 4096, [](int i, int) { return 0.2 + 0.01 * (i % 3); }, [](int) { return 900.0; }},
          {"/shop/daily", 1, 2048, [](int, int hour) { return hour >= 14 && hour < 17 ? 1.4 : 0.3; },
           [](int) { return 700.0; }},
          {"/shop/steady", 1, 2048, [](int, int) { return 0.6; }, [](int) { return 1200.0; }},
          {"/shop/<b>&\"odd'", 1, 2048, [](int, int) { return 0.5; },
           [](int i) { return std::min(2100.0, 1000 + 2.0 * i); }},
      },
      "four.csv");
}

AppsHistory historyOf(const simulate::Trace& trace) {
  AppsHistory history;
  history.trace = trace;
  history.envs.assign(trace.apps.size(), "prod");
  history.tasks.assign(trace.apps.size(), 2);
  return history;
}

TEST(HtmlReportTest, EscapesTextFromOutside) {
  EXPECT_EQ(htmlEscape(R"(<a href="x">&'</a>)"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
  FleetReport report;
  report.source = "<i>source</i>";
  report.warnings.push_back("<script>alert(1)</script>");
  AppReport app;
  app.env = "e\"nv";
  app.app_id = "/x<script>alert(2)</script>";
  report.apps.push_back(app);
  report.plots.push_back({.app = 0, .why = {"named"}, .points = {PlotPoint{.at = fromUnixSeconds(1e9)}}});
  const std::string html = reportHtml(report);
  EXPECT_EQ(html.find("<script>alert"), std::string::npos) << html;
  EXPECT_EQ(html.find("<i>source"), std::string::npos);
  EXPECT_NE(html.find("/x&lt;script&gt;alert(2)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("data-app=\"/x&lt;script&gt;"), std::string::npos);
  EXPECT_NE(html.find("e&quot;nv"), std::string::npos);
  // Nothing fetched from anywhere: no external script, style sheet, font or image.
  for (const char* external : {"src=", "http://", "https://", "<link", "@import", "url("}) {
    EXPECT_EQ(html.find(external), std::string::npos) << external;
  }
}

// With --marathon-url an app Marathon no longer has, or one the sizer
// leaves alone, is marked in the table; a live one is not.
TEST(HtmlReportTest, MarathonsStateOfAnAppIsShownUnlessLive) {
  FleetReport report;
  for (const auto& [id, state] : {std::pair{"/live", "live"}, {"/gone", "gone"}, {"/off", "excluded"}}) {
    AppReport app;
    app.app_id = id;
    app.marathon = state;
    report.apps.push_back(app);
  }
  const std::string html = reportHtml(report);
  EXPECT_NE(html.find(R"(/gone <span class="state">gone</span>)"), std::string::npos) << html;
  EXPECT_NE(html.find(R"(/off <span class="state">excluded</span>)"), std::string::npos);
  EXPECT_EQ(html.find(R"(<span class="state">live)"), std::string::npos);
}

TEST(HtmlReportTest, DownsamplingKeepsThePeaksAndTheShape) {
  std::vector<std::pair<double, double>> line;
  for (int i = 0; i < 10'000; ++i) line.emplace_back(300.0 * i, 1 + std::sin(i / 50.0));
  line[4321].second = 100;  // one step's spike
  line[7777].second = -5;   // and a trough
  const auto small = downsample(line, 500);
  EXPECT_LE(small.size(), 500u);
  EXPECT_GE(small.size(), 400u);
  EXPECT_NE(std::find(small.begin(), small.end(), line[4321]), small.end());
  EXPECT_NE(std::find(small.begin(), small.end(), line[7777]), small.end());
  EXPECT_EQ(small.front(), line.front());
  EXPECT_TRUE(
      std::is_sorted(small.begin(), small.end(), [](const auto& a, const auto& b) { return a.first < b.first; }));
  // Every point kept is one of the line's.
  for (const auto& point : small) EXPECT_NE(std::find(line.begin(), line.end(), point), line.end());
  // A short line stays as it is; a constant one becomes a point a bucket.
  const std::vector<std::pair<double, double>> few = {{0, 1}, {1, 3}, {2, 2}};
  EXPECT_EQ(downsample(few, 500), few);
  const std::vector<std::pair<double, double>> flat(1000, {0, 0});
  EXPECT_EQ(downsample(flat, 10).size(), 1u);
}

// 14 days at 5 minutes of a noisy app: its plot stays small.
TEST(HtmlReportTest, APlotOfTwoWeeksStaysSmall) {
  FleetReport report;
  report.apps.resize(1);
  report.apps[0].app_id = "/noisy";
  report.apps[0].mem_mib = 2048;
  const std::size_t without = reportHtml(report).size();
  AppPlot plot;
  for (int i = 0; i < 4033; ++i) {
    const double noise = std::fmod(i * 0.618034, 1.0);
    plot.points.push_back({.at = fromUnixSeconds(1.7e9 + 300.0 * i),
                           .cpu_used = 0.3 + noise,
                           .cpu_reserved = 2,
                           .cpu_replayed = i < 2000 ? 1.5 : 1.2,
                           .mem_used_mib = 1000 + 500 * noise,
                           .mem_reserved_mib = 2048,
                           .mem_replayed_mib = 1800});
  }
  report.plots.push_back(plot);
  const std::string html = reportHtml(report);
  std::size_t polylines = 0;
  for (auto p = html.find("<polyline"); p != std::string::npos; p = html.find("<polyline", p + 1)) ++polylines;
  EXPECT_EQ(polylines, 6u);
  std::printf("a plot of 14 days at 5 minutes: %zu bytes\n", html.size() - without);
  EXPECT_LT(html.size() - without, 60'000u);
}

TEST(HtmlReportTest, PlotsTheWorstMedianAndBestAndTheNamed) {
  std::vector<AppReport> apps(5);
  const double saved[] = {5, -3, 10, 0, 7};
  for (std::size_t i = 0; i < apps.size(); ++i) {
    apps[i].app_id = "/app/" + std::to_string(i);
    apps[i].core_hours_saved_per_month = saved[i];
  }
  std::vector<std::string> warnings;
  auto picks = pickPlotted(apps, std::nullopt, kMaxNamedPlots, warnings);
  ASSERT_EQ(picks.size(), 3u);
  EXPECT_EQ(picks[0].app, 1u);  // -3
  EXPECT_EQ(picks[0].why, std::vector<std::string>{"worst"});
  EXPECT_EQ(picks[1].app, 0u);  // 5, the middle of -3 0 5 7 10
  EXPECT_EQ(picks[1].why, std::vector<std::string>{"median"});
  EXPECT_EQ(picks[2].app, 2u);  // 10
  EXPECT_EQ(picks[2].why, std::vector<std::string>{"best"});
  // Named apps follow, in their order; one already picked gets the reason.
  picks = pickPlotted(apps, std::regex("/app/[23]"), kMaxNamedPlots, warnings);
  ASSERT_EQ(picks.size(), 4u);
  EXPECT_EQ(picks[2].why, (std::vector<std::string>{"best", "named"}));
  EXPECT_EQ(picks[3].app, 3u);
  EXPECT_EQ(picks[3].why, std::vector<std::string>{"named"});
  EXPECT_TRUE(warnings.empty());
  // At most max_named, and a warning says so.
  picks = pickPlotted(apps, std::regex("/app/.*"), 1, warnings);
  EXPECT_EQ(picks.size(), 3u);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("matches 5 apps: the first 1"), std::string::npos) << warnings[0];
  // One app is all three.
  picks = pickPlotted({apps[0]}, std::nullopt, kMaxNamedPlots, warnings);
  ASSERT_EQ(picks.size(), 1u);
  EXPECT_EQ(picks[0].why, (std::vector<std::string>{"worst", "median", "best"}));
  EXPECT_TRUE(pickPlotted({}, std::regex(".*"), kMaxNamedPlots, warnings).empty());
}

TEST(HtmlReportTest, PlotAppsIsARegularExpressionOverTheWholeId) {
  auto regex = plotAppsRegex("/shop/.+");
  ASSERT_TRUE(regex) << regex.error().message();
  EXPECT_TRUE(std::regex_match("/shop/web", *regex));
  auto part = plotAppsRegex("shop");
  ASSERT_TRUE(part);
  EXPECT_FALSE(std::regex_match("/shop/web", *part));
  for (const char* bad : {"(", "[a-", "*x", ""}) {
    auto error = plotAppsRegex(bad);
    ASSERT_FALSE(error) << bad;
    EXPECT_NE(error.error().message().find("--plot-apps"), std::string::npos) << error.error().message();
  }
}

// The plotted series are the replay's: simulate's own replay of the whole
// trace, series kept, gives the same reservations step by step.
TEST(HtmlReportTest, PlotsTheReplaysReservationsStepByStep) {
  const simulate::Trace trace = fourApps();
  ReportOptions options;
  options.plots = true;
  options.plot_apps = std::regex("/shop/steady");
  const FleetReport report = reportFromHistory(historyOf(trace), options);
  ASSERT_EQ(report.apps.size(), 4u);
  ASSERT_EQ(report.plots.size(), 4u);  // worst, median, best, and the named one
  simulate::RightsizePolicyOptions policy = options.policy;
  policy.max_concurrent_deployments = 1000;
  simulate::ReplayOptions replay = options.replay;
  replay.keep_series = true;
  const simulate::PolicyResult expected = simulate::replay(trace, simulate::rightsizePolicy(policy), replay);
  bool named = false;
  for (const AppPlot& plot : report.plots) {
    const AppReport& app = report.apps[plot.app];
    SCOPED_TRACE(app.app_id);
    named = named || app.app_id == "/shop/steady";
    const auto replayed = std::find_if(expected.per_app.begin(), expected.per_app.end(),
                                       [&](const simulate::AppResult& r) { return r.app_id == app.app_id; });
    const auto traced = std::find_if(trace.apps.begin(), trace.apps.end(),
                                     [&](const simulate::AppTrace& a) { return a.app_id == app.app_id; });
    ASSERT_NE(replayed, expected.per_app.end());
    ASSERT_EQ(plot.points.size(), traced->points.size());
    ASSERT_EQ(replayed->series.size(), plot.points.size());
    std::size_t changes = 0;
    for (std::size_t i = 0; i < plot.points.size(); ++i) {
      const PlotPoint& p = plot.points[i];
      EXPECT_EQ(p.at, traced->points[i].at);
      EXPECT_DOUBLE_EQ(p.cpu_used, traced->points[i].cpu_used_cores);
      EXPECT_DOUBLE_EQ(p.cpu_reserved, traced->points[i].cpu_reserved_cores);
      EXPECT_DOUBLE_EQ(p.cpu_replayed, replayed->series[i].cpu_reserved);
      EXPECT_EQ(p.mem_replayed_mib, replayed->series[i].mem_reserved_mib);
      if (i > 0 && (p.cpu_replayed != plot.points[i - 1].cpu_replayed ||
                    p.mem_replayed_mib != plot.points[i - 1].mem_replayed_mib)) {
        ++changes;
      }
    }
    // Each change of the replay's reservation is one of its redeploys (the
    // last may still be in flight at the end).
    EXPECT_LE(changes, app.redeploys);
    EXPECT_GE(changes + 1, app.redeploys);
  }
  EXPECT_TRUE(named);
  EXPECT_EQ(report.apps[report.plots[2].app].app_id, "/shop/idle");  // the best: 2 cores, 0.2 used
  EXPECT_EQ(report.plots[2].why, std::vector<std::string>{"best"});
  // Without plots, no second replay and none in the report.
  options.plots = false;
  EXPECT_TRUE(reportFromHistory(historyOf(trace), options).plots.empty());
}

// An attribute's value as Chromium serialises the DOM.
std::string domAttribute(const std::string& text) {
  std::string out;
  for (const char c : text) {
    out += c == '&' ? "&amp;" : c == '"' ? "&quot;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : std::string(1, c);
  }
  return out;
}

// The page in a real browser, from a report read back from a real
// Prometheus: the table holds every app, in the order the URL's #sort= asks,
// each plotted app has its SVGs, the script ran without an error and the
// console is silent; the screenshot is
// a real PNG of the window's size. RIGHTSIZE_HTML_SCREENSHOT=<file> keeps
// a copy of the screenshot (and <file>.html the page) to look at.
TEST(HtmlReportTest, RendersInHeadlessChromium) {
  const simulate::Trace trace = fourApps();
  auto prometheus = testing::PrometheusServer::start(testing::traceOpenMetrics(trace, testing::TraceSeries::kAgent));
  ASSERT_TRUE(prometheus) << prometheus.error().message();
  CurlHttpClient http;
  PrometheusClient client(http, {.url = (*prometheus)->url()});
  ReportOptions options;
  options.history = 2 * 24h;
  options.core_hour_price = 0.04;
  options.plots = true;
  options.plot_apps = std::regex("/shop/steady");
  auto report = buildReport(client, options, trace.end);
  ASSERT_TRUE(report) << report.error().message();
  ASSERT_EQ(report->apps.size(), 4u);
  ASSERT_EQ(report->plots.size(), 4u);
  const std::string html = reportHtml(*report);
  testing::TempDir dir;
  dir.write("report.html", html);
  // Sorted by the saving, the largest first, as a link may ask.
  auto page =
      testing::openInChromium("file://" + dir.path() + "/report.html#sort=-core_hours_saved_per_month", 1280, 2400);
  ASSERT_TRUE(page) << page.error().message();
  if (const char* keep = std::getenv("RIGHTSIZE_HTML_SCREENSHOT"); keep != nullptr && *keep != '\0') {
    std::ofstream(keep, std::ios::binary) << page->screenshot;
    std::ofstream(std::string(keep) + ".html", std::ios::binary) << html;
  }
  int width = 0, height = 0;
  ASSERT_TRUE(testing::pngSize(page->screenshot, width, height));
  EXPECT_EQ(width, 1280);
  EXPECT_EQ(height, 2400);
  EXPECT_GT(page->screenshot.size(), 20'000u);  // a page of text and plots, not a blank window
  EXPECT_TRUE(page->console.empty()) << page->console.front();
  const std::string& dom = page->dom;
  EXPECT_NE(dom.find("<table class=\"apps\" id=\"apps\" data-sortable=\"true\">"), std::string::npos)
      << "the table, sortable once the script ran:\n"
      << dom.substr(0, 4000);
  for (const AppReport& app : report->apps) {
    const std::string id = domAttribute(app.app_id);
    EXPECT_NE(dom.find("<tr data-app=\"" + id + "\">"), std::string::npos) << id;
  }
  // The rows by core-hours saved, the largest first.
  std::vector<const AppReport*> by_saving;
  for (const AppReport& app : report->apps) by_saving.push_back(&app);
  std::stable_sort(by_saving.begin(), by_saving.end(), [](const AppReport* a, const AppReport* b) {
    return a->core_hours_saved_per_month > b->core_hours_saved_per_month;
  });
  ASSERT_EQ(by_saving.front()->app_id, "/shop/idle");
  std::size_t previous = 0;
  for (const AppReport* app : by_saving) {
    const std::size_t row = dom.find("<tr data-app=\"" + domAttribute(app->app_id) + "\">");
    EXPECT_GT(row, previous) << app->app_id << " is not in the order of its saving";
    previous = row;
  }
  EXPECT_NE(dom.find("<th title=\"core_hours_saved_per_month\" aria-sort=\"descending\">"), std::string::npos);
  EXPECT_NE(dom.find("/shop/&lt;b&gt;&amp;\"odd'"), std::string::npos);  // the DOM's own serialisation
  EXPECT_EQ(dom.find("<b>&amp;"), std::string::npos);
  for (const AppPlot& plot : report->plots) {
    const std::string id = domAttribute(report->apps[plot.app].app_id);
    const auto figure = dom.find("data-app=\"" + id + "\"><figcaption>");
    ASSERT_NE(figure, std::string::npos) << id;
    const auto end = dom.find("</figure>", figure);
    const std::string body = dom.substr(figure, end - figure);
    // CPU and memory, each with its three lines.
    std::size_t panels = 0;
    for (auto p = body.find("<svg class=\"panel\""); p != std::string::npos;
         p = body.find("<svg class=\"panel\"", p + 1))
      ++panels;
    EXPECT_EQ(panels, 2u) << id;
    for (const char* line : {"class=\"used\" points=", "class=\"reserved\" points=", "class=\"replayed\" points="}) {
      EXPECT_NE(body.find(line), std::string::npos) << id << " " << line;
    }
  }
  EXPECT_NE(dom.find("<b>named</b>"), std::string::npos);
  EXPECT_NE(dom.find("<b>best</b> · prod:/shop/idle"), std::string::npos);
}

}  // namespace
}  // namespace rightsize::report
