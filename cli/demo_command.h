#pragma once

// `rightsize demo`: the system against a simulated Mesos cluster whose
// containers follow a real usage trace, time accelerated. Today it runs one
// real agent process per simulated host and reports, live, what they measure:
// reservations, use, lying factors, hot spots and the cores that could be
// given back.

#include <CLI/CLI.hpp>

#include <string>

namespace rightsize::cli {

struct DemoFlags {
  std::string trace = "data/traces/bitbrains-demo.csv.gz";
  int hosts = 3;
  double speed = 1800;  // 30 simulated minutes per second: 60 s of demo replay 30 h of trace
  std::string duration = "60s";
  std::string interval = "200ms";  // 6 simulated minutes between samples
  std::string window = "1h";
  std::string report = "5s";
};

CLI::App* addDemoCommand(CLI::App& app, DemoFlags& flags);

// Runs the demo to its end (or SIGINT/SIGTERM), stopping every process and
// server it started. Returns the exit code.
int runDemo(const DemoFlags& flags);

}  // namespace rightsize::cli
