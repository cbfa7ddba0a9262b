#pragma once

// `rightsize sizer`: flags, their validation, and the daemon's main loop.

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "policy_flags.h"

#include "rightsize/core/clock.h"
#include "rightsize/core/status.h"
#include "rightsize/core/text.h"
#include "rightsize/sizing/redis_store.h"
#include "rightsize/sizing/sizer.h"

namespace rightsize::cli {

struct SizerFlags {
  std::string marathon_url = "http://127.0.0.1:8080";
  std::string redis;
  std::string redis_prefix = "rightsize:";
  std::string mode = "recommend";
  bool apply_all = false;
  std::string agents;
  std::string agent_app = "/rightsize/agent";
  std::string interval = "30s";
  std::string listen = "0.0.0.0:9541";
  std::size_t max_concurrent_deployments = 1;
  std::size_t max_concurrent_oom_deployments = 2;
  std::string slot_order = "ids";
  bool force_deployments = false;
  std::string cpu_band = "-0.1:0.6";
  std::string mem_band = "-64:512";
  std::string sustain = "10m";
  PolicyFlags policy;  // --min-history, --history, ... (policy_flags.h)
  std::string cooldown = "30m";
  std::string marathon_timeout = "10s";
  std::string agent_timeout = "5s";
  std::string usage_source = "agents";  // or prometheus
  std::string prometheus;               // with --usage-source prometheus
  std::string prometheus_selector;      // e.g. env="prod"
  std::string prometheus_timeout = "10s";
  std::string oom_hold = "24h";
  std::string failed_deployment_hold = "24h";
  std::string retry_after = "1m";
  std::string unconfirmed_grace = "1m";
  int max_downsizes_per_day = 1;
  MinChangeFlags min_change;  // --min-change, --min-change-cpus, --min-change-mem
  bool allow_single_instance = false;
  std::string limits = "none";
  double hot_host = 0.9;
  std::string downsize_window = "24h";
  // Fleet capacity (docs/capacity.md).
  std::string headroom_lead_time = "5m";
  std::string headroom_window = "7d";
  double headroom_multiple = 3;
  std::string host_lost_after = "2m";
  int speed_min_apps = 3;
  int speed_min_samples = 10;
  std::string scale_interval = "5m";
  std::string scale_sustain = "1m";
  double max_cpus = 128;
  double max_mem = 1024.0 * 1024.0;  // MiB
  std::string log_level = "info";
  // Simulations (the demo): the sizer's clock runs this many times faster
  // than real time from --clock-origin (Unix seconds) on, and every duration
  // flag but the timeouts is in that simulated time.
  double clock_speed = 1;
  double clock_origin = 0;
};

struct SizerSettings {
  SizerFlags flags;
  sizing::SizerOptions sizer;
  std::vector<std::string> marathon_urls;
  std::optional<sizing::RedisOptions> redis;
  Duration interval{};
  Duration marathon_timeout{};
  Duration agent_timeout{};
  Duration prometheus_timeout{};
  std::string prometheus_authorization;  // RIGHTSIZE_PROMETHEUS_TOKEN, or _USER and _PASSWORD
  HostPort listen;
  std::string webhook_token;              // RIGHTSIZE_WEBHOOK_TOKEN[_FILE]; "" disables POST /v1/alerts
  double clock_speed = 1;                 // 1: the system clock
  std::optional<TimePoint> clock_origin;  // of the simulated time; nullopt: the start
};

CLI::App* addSizerCommand(CLI::App& app, SizerFlags& flags);

// Validates flags and the environment (secrets: RIGHTSIZE_MARATHON_TOKEN, or
// RIGHTSIZE_MARATHON_USER and RIGHTSIZE_MARATHON_PASSWORD; RIGHTSIZE_REDIS_PASSWORD;
// each also as *_FILE).
Expected<SizerSettings> resolveSizerSettings(const SizerFlags& flags);

int runSizer(const SizerSettings& settings);

}  // namespace rightsize::cli
