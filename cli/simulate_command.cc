#include "simulate_command.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <tuple>

#include "flags.h"
#include "simulate_report.h"

#include "rightsize/core/json.h"
#include "rightsize/core/text.h"
#include "rightsize/simulate/baselines.h"
#include "rightsize/simulate/hindsight.h"
#include "rightsize/simulate/simulate.h"
#include "rightsize/simulate/trace.h"

namespace rightsize::cli {
namespace {

// Far beyond any real deployment, and far inside the 62 years between a
// trace's latest time (simulate::kMaxTraceTimestampSeconds) and the end of the
// nanosecond TimePoint, which a change's due time must not overflow.
constexpr Duration kMaxDeployDelay = std::chrono::hours(24 * 365);

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

void printTable(const std::vector<simulate::PolicyResult>& results) {
  std::printf("%-20s %14s %9s %8s %8s %8s %12s %9s %8s %11s %10s %12s %12s\n", "policy", "cpu core-h", "vs trace",
              "slack%", "insuff%", "unmet%", "mem GiB-h", "vs trace", "insuff%", "redeploys/d", "restarts/d",
              "after 1st/d", "burst core-h");
  for (const auto& r : results) {
    const double cpu_ratio = r.cpu.static_reserved_hours > 0 ? r.cpu.reserved_hours / r.cpu.static_reserved_hours : 0;
    const double mem_ratio = r.mem.static_reserved_hours > 0 ? r.mem.reserved_hours / r.mem.static_reserved_hours : 0;
    const std::optional<double> after_first = r.restartsPerAppDayAfterFirstRedeploy();
    // A trace without memory figures: its memory columns say so, not 0.
    const bool mem = r.mem.samples > 0;
    std::printf("%-20s %14s %8s%% %8s %8s %8s %12s %8s%s %8s %11s %10s %12s %12s\n", r.policy.c_str(),
                formatFixed(r.cpu.reserved_hours, 0).c_str(), formatFixed(100 * cpu_ratio, 1).c_str(),
                formatFixed(r.cpu.slackPct(), 1).c_str(), formatFixed(r.cpu.insufficientPct(), 2).c_str(),
                formatFixed(r.cpu.unmetPct(), 2).c_str(), mem ? formatFixed(r.mem.reserved_hours, 0).c_str() : "-",
                mem ? formatFixed(100 * mem_ratio, 1).c_str() : "-", mem ? "%" : " ",
                mem ? formatFixed(r.mem.insufficientPct(), 2).c_str() : "-",
                formatFixed(r.redeploysPerAppDay(), 3).c_str(), formatFixed(r.restartsPerAppDay(), 3).c_str(),
                after_first ? formatFixed(*after_first, 3).c_str() : "-", formatFixed(r.cpu.burst_hours, 0).c_str());
  }
}

// Each policy's figures over the orders of the apps it was replayed in.
void printOrders(const std::vector<simulate::OrderSpread>& spreads, bool has_mem) {
  std::printf("%-20s %19s %13s %13s %21s %11s %13s %13s\n", "policy", "cpu core-h", "insuff%", "unmet%", "mem GiB-h",
              "OOM kills", "redeploys/d", "restarts/d");
  const auto range = [](const simulate::Spread& s, int decimals) {
    return formatFixed(s.min, decimals) + "-" + formatFixed(s.max, decimals);
  };
  for (const auto& s : spreads) {
    std::printf("%-20s %19s %13s %13s %21s %11s %13s %13s\n", s.policy.c_str(), range(s.core_hours, 0).c_str(),
                range(s.cpu_insufficient_pct, 2).c_str(), range(s.cpu_unmet_pct, 2).c_str(),
                has_mem ? range(s.gib_hours, 0).c_str() : "-", range(s.oom_kills, 0).c_str(),
                range(s.redeploys_per_app_day, 2).c_str(), range(s.restarts_per_app_day, 2).c_str());
  }
}

// For each policy replayed, the clairvoyant plan within its insufficient
// and redeploy rates, as a result named "hindsight:<policy>".
std::vector<simulate::PolicyResult> hindsightOf(const simulate::Trace& trace,
                                                const std::vector<simulate::PolicyResult>& results) {
  std::vector<simulate::PolicyResult> out;
  for (const auto& result : results) {
    const auto plan = simulate::hindsightWithin(trace, simulate::limitsOf(result));
    if (!plan) continue;
    simulate::PolicyResult r;
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

// What `worse` (a key of simulate::notDominating) compares, for people.
std::string describeWorse(const std::string& worse, const simulate::PolicyResult& a, const simulate::PolicyResult& b) {
  const auto pair = [](const char* what, double x, const char* relation, double y, int decimals, const char* unit) {
    return std::string(what) + " " + formatFixed(x, decimals) + unit + " " + relation + " " + formatFixed(y, decimals) +
           unit;
  };
  if (worse == "cpu.reserved_core_hours")
    return pair("cpu core-h", a.cpu.reserved_hours, ">=", b.cpu.reserved_hours, 0, "");
  if (worse == "cpu.insufficient_sample_pct") {
    return pair("cpu insufficient", a.cpu.insufficientPct(), ">", b.cpu.insufficientPct(), 2, "%");
  }
  if (worse == "mem.reserved_gib_hours")
    return pair("mem GiB-h", a.mem.reserved_hours, ">=", b.mem.reserved_hours, 0, "");
  if (worse == "mem.insufficient_sample_pct") {
    return pair("mem insufficient", a.mem.insufficientPct(), ">", b.mem.insufficientPct(), 2, "%");
  }
  return pair("redeploys/d", a.redeploysPerAppDay(), ">", b.redeploysPerAppDay(), 3, "");
}

// Whether the product's policy dominates each other policy replayed.
void printDominance(const std::vector<simulate::PolicyResult>& results) {
  const auto product =
      std::find_if(results.begin(), results.end(), [](const auto& r) { return r.policy == "rightsize"; });
  if (product == results.end() || results.size() < 2) return;
  std::printf(
      "\nrightsize dominates a policy when it reserves fewer hours with no more insufficient samples (CPU and "
      "memory) and no more redeploys:\n");
  for (const auto& other : results) {
    if (&other == &*product) continue;
    const std::vector<std::string> worse = simulate::notDominating(*product, other);
    std::string why;
    for (const auto& w : worse) why += (why.empty() ? "" : ", ") + describeWorse(w, *product, other);
    std::printf("  %-18s %s\n", other.policy.c_str(), worse.empty() ? "dominated" : ("not dominated: " + why).c_str());
  }
}

// The rates every adaptive baseline keeps at once (the lowest of each; not
// `static`, which never redeploys, nor the product): a policy dominating
// them all keeps within these.
struct JointLimits {
  std::string names;  // "vpa+autopilot+band"
  simulate::HindsightLimits limits;
  double cpu_hours = 0;  // the fewest any of them reserves
  double mem_hours = 0;
};
std::optional<JointLimits> jointLimitsOf(const std::vector<simulate::PolicyResult>& results) {
  std::optional<JointLimits> joint;
  int count = 0;
  for (const auto& r : results) {
    if (r.policy == "rightsize" || r.policy == "static") continue;
    const simulate::HindsightLimits l = simulate::limitsOf(r);
    if (!joint) {
      joint = JointLimits{r.policy, l, r.cpu.reserved_hours, r.mem.reserved_hours};
    } else {
      joint->names += "+" + r.policy;
      joint->limits.cpu_insufficient_pct = std::min(joint->limits.cpu_insufficient_pct, l.cpu_insufficient_pct);
      joint->limits.mem_insufficient_pct = std::min(joint->limits.mem_insufficient_pct, l.mem_insufficient_pct);
      joint->limits.redeploys_per_app_day = std::min(joint->limits.redeploys_per_app_day, l.redeploys_per_app_day);
      joint->cpu_hours = std::min(joint->cpu_hours, r.cpu.reserved_hours);
      joint->mem_hours = std::min(joint->mem_hours, r.mem.reserved_hours);
    }
    ++count;
  }
  if (count < 2) return std::nullopt;
  return joint;
}

struct NamedBound {
  std::string name;
  simulate::HindsightLimits limits;
  simulate::HindsightBound bound;
};

// The lower bounds at each policy's rates and, with two adaptive baselines
// or more, at the rates of all of them at once.
std::vector<NamedBound> boundsOf(const simulate::Trace& trace, const std::vector<simulate::PolicyResult>& results) {
  std::vector<NamedBound> out;
  for (const auto& r : results) {
    const simulate::HindsightLimits limits = simulate::limitsOf(r);
    out.push_back({r.policy, limits, simulate::hindsightBound(trace, limits)});
  }
  if (const auto joint = jointLimitsOf(results)) {
    out.push_back({joint->names, joint->limits, simulate::hindsightBound(trace, joint->limits)});
  }
  return out;
}

void printBounds(const std::vector<NamedBound>& bounds, const std::vector<simulate::PolicyResult>& results,
                 bool has_mem) {
  std::printf(
      "\nlower bounds: no plan on the sizer's grid (0.05 cores, 32 MiB), even one knowing the future, reserves "
      "fewer hours within these rates\n");
  std::printf("%-20s %8s %8s %11s %14s %12s\n", "rates of", "cpu ins%", "mem ins%", "redeploys/d",
              "cpu core-h >=", "mem GiB-h >=");
  for (const auto& b : bounds) {
    std::printf("%-20s %8s %8s %11s %14s %12s\n", b.name.c_str(), formatFixed(b.limits.cpu_insufficient_pct, 2).c_str(),
                has_mem ? formatFixed(b.limits.mem_insufficient_pct, 2).c_str() : "-",
                formatFixed(b.limits.redeploys_per_app_day, 3).c_str(), formatFixed(b.bound.cpu_hours, 0).c_str(),
                has_mem ? formatFixed(b.bound.mem_hours, 0).c_str() : "-");
  }
  const auto joint = jointLimitsOf(results);
  if (!joint) return;
  const simulate::HindsightBound& at = bounds.back().bound;
  // Out of reach of any policy when even the bound off the grid is above;
  // of the sizer (whose reservations are on the grid) when the bound is.
  const auto verdict = [&](bool off_grid) {
    std::string which;
    if ((off_grid ? at.cpu_hours_off_grid : at.cpu_hours) >= joint->cpu_hours) which += "cpu";
    if (has_mem && (off_grid ? at.mem_hours_off_grid : at.mem_hours) >= joint->mem_hours) {
      which += which.empty() ? "memory" : " and memory";
    }
    return which;
  };
  std::string conclusion = "not ruled out by the bounds";
  if (const std::string any = verdict(true); !any.empty()) {
    conclusion = "out of reach of any policy for " + any;
  } else if (const std::string grid = verdict(false); !grid.empty()) {
    conclusion = "out of reach on the sizer's grid for " + grid;
  }
  std::printf("to dominate %s at once a policy needs < %s cpu core-h%s within their lowest rates: %s\n",
              joint->names.c_str(), formatFixed(joint->cpu_hours, 0).c_str(),
              has_mem ? (" and < " + formatFixed(joint->mem_hours, 0) + " mem GiB-h").c_str() : "", conclusion.c_str());
}

std::string boundJson(const NamedBound& b) {
  rapidjson::StringBuffer buffer;
  json::Writer writer(buffer);
  writer.StartObject();
  json::writeKey(writer, "bound");
  json::writeString(writer, b.name);
  const std::pair<const char*, double> figures[] = {
      {"cpu_insufficient_sample_pct", b.limits.cpu_insufficient_pct},
      {"mem_insufficient_sample_pct", b.limits.mem_insufficient_pct},
      {"redeploys_per_app_day", b.limits.redeploys_per_app_day},
      {"cpu_reserved_core_hours_at_least", b.bound.cpu_hours},
      {"mem_reserved_gib_hours_at_least", b.bound.mem_hours},
      {"cpu_reserved_core_hours_at_least_off_grid", b.bound.cpu_hours_off_grid},
      {"mem_reserved_gib_hours_at_least_off_grid", b.bound.mem_hours_off_grid},
  };
  for (const auto& [name, value] : figures) {
    json::writeKey(writer, name);
    writer.Double(value);
  }
  writer.EndObject();
  return buffer.GetString();
}

}  // namespace

std::vector<std::string> policyNames() {
  std::vector<std::string> names = {"rightsize"};
  for (const auto& spec : simulate::baselinePolicies()) names.push_back(spec.name);
  return names;
}

Expected<simulate::PolicySpec> policyByName(const std::string& name,
                                            const simulate::RightsizePolicyOptions& rightsize) {
  if (name == "rightsize") return simulate::rightsizePolicy(rightsize);
  for (auto& spec : simulate::baselinePolicies()) {
    if (spec.name == name) return std::move(spec);
  }
  return Error(ErrorKind::kInvalidArgument, "unknown policy '" + name + "' (known: " + join(policyNames(), ", ") + ")");
}

CLI::App* addSimulateCommand(CLI::App& app, SimulateFlags& flags) {
  auto* command = app.add_subcommand(
      "simulate", "Replay a usage trace through the sizing policy and its baselines, and compare them.");
  command->footer(
      "Figures per policy: reserved core-hours and GiB-hours (and against the trace's own reservations), slack, "
      "insufficient samples (use above the container's limit: the reservation and the executor's 0.1 for CPU), unmet % "
      "(CPU demand a CFS quota or a full host denied, of the demand), redeploys per app-day, and restarts per app-day "
      "(redeploys, each restarting "
      "the app's tasks on Mesos, plus OOM kills: memory use above the limit), the same after each app's first "
      "redeploy (after 1st/d: that redeploy and what came before left out, the steady rate), and burst core-hours (use "
      "above the "
      "request out of the host's spare: a burstable app's, any app's with shares). Containers are placed on hosts of "
      "--host-cores and --host-memory by their requests. docs/simulate.md explains them.");
  command->add_option("--trace", flags.trace, "Trace in the canonical CSV (.csv or .csv.gz)")
      ->required()
      ->envname(envNameFor("--trace"));
  command
      ->add_option("--policy", flags.policies,
                   "Policy to replay, repeatable: " + join(policyNames(), ", ") + " (default: all)")
      ->check(CLI::IsMember(policyNames()));
  command->add_flag("--json", flags.json, "One JSON object per policy on stdout");
  command
      ->add_option("--orders", flags.orders,
                   "Replay each policy in this many orders of the apps (their ids' order, as the sizer takes them, "
                   "then shuffles of it) and show the spread of its figures: the deployment slots and the hosts "
                   "serve the apps of one instant in that order, and a fleet's app ids are as arbitrary as a trace's")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{100}));
  addFlag(*command, "--out", flags.out, "Directory for per-app CSV, plots and a summary page");
  addFlag(*command, "--deploy-delay", flags.deploy_delay, "Time a redeploy takes; the old reservation holds meanwhile")
      ->check(durationValidator());
  addFlag(*command, "--cpu-isolation", flags.cpu_isolation,
          "What a container's CPU limit does: cfs (a CFS quota caps use at the limit, the reservation plus the "
          "command executor's 0.1: the policy sees what was used and the throttling, the rest of the demand is "
          "unmet) or shares (Mesos' default: use above it is served and seen). A memory limit always OOM-kills")
      ->check(CLI::IsMember({"cfs", "shares"}));
  addSlotFlags(*command, flags.max_concurrent_deployments, flags.max_concurrent_oom_deployments, flags.slot_order,
               true);
  addPolicyFlags(*command, flags.policy, true);
  addMinChangeFlags(*command, flags.min_change, true);
  addFlag(*command, "--sustain", flags.sustain,
          "The sizer's --sustain for the rightsize policy: how long an app stays out of band before it is resized "
          "(at risk: a fifth of it, or at once)")
      ->check(durationValidator());
  addFlag(*command, "--cooldown", flags.cooldown,
          "The sizer's --cooldown for the rightsize policy: quiet time after a resize")
      ->check(durationValidator());
  command
      ->add_option("--max-downsizes-per-day", flags.max_downsizes_per_day,
                   "The sizer's --max-downsizes-per-day for the rightsize policy: resizes that take something away, "
                   "per app and --downsize-window (0: never shrink)")
      ->envname(envNameFor("--max-downsizes-per-day"))
      ->capture_default_str()
      ->check(CLI::Range(0, sizing::kMaxDownsizes));
  addFlag(*command, "--downsize-window", flags.downsize_window,
          "The sizer's --downsize-window for the rightsize policy: a downsize counts against the budget this long")
      ->check(durationValidator());
  addFlag(*command, "--oom-hold", flags.oom_hold,
          "The sizer's --oom-hold for the rightsize policy: after an OOM kill, or memory at its limit, how long "
          "memory stays at least at the growth it caused")
      ->check(durationValidator());
  addFlag(*command, "--limits", flags.limits,
          "The sizer's --limits for the rightsize policy: none (a reservation per resource) or burstable (a request "
          "sized to sustained use and a limit, Marathon's resourceLimits, to the bursts)")
      ->check(CLI::IsMember({"none", "burstable"}));
  addFlag(*command, "--cpu-limit", flags.cpu_limit,
          "With --limits burstable, every app's rightsize.cpu.limit: sized (from its peaks, never lowered) or "
          "unlimited")
      ->check(CLI::IsMember({"sized", "unlimited"}));
  addFlag(*command, "--mem-limit", flags.mem_limit,
          "With --limits burstable, every app's rightsize.mem.limit: sized or unlimited")
      ->check(CLI::IsMember({"sized", "unlimited"}));
  command
      ->add_option("--host-cores", flags.host_cores,
                   "Cores per host: containers are placed on hosts by their CPU requests, and use above a request "
                   "(a burstable limit, shares without a quota) comes from what the host's other containers leave; 0: "
                   "hosts always have CPU to spare")
      ->envname(envNameFor("--host-cores"))
      ->capture_default_str()
      ->check(CLI::Range(0.0, 100000.0));
  command
      ->add_option("--host-memory", flags.host_memory_gib,
                   "GiB per host: containers are placed by their memory requests too, and a host out of memory "
                   "OOM-kills the container furthest above its request (a burstable app's); 0: hosts always have "
                   "memory to spare")
      ->envname(envNameFor("--host-memory"))
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1048576.0));
  command->add_flag("--grid", flags.grid,
                    "Search the band parameters for the most efficient setting within --max-insufficient-pct");
  command
      ->add_option("--max-insufficient-pct", flags.max_insufficient_pct,
                   "Bound on the insufficient-sample rate (CPU and memory) for --grid")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 100.0));
  auto& s = flags.scaling;
  command->add_flag("--scaling", s.scaling,
                    "Replay horizontal scaling instead (docs/scaling.md): each app's use is its total load over "
                    "its instances, scaled by the sizer's rules, reactive and ahead of daily peaks; with --grid, the "
                    "cheapest up/down/step within --max-utilisation");
  command->add_option("--instances-min", s.instances_min, "--scaling: rightsize.instances.min")->capture_default_str();
  command->add_option("--instances-max", s.instances_max, "--scaling: rightsize.instances.max")->capture_default_str();
  command->add_option("--scale-up", s.up, "--scaling: rightsize.scale.up (share of the reservation)")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 10.0));
  command->add_option("--scale-down", s.down, "--scaling: rightsize.scale.down")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 10.0));
  command->add_option("--scale-step", s.step, "--scaling: rightsize.scale.step")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  addFlag(*command, "--scale-interval", s.interval, "--scaling: rightsize.scale.interval (the sizer's default)")
      ->check(durationValidator());
  addFlag(*command, "--scale-sustain", s.sustain, "--scaling: the sizer's --scale-sustain")->check(durationValidator());
  addFlag(*command, "--instance-start", s.instance_start, "--scaling: how long a new instance takes to serve")
      ->check(durationValidator());
  command
      ->add_option("--instance-cpus", s.instance_cpus,
                   "--scaling: cores each instance reserves (0: the trace's reservation over --instances-min)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1024.0));
  command
      ->add_option("--max-utilisation", s.max_utilisation,
                   "--scaling --grid: the bound on the peak utilisation of the reservations (e.g. 0.5)")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 10.0));
  auto& h = flags.host_loss;
  command
      ->add_option("--host-loss-rate", h.rate_per_day,
                   "Replay host losses instead (docs/capacity.md): loss events a day across the fleet, each of 1 to "
                   "--host-loss-burst hosts; the apps packed one task each on --host-cores/--host-memory hosts; "
                   "shown without headroom and with the sizer's")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 10000.0));
  command->add_option("--host-loss-burst", h.burst, "--host-loss-rate: hosts one event takes, at most")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  addFlag(*command, "--headroom-lead-time", h.lead_time,
          "--host-loss-rate: the sizer's flag; also how long a replacement host takes")
      ->check(durationValidator());
  addFlag(*command, "--headroom-window", h.window, "--host-loss-rate: the sizer's flag")->check(durationValidator());
  command->add_option("--headroom-multiple", h.multiple, "--host-loss-rate: the sizer's flag")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 100.0));
  command->add_option("--host-loss-seed", h.seed, "--host-loss-rate: the losses' random seed")->capture_default_str();
  command->add_flag("--hindsight", flags.hindsight,
                    "Also show, per policy, what a clairvoyant plan reserves within its insufficient-sample and "
                    "redeploy rates, and the fewest hours any plan within those rates can reserve (lower bounds)");
  return command;
}

namespace {

// A container the trace ran that used more than a replayed host has: its
// use beyond the host counts as unmet (its memory as a host's OOM kill) for
// every policy. Said on stderr, naming the largest, so that the figures are
// not read as the policies' doing. (One that only reserves more is placed
// on a host of its own: Bitbrains' largest VM reserves 4 hosts' memory and
// uses 9 GiB.)
void warnOfContainersLargerThanAHost(const simulate::Trace& trace, double host_cores, double host_memory_gib) {
  const double host_mem_mib = host_memory_gib * 1024;
  std::size_t larger = 0;
  std::string largest;
  double largest_share = 0;  // of a host, the resource that exceeds it most
  for (const auto& app : trace.apps) {
    double share = 0;
    for (const auto& point : app.points) {
      if (host_cores > 0) share = std::max(share, point.cpu_used_cores / host_cores);
      if (host_mem_mib > 0) share = std::max(share, point.memory_used_mib.value_or(0) / host_mem_mib);
    }
    if (share <= 1) continue;
    ++larger;
    if (share > largest_share) {
      largest_share = share;
      largest = app.app_id;
    }
  }
  if (larger == 0) return;
  spdlog::warn(
      "rightsize simulate: {} app(s) of the trace use more than a host has ({} cores, {} GiB: "
      "--host-cores, --host-memory), the most {} ({:.1f} times a host): their use beyond a host counts as unmet "
      "(memory: a host's OOM kill) for every policy; replay on hosts as large as the trace's ran on",
      larger, formatRounded(host_cores, 3), formatRounded(host_memory_gib, 3), largest, largest_share);
}

// Gaps in the trace's samples (a step more than twice its app's usual one,
// AppTrace::longestObserved): the replay counts no use through them, only
// the reservations. Said on stderr with how much is unobserved, so that an
// operator replaying a trace with monitoring outages knows the use figures
// leave them out.
void noteGaps(const simulate::Trace& trace) {
  std::size_t gaps = 0;
  std::size_t apps = 0;
  double unobserved_hours = 0;
  double app_hours = 0;  // what the samples stand for, gaps included
  double longest_hours = 0;
  std::string longest_in;
  for (const auto& app : trace.apps) {
    const Duration observed = app.longestObserved();
    bool any = false;
    if (!app.points.empty()) app_hours += toSeconds(app.stepOf(0)) / 3600;
    for (std::size_t i = 1; i < app.points.size(); ++i) {
      const Duration step = app.stepOf(i);
      app_hours += toSeconds(step) / 3600;
      if (step <= observed) continue;
      ++gaps;
      any = true;
      const double hours = toSeconds(step - observed) / 3600;
      unobserved_hours += hours;
      if (hours > longest_hours) {
        longest_hours = hours;
        longest_in = app.app_id;
      }
    }
    if (any) ++apps;
  }
  if (gaps == 0) return;
  spdlog::warn(
      "rightsize simulate: {} gap(s) in the trace's samples (a step more than twice its app's usual one) in {} "
      "app(s): {} h of the apps' {} h unobserved ({} %), the longest {} h in {}: their use is unknown and not "
      "counted, the reservations are (docs/simulate.md, \"Gaps in a trace\")",
      gaps, apps, formatFixed(unobserved_hours, 1), formatFixed(app_hours, 0),
      formatFixed(100 * unobserved_hours / app_hours, 2), formatFixed(longest_hours, 1), longest_in);
}

}  // namespace

int runSimulate(const SimulateFlags& flags) {
  auto delay = parseDuration(flags.deploy_delay);
  if (!delay) {
    spdlog::error("--deploy-delay: {}", delay.error().message());
    return 2;
  }
  if (*delay > kMaxDeployDelay) {
    spdlog::error("--deploy-delay: {} is more than {}", formatDuration(*delay), formatDuration(kMaxDeployDelay));
    return 2;
  }
  if (flags.orders > 1 && (flags.scaling.scaling || flags.host_loss.rate_per_day > 0 || flags.grid)) {
    spdlog::error("--orders: replays the policies in several orders; not with --scaling, --host-loss-rate or --grid");
    return 2;
  }
  auto trace = simulate::readTrace(flags.trace);
  if (!trace) {
    spdlog::error("rightsize simulate: {}", trace.error().message());
    return 2;
  }
  if (trace->apps.empty()) {
    spdlog::error("rightsize simulate: {}: no samples", flags.trace);
    return 2;
  }
  if (flags.scaling.scaling) return runScalingSimulation(*trace, flags.trace, flags.scaling, flags.grid, flags.json);
  // (The scaling replay places no containers on hosts.)
  warnOfContainersLargerThanAHost(*trace, flags.host_cores, flags.host_memory_gib);
  noteGaps(*trace);
  if (flags.host_loss.rate_per_day > 0) {
    return runHostLossSimulation(*trace, flags.trace, flags.host_loss, flags.host_cores, flags.host_memory_gib,
                                 flags.json);
  }
  simulate::ReplayOptions options;
  options.deploy_delay = *delay;
  // The flag's check admits only the known names.
  options.cpu_isolation = simulate::parseCpuIsolation(flags.cpu_isolation).value_or(simulate::CpuIsolation::kCfs);
  options.keep_series = !flags.out.empty();
  options.host_cores = flags.host_cores;
  options.host_mem_mib = flags.host_memory_gib * 1024;

  simulate::RightsizePolicyOptions rightsize;
  rightsize.max_concurrent_deployments = flags.max_concurrent_deployments;
  rightsize.max_concurrent_oom_deployments = flags.max_concurrent_oom_deployments;
  rightsize.slot_order = sizing::parseSlotOrder(flags.slot_order).value_or(sizing::SlotOrder::kIds);
  if (Status applied =
          applyPolicyFlags(flags.policy, rightsize.policy, rightsize.history, rightsize.search_back_window);
      !applied) {
    spdlog::error("rightsize simulate: {}", applied.error().message());
    return 2;
  }
  rightsize.settings.burstable = flags.limits == "burstable";
  applyMinChangeFlags(flags.min_change, rightsize.settings);
  rightsize.settings.max_downsizes = flags.max_downsizes_per_day;
  for (auto [flag, text, out] : {std::tuple{"--sustain", &flags.sustain, &rightsize.policy.sustain},
                                 {"--cooldown", &flags.cooldown, &rightsize.settings.cooldown},
                                 {"--downsize-window", &flags.downsize_window, &rightsize.downsize_window},
                                 {"--oom-hold", &flags.oom_hold, &rightsize.oom_hold}}) {
    auto parsed = parseWait(*text);
    if (!parsed || *parsed <= Duration::zero()) {
      spdlog::error("rightsize simulate: {}: {}", flag, parsed ? "must be longer than 0" : parsed.error().message());
      return 2;
    }
    *out = *parsed;
  }
  rightsize.settings.cpu_limit_unlimited = flags.cpu_limit == "unlimited";
  rightsize.settings.mem_limit_unlimited = flags.mem_limit == "unlimited";
  if (flags.grid) return runGrid(*trace, options, rightsize, flags.max_insufficient_pct, flags.json);

  std::vector<std::string> names = flags.policies.empty() ? policyNames() : flags.policies;
  std::vector<simulate::PolicyResult> results;
  std::vector<simulate::OrderSpread> spreads;
  for (const auto& name : names) {
    auto spec = policyByName(name, rightsize);
    if (!spec) {
      spdlog::error("--policy: {}", spec.error().message());
      return 2;
    }
    results.push_back(simulate::replay(*trace, *spec, options));
    if (flags.orders > 1) {
      // The apps' id order, then shuffles of it (seeds 1, 2, ...); the
      // spread needs the totals alone.
      std::vector<simulate::PolicyResult> in_order(1);
      in_order.front() = results.back();
      in_order.front().per_app.clear();
      simulate::ReplayOptions shuffled = options;
      shuffled.keep_series = false;
      for (std::uint64_t seed = 1; seed < flags.orders; ++seed) {
        shuffled.order_seed = seed;
        in_order.push_back(simulate::replay(*trace, *spec, shuffled));
      }
      spreads.push_back(simulate::orderSpread(in_order));
    }
  }
  const std::vector<simulate::PolicyResult> clairvoyant =
      flags.hindsight ? hindsightOf(*trace, results) : std::vector<simulate::PolicyResult>{};
  const std::vector<NamedBound> bounds = flags.hindsight ? boundsOf(*trace, results) : std::vector<NamedBound>{};
  if (flags.json) {
    for (const auto& result : results) std::printf("%s\n", simulate::resultJson(result).c_str());
    for (const auto& result : clairvoyant) std::printf("%s\n", simulate::resultJson(result).c_str());
    for (const auto& bound : bounds) std::printf("%s\n", boundJson(bound).c_str());
    for (const auto& spread : spreads) std::printf("%s\n", simulate::orderSpreadJson(spread).c_str());
  } else {
    std::printf("%s: %zu apps, %zu samples, %.1f days; redeploy delay %s; CPU isolation %s; %s\n", flags.trace.c_str(),
                trace->apps.size(), trace->samples, results.front().days, formatDuration(*delay).c_str(),
                std::string(simulate::cpuIsolationName(options.cpu_isolation)).c_str(),
                options.host_cores > 0 ? (formatRounded(options.host_cores, 3) + "-core hosts").c_str()
                                       : "hosts with CPU to spare");
    printTable(results);
    printDominance(results);
    if (!spreads.empty()) {
      std::printf(
          "\nover %zu orders of the apps (their ids' order, then shuffled: the slots and the hosts serve the apps "
          "of one instant in that order; the rows above, --hindsight and --out are of the ids' order), "
          "least-most:\n",
          flags.orders);
      printOrders(spreads, results.front().mem.samples > 0);
    }
    if (flags.hindsight) {
      std::printf(
          "\nhindsight: the fewest hours a plan knowing the future reserves within each policy's "
          "insufficient-sample and redeploy rates\n");
      printTable(clairvoyant);
      printBounds(bounds, results, results.front().mem.samples > 0);
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
