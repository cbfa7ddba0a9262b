#include "demo_command.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "flags.h"
#include "signals.h"

#include "rightsize/core/http.h"
#include "rightsize/core/json.h"
#include "rightsize/core/periodic.h"
#include "rightsize/core/process.h"
#include "rightsize/core/text.h"
#include "rightsize/sim/cluster.h"

namespace rightsize::cli {
namespace {

using namespace std::chrono_literals;

// The default band of DESIGN.md: a CPU lying factor above +0.6 cores is
// money burnt, below -0.1 cores a hot spot.
constexpr double kBandLow = -0.1;
constexpr double kBandHigh = 0.6;

struct AppFigures {
  std::string app_id;
  std::string host;
  double reserved_cores = 0;
  std::optional<double> used_avg, used_p95, lying, throttled;
  double memory_reserved_bytes = 0;
  std::optional<double> memory_peak_bytes;
};

std::string selfPath() {
  char buffer[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
  return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string("rightsize");
}

// Lenient readers of an agent's answer: a missing or mistyped field is unknown.
std::optional<double> number(const json::Value* object, const char* name) {
  const json::Value* value = object != nullptr ? json::find(*object, name) : nullptr;
  if (value == nullptr || !value->IsNumber()) return std::nullopt;
  return value->GetDouble();
}

std::string text(const json::Value& object, const char* name) {
  const json::Value* value = json::find(object, name);
  return value != nullptr && value->IsString() ? std::string(value->GetString(), value->GetStringLength()) : "";
}

// Reads every agent's /v1/containers.
std::vector<AppFigures> poll(HttpClient& http, const std::vector<std::string>& agents, int& unreachable) {
  std::vector<AppFigures> apps;
  unreachable = 0;
  for (const auto& base : agents) {
    auto response = http.get(base + "/v1/containers", 2s);
    if (!response || response->status != 200) {
      ++unreachable;
      continue;
    }
    auto document = json::parse(response->body, base);
    const json::Value* containers = document ? json::find(*document, "containers") : nullptr;
    if (containers == nullptr || !containers->IsArray()) {
      ++unreachable;
      continue;
    }
    const std::string host = text(*document, "host");
    for (const auto& c : containers->GetArray()) {
      AppFigures figures;
      figures.app_id = text(c, "app_id");
      figures.host = host;
      const json::Value* cpu = json::find(c, "cpu");
      const json::Value* mem = json::find(c, "mem");
      figures.reserved_cores = number(cpu, "reserved_cores").value_or(0);
      figures.used_avg = number(cpu, "used_cores_avg");
      figures.used_p95 = number(cpu, "used_cores_p95");
      figures.lying = number(cpu, "lying_factor_cores");
      figures.throttled = number(cpu, "throttled_ratio");
      figures.memory_reserved_bytes = number(mem, "reserved_bytes").value_or(0);
      figures.memory_peak_bytes = number(mem, "used_bytes_peak");
      apps.push_back(std::move(figures));
    }
  }
  std::sort(apps.begin(), apps.end(), [](const auto& a, const auto& b) { return a.app_id < b.app_id; });
  return apps;
}

// A container capped by CFS cannot use more than its limit, so a hot spot
// shows as throttling or as a high percentile pinned at the reservation as
// much as by a negative lying factor.
bool hot(const AppFigures& app) {
  return (app.lying && *app.lying < kBandLow) || (app.throttled && *app.throttled > 0.05) ||
         (app.used_p95 && app.reserved_cores > 0 && *app.used_p95 >= 0.95 * app.reserved_cores);
}

std::string fixed(std::optional<double> value, int decimals = 2) {
  if (!value) return "-";
  return formatFixed(*value, decimals);
}

std::string simulatedClock(Duration elapsed) {
  const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(elapsed).count();
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "+%02lldh%02lldm", static_cast<long long>(minutes / 60),
                static_cast<long long>(minutes % 60));
  return buffer;
}

void printProgress(const std::vector<AppFigures>& apps, Duration simulated, int unreachable) {
  double reserved = 0, used = 0, slack = 0;
  int hot_spots = 0, over = 0;
  for (const auto& app : apps) {
    reserved += app.reserved_cores;
    used += app.used_avg.value_or(0);
    if (app.lying && *app.lying > kBandHigh) {
      slack += *app.lying - kBandHigh;
      ++over;
    }
    hot_spots += hot(app) ? 1 : 0;
  }
  std::printf("[sim %s] %zu containers: reserved %.1f cores, using %.1f (avg); %d over-reserved, %d hot%s\n",
              simulatedClock(simulated).c_str(), apps.size(), reserved, used, over, hot_spots,
              unreachable > 0 ? (", " + std::to_string(unreachable) + " agent(s) unreachable").c_str() : "");
  std::fflush(stdout);
}

void printReport(const std::vector<AppFigures>& apps) {
  std::printf("\n%-20s %-11s %9s %9s %9s %9s %9s %10s %10s\n", "APP", "HOST", "RESERVED", "USED AVG", "USED P95",
              "LYING", "THROTTLED", "MEM RES", "MEM PEAK");
  double reserved = 0, used = 0, releasable = 0;
  std::vector<std::string> hot_spots;
  for (const auto& app : apps) {
    const auto mib = [](std::optional<double> bytes) {
      return bytes ? fixed(*bytes / (1 << 20), 0) + "Mi" : std::string("-");
    };
    const char* mark = hot(app) ? "  <- hot spot" : (app.lying && *app.lying > kBandHigh ? "  <- over-reserved" : "");
    std::printf("%-20s %-11s %9s %9s %9s %9s %9s %10s %10s%s\n", app.app_id.c_str(), app.host.c_str(),
                fixed(app.reserved_cores).c_str(), fixed(app.used_avg).c_str(), fixed(app.used_p95).c_str(),
                fixed(app.lying).c_str(), fixed(app.throttled).c_str(), mib(app.memory_reserved_bytes).c_str(),
                mib(app.memory_peak_bytes).c_str(), mark);
    reserved += app.reserved_cores;
    used += app.used_avg.value_or(0);
    if (app.lying && *app.lying > kBandHigh) releasable += *app.lying - kBandHigh;
    if (hot(app)) hot_spots.push_back(app.app_id);
  }
  std::printf("\n%zu containers reserve %.1f cores and use %.1f on average.\n", apps.size(), reserved, used);
  std::printf(
      "Bringing every lying factor down to the top of the band (+%.1f cores) would release %.1f cores"
      " (%.0f%% of the reservations).\n",
      kBandHigh, releasable, reserved > 0 ? 100 * releasable / reserved : 0.0);
  std::printf("%zu hot spot(s) (lying factor below %.1f cores, p95 use at the reservation, or throttled)%s",
              hot_spots.size(), kBandLow, hot_spots.empty() ? ".\n" : ": ");
  for (std::size_t i = 0; i < hot_spots.size(); ++i) {
    std::printf("%s%s", hot_spots[i].c_str(), i + 1 < hot_spots.size() ? ", " : ".\n");
  }
  std::fflush(stdout);
}

}  // namespace

CLI::App* addDemoCommand(CLI::App& app, DemoFlags& flags) {
  auto* command = app.add_subcommand(
      "demo", "Run agents against a simulated Mesos cluster driven by a real usage trace, and report what they see.");
  addFlag(*command, "--trace", flags.trace, "Usage trace in the canonical CSV (optionally .gz)");
  command->add_option("--hosts", flags.hosts, "Simulated hosts (one agent each)")
      ->envname(envNameFor("--demo-hosts"))
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  command->add_option("--speed", flags.speed, "Simulated seconds per real second")
      ->envname(envNameFor("--demo-speed"))
      ->capture_default_str()
      ->check(CLI::Range(1.0, 100000.0));
  addFlag(*command, "--duration", flags.duration, "How long to run (real time)")->check(durationValidator());
  addFlag(*command, "--interval", flags.interval, "The agents' sampling period (real time)")
      ->check(durationValidator());
  addFlag(*command, "--window", flags.window, "The agents' averaging window (simulated time)")
      ->check(durationValidator());
  addFlag(*command, "--report", flags.report, "Progress line period (real time)")->check(durationValidator());
  return command;
}

int runDemo(const DemoFlags& flags) {
  const ShutdownSignals signals;
  auto trace = sim::readTrace(flags.trace);
  if (!trace) {
    spdlog::error("--trace: {}", trace.error().message());
    return 2;
  }
  const SystemClock system_clock;
  const sim::ScaledClock clock(system_clock, flags.speed);
  sim::SimulatedClusterOptions options;
  options.hosts = flags.hosts;
  auto cluster = sim::SimulatedCluster::create(clock, std::move(*trace), options);
  if (!cluster) {
    spdlog::error("{}", cluster.error().message());
    return 1;
  }
  if (Status started = (*cluster)->start(); !started) {
    spdlog::error("{}", started.error().message());
    return 1;
  }
  auto& sim = **cluster;
  std::printf("rightsize demo: %zu apps of %s on %d simulated Mesos agents, time x%.0f\n", sim.trace().apps.size(),
              flags.trace.c_str(), sim.hosts(), flags.speed);
  PeriodicRunner updater(100ms, [&sim] { sim.update(); });
  updater.start();

  std::vector<std::unique_ptr<ChildProcess>> agents;
  std::vector<std::string> agent_urls;
  const std::string self = selfPath();
  for (int host = 0; host < sim.hosts(); ++host) {
    auto child = ChildProcess::start({self, "agent", "--source", "mesos", "--mesos-url", sim.agentUrl(host), "--listen",
                                      "127.0.0.1:0", "--interval", flags.interval, "--window", flags.window, "--host",
                                      sim.hostName(host), "--instance-type", "m5.4xlarge"});
    if (!child) {
      spdlog::error("cannot start an agent: {}", child.error().message());
      return 1;
    }
    const std::string line = (*child)->waitForLine("listening on", 10s);
    const auto at = line.find("127.0.0.1:");
    if (at == std::string::npos) {
      spdlog::error("agent for {} did not start:\n{}", sim.hostName(host), (*child)->output());
      return 1;
    }
    agent_urls.push_back("http://" + line.substr(at, line.find(' ', at) - at));
    std::printf("  agent %d: pid %d, %s, measuring %s (Mesos agent double at %s)\n", host + 1,
                static_cast<int>((*child)->pid()), agent_urls.back().c_str(), sim.hostName(host).c_str(),
                sim.agentUrl(host).c_str());
    agents.push_back(std::move(*child));
  }
  std::fflush(stdout);

  CurlHttpClient http;
  const auto started = std::chrono::steady_clock::now();
  const Duration duration = durationFlag(flags.duration);
  const Duration report = durationFlag(flags.report);
  int unreachable = 0;
  std::vector<AppFigures> apps;
  int signal = 0;
  while (std::chrono::steady_clock::now() - started < duration && !sim.finished()) {
    const auto left = duration - (std::chrono::steady_clock::now() - started);
    signal = signals.waitFor(std::chrono::duration_cast<std::chrono::milliseconds>(std::min(report, left)));
    if (signal != 0) break;
    apps = poll(http, agent_urls, unreachable);
    printProgress(apps, sim.traceTime(clock.now()) - sim.trace().start, unreachable);
  }
  apps = poll(http, agent_urls, unreachable);
  printReport(apps);

  for (std::size_t i = 0; i < agents.size(); ++i) {
    const int status = agents[i]->stop(SIGTERM, 10s);
    if (status != 0) spdlog::warn("agent {} (pid {}) did not stop cleanly", i + 1, agents[i]->pid());
  }
  updater.stop();
  std::printf("stopped %zu agents and %d Mesos agent doubles%s\n", agents.size(), sim.hosts(),
              signal != 0 ? " (interrupted)" : "");
  return signal != 0 ? 130 : 0;
}

}  // namespace rightsize::cli
