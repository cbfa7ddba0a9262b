#include "report_command.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "flags.h"

#include "rightsize/core/http.h"
#include "rightsize/core/text.h"
#include "rightsize/report/cadvisor_source.h"
#include "rightsize/report/fleet_report.h"
#include "rightsize/report/html_report.h"
#include "rightsize/report/prometheus_client.h"
#include "rightsize/sizing/marathon.h"

namespace rightsize::cli {

CLI::App* addReportCommand(CLI::App& app, ReportFlags& flags) {
  auto* command = app.add_subcommand(
      "report", "What rightsize would do to each app, from the history Prometheus already holds (docs/report.md).");
  command->footer(
      "Reads the recording rules of deploy/prometheus/rules/apps.yml when Prometheus has them, the agents' "
      "rightsize_container_* series otherwise, cAdvisor's container_* series without either, and replays each "
      "app's history through the sizer's policy. With --marathon-url, today's cpus, mem and instances come from "
      "Marathon's app definitions and the replay honours their rightsize.* labels. "
      "Credentials: RIGHTSIZE_PROMETHEUS_TOKEN (bearer), or RIGHTSIZE_PROMETHEUS_USER and "
      "RIGHTSIZE_PROMETHEUS_PASSWORD (basic); Marathon's as the sizer's: RIGHTSIZE_MARATHON_TOKEN, or "
      "RIGHTSIZE_MARATHON_USER and RIGHTSIZE_MARATHON_PASSWORD; each also as ..._FILE. TLS is verified.");
  addFlag(*command, "--prometheus", flags.prometheus, "Prometheus' base URL, e.g. http://prometheus:9090")->required();
  addFlag(*command, "--history", flags.history, "How far back to read")->check(durationValidator());
  addFlag(*command, "--end", flags.end, "The history's end: now, or Unix seconds (a past window)");
  addFlag(*command, "--step", flags.step, "The history's resolution (the sizer's buckets are 5m)")
      ->check(durationValidator());
  addFlag(*command, "--format", flags.format,
          "table, json, csv, or html: one self-contained page with the totals, the table and plots over time "
          "of the apps with the worst, median and best saving (and --plot-apps)")
      ->check(CLI::IsMember({"table", "json", "csv", "html"}));
  addFlag(*command, "--out", flags.out, "Write the report to this file instead of stdout");
  addFlag(*command, "--apps", flags.apps, "Marathon app ids to report on: a regular expression (PromQL's, anchored)");
  addFlag(*command, "--plot-apps", flags.plot_apps,
          "With --format html, plot these apps too (at most 50): a regular expression (ECMAScript) matching the "
          "whole app id");
  command->add_option("--core-hour-price", flags.core_hour_price, "Price of a core-hour, to state the saving in money")
      ->envname(envNameFor("--core-hour-price"))
      ->check(CLI::Range(0.0, 1e6));
  command->add_option("--gib-hour-price", flags.gib_hour_price, "Price of a GiB-hour of memory")
      ->envname(envNameFor("--gib-hour-price"))
      ->check(CLI::Range(0.0, 1e6));
  addFlag(*command, "--timeout", flags.timeout, "Each query's timeout")->check(durationValidator());
  command
      ->add_flag("--gzip", flags.gzip,
                 "Ask Prometheus for compressed answers: a quarter of the bytes, but gzip costs Prometheus more "
                 "CPU than the queries; only for links slower than about 100 Mbit/s")
      ->envname(envNameFor("--gzip"));
  command
      ->add_option("--concurrent-queries", flags.concurrent_queries,
                   "Queries in flight at once (groups of apps read side by side): Prometheus evaluates each on one "
                   "core; 1 spares a busy Prometheus")
      ->envname(envNameFor("--concurrent-queries"))
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{8}));
  addFlag(*command, "--cpu-isolation", flags.cpu_isolation,
          "How the fleet's Mesos agents isolate CPU, as rightsize simulate takes it: cfs or shares")
      ->check(CLI::IsMember({"cfs", "shares"}));
  addFlag(*command, "--limits", flags.limits,
          "The sizer's --limits: none, or burstable (every app without a rightsize.limits label is replayed with a "
          "request and limits, Marathon's resourceLimits, and the limits recommended are reported beside it)")
      ->check(CLI::IsMember({"none", "burstable"}));
  addPolicyFlags(*command, flags.policy, true);
  addMinChangeFlags(*command, flags.min_change, true);
  addFlag(*command, "--sizer-history", flags.policy.history,
          "The sizer's --history for the rightsize policy: how far back the agents' CPU p95s are looked at when "
          "sizing (the report's own --history is how far back it reads)")
      ->check(durationValidator());
  addFlag(*command, "--cadvisor-app-label", flags.cadvisor_app_label,
          "Without rightsize series: the label of cAdvisor's series holding the Marathon app id, or a Marathon task "
          "id (container_env_mesos_task_id, container_label_MESOS_TASK_ID, container_label_source)");
  addFlag(*command, "--marathon-url", flags.marathon_url,
          "Marathon base URL(s), comma-separated for HA: today's reservations and the apps' labels from its apps");
  addFlag(*command, "--marathon-env", flags.marathon_env,
          "The env label of Marathon's apps in Prometheus, when it holds several");
  addFlag(*command, "--marathon-timeout", flags.marathon_timeout, "Timeout of the request to Marathon")
      ->check(durationValidator());
  return command;
}

int runReport(const ReportFlags& flags) {
  const GetEnv environment = [](const char* name) -> const char* { return std::getenv(name); };
  auto authorization = report::prometheusAuthorization(environment);
  if (!authorization) {
    spdlog::error("rightsize report: {}", authorization.error().message());
    return 2;
  }
  if (flags.prometheus.rfind("http://", 0) != 0 && flags.prometheus.rfind("https://", 0) != 0) {
    spdlog::error("--prometheus: '{}' is not an http:// or https:// URL", redactUrl(flags.prometheus));
    return 2;
  }
  if (flags.prometheus.find('@') != std::string::npos) {
    spdlog::error(
        "--prometheus: credentials do not belong in the URL: use RIGHTSIZE_PROMETHEUS_TOKEN, or "
        "RIGHTSIZE_PROMETHEUS_USER and RIGHTSIZE_PROMETHEUS_PASSWORD");
    return 2;
  }
  if (Status label = report::validCadvisorAppLabel(flags.cadvisor_app_label); !label) {
    spdlog::error("{}", label.error().message());
    return 2;
  }
  std::vector<std::string> marathon_urls;
  for (const auto& url : splitList(flags.marathon_url, ',')) {
    if (!url.starts_with("http://") && !url.starts_with("https://")) {
      spdlog::error("--marathon-url: '{}' is not an http:// or https:// URL", redactUrl(url));
      return 2;
    }
    if (redactUrl(url) != url) {
      spdlog::error(
          "--marathon-url: credentials do not belong in the URL: use RIGHTSIZE_MARATHON_TOKEN, or "
          "RIGHTSIZE_MARATHON_USER and RIGHTSIZE_MARATHON_PASSWORD");
      return 2;
    }
    marathon_urls.push_back(url);
  }
  auto marathon_authorization = sizing::marathonAuthorization(environment);
  if (!marathon_authorization) {
    spdlog::error("rightsize report: {}", marathon_authorization.error().message());
    return 2;
  }
  report::ReportOptions options;
  options.cadvisor_app_label = flags.cadvisor_app_label;
  if (!flags.marathon_env.empty()) options.marathon_env = flags.marathon_env;
  options.history = durationFlag(flags.history);
  options.step = durationFlag(flags.step);
  if (options.step > options.history) {
    spdlog::error("--step {} is longer than --history {}", flags.step, flags.history);
    return 2;
  }
  TimePoint end = SystemClock().now();
  if (flags.end != "now") {
    const std::optional<double> seconds = parseDouble(flags.end);
    if (!seconds || *seconds < 0 || *seconds > 7'258'118'400.0) {
      spdlog::error("--end: '{}' is neither now nor Unix seconds from 1970 to 2200", flags.end);
      return 2;
    }
    end = fromUnixSeconds(*seconds);
  }
  options.apps_regex = flags.apps;
  options.concurrent_queries = flags.concurrent_queries;
  options.plots = flags.format == "html";
  if (!flags.plot_apps.empty()) {
    if (flags.format != "html") {
      spdlog::error("--plot-apps: plots are only on the HTML page (--format html)");
      return 2;
    }
    auto plot_apps = report::plotAppsRegex(flags.plot_apps);
    if (!plot_apps) {
      spdlog::error("{}", plot_apps.error().message());
      return 2;
    }
    options.plot_apps = std::move(*plot_apps);
  }
  options.core_hour_price = flags.core_hour_price;
  options.gib_hour_price = flags.gib_hour_price;
  options.replay.cpu_isolation =
      flags.cpu_isolation == "shares" ? simulate::CpuIsolation::kShares : simulate::CpuIsolation::kCfs;
  options.replay.host_cores = 0;  // the fleet's hosts are not known here
  // As the sizer's: the default of apps without a rightsize.limits label.
  options.policy.settings.burstable = flags.limits == "burstable";
  applyMinChangeFlags(flags.min_change, options.policy.settings);
  if (Status applied = applyPolicyFlags(flags.policy, options.policy.policy, options.policy.history,
                                        options.policy.search_back_window);
      !applied) {
    spdlog::error("rightsize report: {}", applied.error().message());
    return 2;
  }

  CurlHttpClient http;
  report::PrometheusOptions prometheus_options;
  prometheus_options.url = flags.prometheus;
  prometheus_options.authorization = *authorization;
  prometheus_options.timeout = durationFlag(flags.timeout);
  prometheus_options.compressed = flags.gzip;
  // A progress line on a terminal: long reads take minutes on big fleets.
  const bool tty = flags.progress && ::isatty(STDERR_FILENO) != 0;
  // Called from each reader's thread (--concurrent-queries).
  std::atomic<std::size_t> answered = 0;
  prometheus_options.on_query = [&](std::size_t done, std::size_t total) {
    const std::size_t now_answered = ++answered;
    if (tty) {
      std::fprintf(stderr, "\rPrometheus: %zu queries answered (this one: %zu of %zu chunks)", now_answered, done,
                   total);
    }
  };
  report::PrometheusClient prometheus(http, prometheus_options);
  std::optional<sizing::HttpMarathonClient> marathon;
  if (!marathon_urls.empty()) {
    for (const auto& url : marathon_urls) {
      if (!marathon_authorization->empty() && url.starts_with("http://")) {
        spdlog::warn("--marathon-url {}: the Marathon credentials cross the network unencrypted; use https://", url);
      }
    }
    marathon.emplace(http, sizing::HttpMarathonOptions{.urls = marathon_urls,
                                                       .authorization = *marathon_authorization,
                                                       .timeout = durationFlag(flags.marathon_timeout)});
  }
  auto built = report::buildReport(prometheus, options, end, marathon ? &*marathon : nullptr);
  if (tty && answered > 0) std::fputc('\n', stderr);
  if (!built) {
    spdlog::error("rightsize report: {}", built.error().message());
    return 1;
  }
  for (const auto& warning : built->warnings) spdlog::warn("rightsize report: {}", warning);
  const std::string text = flags.format == "json"   ? report::reportJson(*built) + "\n"
                           : flags.format == "csv"  ? report::reportCsv(*built)
                           : flags.format == "html" ? report::reportHtml(*built)
                                                    : report::reportTable(*built);
  if (flags.out.empty()) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
  }
  std::ofstream out(flags.out, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) {
    spdlog::error("--out {}: could not be written", flags.out);
    return 1;
  }
  return 0;
}

}  // namespace rightsize::cli
