#pragma once

// `rightsize-demo`: the whole system on a simulated Mesos/Marathon cluster
// whose containers follow a real usage trace, time accelerated. It starts a
// real redis-server, the Marathon double and one Mesos agent double per
// simulated host (in this process), one real `rightsize agent` process per
// host and one `rightsize sizer` process in apply mode; shows the sizer's
// resizes live, then what they saved, and stops everything it started.
//
// Durations named "simulated" are trace time; the demo divides them by
// --speed before handing them to the agents and the sizer, which run on the
// real clock.

#include <CLI/CLI.hpp>

#include <cstddef>
#include <string>

namespace rightsize::cli {

struct DemoFlags {
  std::string trace = "data/traces/bitbrains-demo.csv.gz";
  int hosts = 3;
  double speed = 1800;  // 30 simulated minutes per second: 90 s of demo replay 45 h of trace
  std::string duration = "90s";
  std::string interval = "100ms";     // the agents' sampling period, real time (3 simulated minutes)
  std::string window = "5m";          // the agents' window, simulated (the agent's default)
  std::string report = "5s";          // progress line period, real time
  std::string sizer_interval = "1m";  // simulated
  std::string sustain = "10m";        // simulated
  std::string min_history = "6h";     // simulated
  std::string min_task_age = "6h";    // simulated
  std::string min_app_age = "24h";    // simulated
  std::string cooldown = "30m";       // simulated
  std::string deployment = "5m";      // how long a Marathon deployment takes, simulated
  std::size_t max_concurrent_deployments = 3;
  std::string cpu_isolation = "cfs";  // what the containers' CPU limit does: cfs or shares
  std::string json;                   // a file for what the run did, in rightsize simulate --json's shape
};

// The demo's options, on `app` (rightsize-demo's own).
void addDemoOptions(CLI::App& app, DemoFlags& flags);

// Runs the demo to its end (or SIGINT/SIGTERM/SIGHUP), stopping every process and
// server it started. Returns the exit code.
int runDemo(const DemoFlags& flags);

}  // namespace rightsize::cli
