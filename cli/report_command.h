#pragma once

// `rightsize report`: what the product's policy would do to each app, from
// the history Prometheus already holds (docs/report.md).

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

#include "policy_flags.h"

namespace rightsize::cli {

struct ReportFlags {
  std::string prometheus;  // base URL
  std::string history = "14d";
  std::string end = "now";  // the history's end: now, or Unix seconds
  std::string step = "5m";
  std::string format = "table";  // table, json, csv, html
  std::string out;               // a file instead of stdout
  std::string apps = ".+";       // Marathon app ids (a regular expression)
  std::string plot_apps;         // apps the HTML page plots too (a regular expression)
  std::optional<double> core_hour_price;
  std::optional<double> gib_hour_price;
  std::string timeout = "2m";          // per query
  bool gzip = false;                   // Prometheus' answers compressed (slow links)
  std::size_t concurrent_queries = 2;  // groups of apps read at once
  std::string cpu_isolation = "cfs";
  std::string limits = "none";  // the sizer's --limits: none or burstable
  // The sizer's --min-history, ... (policy_flags.h); its --history is
  // --sizer-history here.
  PolicyFlags policy{.history_flag = "--sizer-history"};
  MinChangeFlags min_change;  // the sizer's --min-change, --min-change-cpus, --min-change-mem
  std::string cadvisor_app_label = "container_env_marathon_app_id";
  std::string marathon_url;  // optional: comma-separated, as the sizer's
  std::string marathon_env;  // the env label of its apps in Prometheus ("": the only one)
  std::string marathon_timeout = "30s";
  bool progress = true;  // a progress line on stderr for long reads
};

CLI::App* addReportCommand(CLI::App& app, ReportFlags& flags);

// Returns the exit code: 0, 1 when Prometheus could not be read, 2 for bad
// flags.
int runReport(const ReportFlags& flags);

}  // namespace rightsize::cli
