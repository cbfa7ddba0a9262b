#pragma once

// `rightsize report`: what the product's policy would do to each app of a
// fleet, from the history Prometheus already holds (docs/report.md).
//
// Each app's history (its busiest task's CPU use and memory over 5-minute
// steps, and its reservations) is read from Prometheus: the recording rules
// of deploy/prometheus/rules/apps.yml when Prometheus has them, the agents'
// own series otherwise, cAdvisor's container series for fleets without
// agents (cadvisor_source.h). With Marathon (--marathon-url), today's
// reservations and the per-app labels come from its app definitions
// (marathon_apps.h). It becomes a trace in the canonical shape and goes
// through `rightsize simulate`'s replay of the product's policy (the
// sizer's code, seasonality included): the reservation the replay leaves the
// app with is the recommendation, its redeploys and OOM kills the restarts
// it would have cost, and the difference with today's reservation, per task
// and over the app's tasks, the core-hours and GiB-hours it would save.

#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "rightsize/core/clock.h"
#include "rightsize/core/status.h"
#include "rightsize/report/prometheus_client.h"
#include "rightsize/simulate/simulate.h"
#include "rightsize/simulate/trace.h"
#include "rightsize/sizing/app_settings.h"
#include "rightsize/sizing/marathon.h"

namespace rightsize::report {

// Which series an app's history is read from: PromQL range queries, each
// giving one series per (env, app_id). `{APPS}` in a query is replaced by
// the app selector (`app_id=~"<regex>"`), `{APPS_RE}` by the regex alone
// (in a PromQL string), `{STEP}` by the step less a second (a gauge's
// window) and `{RATE_STEP}` by the step (a counter's).
struct SeriesSource {
  std::string name;          // "recording rules", "agent series", "cAdvisor series"
  std::string probe;         // an instant query that has series when the source is there
  std::string cpu_used;      // cores, the busiest task's mean over each step
  std::string cpu_reserved;  // cores per task, the request, with the executor's share
  std::string mem_used;      // bytes, the busiest task's
  std::string mem_reserved;  // bytes per task, the request, with the executor's share
  std::string tasks;         // tasks reporting (only its last point is used)
  // An instant query listing the (env, app_id) with history in the last
  // `{RANGE}`: the report then reads the apps by groups, each in as few
  // queries as the answers' bound allows, and replays each group while the
  // next is read. "" reads every app at once (cAdvisor's series: their app
  // ids are made by the query, a group would cost as much as the fleet).
  std::string apps;
};
SeriesSource recordingRulesSource();
SeriesSource agentSeriesSource();

struct ReportOptions {
  Duration history = std::chrono::days(14);
  Duration step = std::chrono::minutes(5);
  std::string apps_regex = ".+";  // --apps: Marathon app ids to report on
  // The label of cAdvisor's series naming a container's Marathon app or task
  // (--cadvisor-app-label; cadvisor_source.h).
  std::string cadvisor_app_label = "container_env_marathon_app_id";
  // The `env` of Marathon's apps in Prometheus (--marathon-env): needed when
  // Prometheus holds apps of several.
  std::optional<std::string> marathon_env;
  std::optional<double> core_hour_price;
  std::optional<double> gib_hour_price;
  // The product's policy as the sizer runs it; the report replays every app
  // on its own (slots do not bind: each app's recommendation is asked for).
  simulate::RightsizePolicyOptions policy;
  // The fleet's hosts are not known here: none modelled (host_cores 0), so
  // the apps replay independently, on `threads` threads (0: the machine's
  // cores).
  simulate::ReplayOptions replay{.host_cores = 0};
  std::size_t threads = 0;
  // Groups of apps read at once (--concurrent-queries): Prometheus
  // evaluates a query on one core, so two in flight keep two busy. Each
  // reader has its own PrometheusClient over the same HttpClient.
  std::size_t concurrent_queries = 2;
  // For the HTML page (html_report.h): replay the apps it plots again with
  // their series kept (the worst, median and best saving, and those whose
  // app id `plot_apps` matches, at most kMaxNamedPlots). Off: no second
  // replay.
  bool plots = false;
  std::optional<std::regex> plot_apps;
};

struct AppReport {
  std::string env;  // "" when the series have none
  std::string app_id;
  int tasks = 0;  // tasks reporting at the end
  // Today's reservation per task, Marathon units (the executor's share taken
  // off the containers' figures), and what the policy recommends.
  double cpus = 0;
  std::optional<double> mem_mib;
  double recommended_cpus = 0;
  std::optional<double> recommended_mem_mib;
  // A burstable app's (its rightsize.limits=burstable label, or the report's
  // --limits burstable): the limits recommended with the request above
  // (Marathon's resourceLimits; sizing::kUnlimited: unlimited). nullopt: the
  // app has no limits beyond its request.
  std::optional<double> recommended_cpus_limit;
  std::optional<double> recommended_mem_limit_mib;
  // What the recommendation rests on: the 95th percentile of the history's
  // 5-minute CPU use, and the peak of its memory (MiB).
  double cpu_p95 = 0;
  std::optional<double> mem_peak_mib;
  double history_seconds = 0;    // from the first sample to the last
  double coverage = 0;           // samples present / steps in that span
  double confidence = 0;         // 0-1: a week of full history is 1
  std::string confidence_label;  // "high", "medium", "low"
  // Restarts the policy would have cost over the history: redeploys (each
  // restarting every task) and OOM kills.
  std::size_t redeploys = 0;
  std::size_t oom_kills = 0;
  // Saved per 30-day month at the recommendation, over the app's tasks
  // (negative: it needs more).
  double core_hours_saved_per_month = 0;
  double gib_hours_saved_per_month = 0;
  std::optional<double> money_saved_per_month;
  // With --marathon-url: "live" (in Marathon: today's figures are its app
  // definition's, the replay honours its labels), "gone" (history, but no
  // longer in Marathon: not in the totals), "excluded" (labelled
  // rightsize.enabled=false: the sizer never touches it, recommended as it
  // is), "no history" (in Marathon, nothing in Prometheus). "" without.
  std::string marathon;
};

struct ReportTotals {
  std::size_t apps = 0;
  double reserved_cores = 0;  // over every task, today
  double recommended_cores = 0;
  double reserved_gib = 0;
  double recommended_gib = 0;
  double core_hours_saved_per_month = 0;
  double gib_hours_saved_per_month = 0;
  std::optional<double> money_saved_per_month;
  std::size_t redeploys = 0;
};

// One step of a plotted app: what its busiest task used, the reservation per
// task it had, and the one the policy's replay gave it instead.
struct PlotPoint {
  TimePoint at{};
  double cpu_used = 0;      // cores
  double cpu_reserved = 0;  // cores, as it was
  double cpu_replayed = 0;  // cores, the replay's
  std::optional<double> mem_used_mib;
  std::optional<double> mem_reserved_mib;
  std::optional<double> mem_replayed_mib;
};

// An app over time, for the HTML page (ReportOptions::plots).
struct AppPlot {
  std::size_t app = 0;           // into FleetReport::apps
  std::vector<std::string> why;  // "worst", "median", "best", "named"
  std::vector<PlotPoint> points;
};

struct FleetReport {
  std::string source;  // which SeriesSource was read
  TimePoint start{}, end{};
  Duration step{};
  std::vector<AppReport> apps;  // by env, then app id
  ReportTotals totals;
  std::size_t queries = 0;  // HTTP queries sent to Prometheus
  // Wall time of buildReport's two phases: reading the history (the queries,
  // Prometheus' answers parsed, the apps' traces built) and the replay
  // (when the apps are read by groups, the replay's time after the last
  // answer: the rest of it ran while the groups were read).
  Duration reading{};
  Duration replaying{};
  std::vector<std::string> warnings;
  std::vector<AppPlot> plots;  // with ReportOptions::plots
};

// One trace app per (env, app_id) from the series of `source`'s queries,
// in the canonical units (cores and MiB per task, Marathon's: the executor's
// 0.1 cores and 32 MiB off the reservations), steps where CPU use or the
// reservation is missing left out. Tasks per app, as last reported, in
// `tasks` (same order as the trace's apps). Pure.
// What Marathon says of an app with history (--marathon-url).
struct AppMarathon {
  std::string state;  // AppReport::marathon's: "live", "gone", "excluded"
  // The app definition's (live and excluded apps).
  double cpus = 0;
  double mem_mib = 0;
  int instances = 0;
  // The sizer's settings from its labels (live apps): the replay's.
  std::optional<sizing::AppSettings> settings;
};

struct AppsHistory {
  simulate::Trace trace;
  std::vector<std::string> envs;      // per trace app
  std::vector<int> tasks;             // per trace app
  std::vector<AppMarathon> marathon;  // per trace app with --marathon-url, else empty
};
AppsHistory historyFromSeries(const QueryResult& cpu_used, const QueryResult& cpu_reserved, const QueryResult& mem_used,
                              const QueryResult& mem_reserved, const QueryResult& tasks, Duration step);

// The report of a replayed history. Pure.
FleetReport reportFromHistory(const AppsHistory& history, const ReportOptions& options);

// Reads the history from Prometheus (the recording rules when it has them,
// else the agents' series, else cAdvisor's) and reports. `now`: the end of
// the history. With `marathon`, its apps give today's reservations and the
// labels (marathon_apps.h); a Marathon that cannot be read is an error.
Expected<FleetReport> buildReport(PrometheusClient& prometheus, const ReportOptions& options, TimePoint now,
                                  sizing::MarathonClient* marathon = nullptr);

// A burstable app's recommended limit as the outputs show it: "unlimited",
// the value (to `decimals`; below 0: rounded to 3 decimals, as cpus are), or
// "" without one.
std::string limitText(std::optional<double> limit, int decimals);

// The report as docs/report.md shows it.
std::string reportJson(const FleetReport& report);
std::string reportCsv(const FleetReport& report);
std::string reportTable(const FleetReport& report);

}  // namespace rightsize::report
