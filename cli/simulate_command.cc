#include "simulate_command.h"

#include <spdlog/spdlog.h>

#include <cstdio>

#include "flags.h"
#include "simulate_report.h"

#include "rightsize/core/text.h"
#include "rightsize/sim/baselines.h"
#include "rightsize/sim/hindsight.h"
#include "rightsize/sim/simulate.h"
#include "rightsize/sim/trace.h"

namespace rightsize::cli {
namespace {

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

void printTable(const std::vector<sim::PolicyResult>& results) {
  std::printf("%-20s %14s %9s %8s %8s %12s %9s %8s %11s\n", "policy", "cpu core-h", "vs trace", "slack%", "insuff%",
              "mem GiB-h", "vs trace", "insuff%", "redeploys/d");
  for (const auto& r : results) {
    const double cpu_ratio = r.cpu.static_reserved_hours > 0 ? r.cpu.reserved_hours / r.cpu.static_reserved_hours : 0;
    const double mem_ratio = r.mem.static_reserved_hours > 0 ? r.mem.reserved_hours / r.mem.static_reserved_hours : 0;
    std::printf("%-20s %14s %8s%% %8s %8s %12s %8s%% %8s %11s\n", r.policy.c_str(),
                formatFixed(r.cpu.reserved_hours, 0).c_str(), formatFixed(100 * cpu_ratio, 1).c_str(),
                formatFixed(r.cpu.slackPct(), 1).c_str(), formatFixed(r.cpu.insufficientPct(), 2).c_str(),
                formatFixed(r.mem.reserved_hours, 0).c_str(), formatFixed(100 * mem_ratio, 1).c_str(),
                formatFixed(r.mem.insufficientPct(), 2).c_str(), formatFixed(r.redeploysPerAppDay(), 3).c_str());
  }
}

// For each policy replayed, the clairvoyant plan within its insufficient
// and redeploy rates, as a result named "hindsight:<policy>".
std::vector<sim::PolicyResult> hindsightOf(const sim::Trace& trace, const std::vector<sim::PolicyResult>& results) {
  std::vector<sim::PolicyResult> out;
  for (const auto& result : results) {
    const auto plan = sim::hindsightWithin(trace, sim::limitsOf(result));
    if (!plan) continue;
    sim::PolicyResult r;
    r.policy = "hindsight:" + result.policy;
    r.apps = result.apps;
    r.samples = result.samples;
    r.days = result.days;
    r.cpu = plan->cpu;
    r.cpu.static_reserved_hours = result.cpu.static_reserved_hours;
    r.mem = plan->mem;
    r.mem.static_reserved_hours = result.mem.static_reserved_hours;
    r.redeploys = plan->redeploys;
    r.app_days = plan->app_days;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

std::vector<std::string> policyNames() {
  std::vector<std::string> names = {"rightsize"};
  for (const auto& spec : sim::baselinePolicies()) names.push_back(spec.name);
  return names;
}

Expected<sim::PolicySpec> policyByName(const std::string& name) {
  if (name == "rightsize") return sim::rightsizePolicy();
  for (auto& spec : sim::baselinePolicies()) {
    if (spec.name == name) return std::move(spec);
  }
  return Error(ErrorKind::kInvalidArgument, "unknown policy '" + name + "' (known: " + join(policyNames(), ", ") + ")");
}

CLI::App* addSimulateCommand(CLI::App& app, SimulateFlags& flags) {
  auto* command = app.add_subcommand(
      "simulate", "Replay a usage trace through the sizing policy and its baselines, and compare them.");
  command->add_option("--trace", flags.trace, "Trace in the canonical CSV (.csv or .csv.gz)")
      ->required()
      ->envname(envNameFor("--trace"));
  command
      ->add_option("--policy", flags.policies,
                   "Policy to replay, repeatable: " + join(policyNames(), ", ") + " (default: all)")
      ->check(CLI::IsMember(policyNames()));
  command->add_flag("--json", flags.json, "One JSON object per policy on stdout");
  addFlag(*command, "--out", flags.out, "Directory for per-app CSV, plots and a summary page");
  addFlag(*command, "--deploy-delay", flags.deploy_delay, "Time a redeploy takes; the old reservation holds meanwhile")
      ->check(durationValidator());
  command->add_flag("--grid", flags.grid,
                    "Search the band parameters for the most efficient setting within --max-insufficient-pct");
  command
      ->add_option("--max-insufficient-pct", flags.max_insufficient_pct,
                   "Bound on the insufficient-sample rate (CPU and memory) for --grid")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 100.0));
  command->add_flag("--hindsight", flags.hindsight,
                    "Also show, per policy, what a clairvoyant plan reserves within its insufficient-sample and "
                    "redeploy rates");
  return command;
}

int runSimulate(const SimulateFlags& flags) {
  auto delay = parseDuration(flags.deploy_delay);
  if (!delay) {
    spdlog::error("--deploy-delay: {}", delay.error().message());
    return 2;
  }
  auto trace = sim::readTrace(flags.trace);
  if (!trace) {
    spdlog::error("rightsize simulate: {}", trace.error().message());
    return 2;
  }
  if (trace->apps.empty()) {
    spdlog::error("rightsize simulate: {}: no samples", flags.trace);
    return 2;
  }
  sim::ReplayOptions options;
  options.deploy_delay = *delay;
  options.keep_series = !flags.out.empty();

  if (flags.grid) return runGrid(*trace, options, flags.max_insufficient_pct, flags.json);

  std::vector<std::string> names = flags.policies.empty() ? policyNames() : flags.policies;
  std::vector<sim::PolicyResult> results;
  for (const auto& name : names) {
    auto spec = policyByName(name);
    if (!spec) {
      spdlog::error("--policy: {}", spec.error().message());
      return 2;
    }
    results.push_back(sim::replay(*trace, *spec, options));
  }
  const std::vector<sim::PolicyResult> clairvoyant =
      flags.hindsight ? hindsightOf(*trace, results) : std::vector<sim::PolicyResult>{};
  if (flags.json) {
    for (const auto& result : results) std::printf("%s\n", sim::resultJson(result).c_str());
    for (const auto& result : clairvoyant) std::printf("%s\n", sim::resultJson(result).c_str());
  } else {
    std::printf("%s: %zu apps, %zu samples, %.1f days; redeploy delay %s\n", flags.trace.c_str(), trace->apps.size(),
                trace->samples, results.front().days, formatDuration(*delay).c_str());
    printTable(results);
    if (flags.hindsight) {
      std::printf(
          "\nhindsight: the fewest hours a plan knowing the future reserves within each policy's "
          "insufficient-sample and redeploy rates\n");
      printTable(clairvoyant);
    }
  }
  if (!flags.out.empty()) {
    if (Status written = writeReport(flags.out, flags.trace, results); !written) {
      spdlog::error("--out: {}", written.error().message());
      return 1;
    }
    if (!flags.json) std::printf("report: %s/summary.md\n", flags.out.c_str());
  }
  return 0;
}

}  // namespace rightsize::cli
