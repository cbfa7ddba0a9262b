#pragma once

// `rightsize simulate`: replays a usage trace through the product's policy
// and the baselines, side by side (docs/simulate.md; flags and output: docs/api.md).

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "policy_flags.h"
#include "simulate_host_loss.h"
#include "simulate_scaling.h"

#include "rightsize/core/status.h"
#include "rightsize/simulate/simulate.h"

namespace rightsize::cli {

struct SimulateFlags {
  std::string trace;
  std::vector<std::string> policies;  // empty: all
  bool json = false;
  std::string out;
  std::string deploy_delay = "5m";
  std::string cpu_isolation = "cfs";
  bool grid = false;
  double max_insufficient_pct = 1.0;  // the bound of --grid
  bool hindsight = false;
  std::size_t orders = 1;                      // replays per policy in orders of the apps (--orders)
  std::size_t max_concurrent_deployments = 1;  // the sizer's flag and default
  std::size_t max_concurrent_oom_deployments = 2;
  std::string slot_order = "ids";
  PolicyFlags policy;         // the sizer's flags and defaults (policy_flags.h)
  MinChangeFlags min_change;  // the sizer's too
  // The sizer's restart budget and waits, for the rightsize policy.
  std::string sustain = "10m";
  std::string cooldown = "30m";
  int max_downsizes_per_day = 1;
  std::string downsize_window = "24h";
  std::string oom_hold = "24h";
  std::string limits = "none";      // the sizer's --limits for the rightsize policy
  std::string cpu_limit = "sized";  // rightsize.cpu.limit of every app, with --limits burstable
  std::string mem_limit = "sized";
  double host_cores = 32;
  double host_memory_gib = 128;
  ScalingFlags scaling;     // --scaling: horizontal scaling replayed instead
  HostLossFlags host_loss;  // --host-loss-rate: host losses against the headroom instead
};

CLI::App* addSimulateCommand(CLI::App& app, SimulateFlags& flags);

// The policies by name: rightsize (with `rightsize`), static, vpa,
// autopilot, band.
std::vector<std::string> policyNames();
Expected<simulate::PolicySpec> policyByName(const std::string& name,
                                            const simulate::RightsizePolicyOptions& rightsize = {});

// Returns the exit code; prints to stdout.
int runSimulate(const SimulateFlags& flags);

}  // namespace rightsize::cli
