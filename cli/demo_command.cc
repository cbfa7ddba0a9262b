#include "demo_command.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>

#include "flags.h"
#include "signals.h"
#include "simulate_report.h"

#include "rightsize/core/http.h"
#include "rightsize/core/json.h"
#include "rightsize/core/periodic.h"
#include "rightsize/core/process.h"
#include "rightsize/core/text.h"
#include "rightsize/simulate/simulate.h"
#include "rightsize/testing/cluster.h"
#include "rightsize/testing/redis_server.h"

namespace rightsize::cli {
namespace {

using namespace std::chrono_literals;

constexpr auto kStartTimeout = 10s;
constexpr auto kStopTimeout = 10s;
constexpr auto kPollPeriod = 1s;  // real time between reads of the sizer's decisions

// The shipped `rightsize` binary, next to this one (both are built into the
// same folder): the demo runs its agents and sizer.
std::string rightsizePath() {
  char buffer[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
  if (n <= 0) return "rightsize";
  std::string self(buffer, static_cast<std::size_t>(n));
  const std::size_t slash = self.rfind('/');
  return slash == std::string::npos ? std::string("rightsize") : self.substr(0, slash + 1) + "rightsize";
}

// A simulated duration flag as the real-time flag of a process on the real
// clock (at least 1 ms).
std::string realTime(const std::string& simulated, double speed) {
  const auto ms = std::max(1.0, std::round(toSeconds(durationFlag(simulated)) * 1000 / speed));
  return std::to_string(static_cast<long long>(ms)) + "ms";
}

std::string simulatedClock(Duration elapsed) {
  const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(elapsed).count();
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "+%02lldh%02lldm", static_cast<long long>(minutes / 60),
                static_cast<long long>(minutes % 60));
  return buffer;
}

// Starts `rightsize <argv...>` (the binary next to this one) and waits for
// its "listening on" line; returns the process and its base URL.
Expected<std::pair<std::unique_ptr<ChildProcess>, std::string>> startRightsize(const std::vector<std::string>& argv,
                                                                               const std::string& what) {
  std::vector<std::string> full = {rightsizePath()};
  full.insert(full.end(), argv.begin(), argv.end());
  auto child = ChildProcess::start(full);
  if (!child) return child.error().withContext("starting the " + what);
  const std::string line = (*child)->waitForLine("listening on", kStartTimeout);
  const auto at = line.find("127.0.0.1:");
  if (at == std::string::npos) {
    (*child)->stop(SIGKILL, kStopTimeout);
    return Error(ErrorKind::kUnavailable, "the " + what + " did not start:\n" + (*child)->output());
  }
  std::string url = "http://" + line.substr(at, line.find_first_of(" )", at) - at);
  return std::make_pair(std::move(*child), std::move(url));
}

struct SeenDecision {
  double timestamp = 0;  // Unix seconds, real time
  std::string app_id;
  std::string action;
  std::optional<double> from_cpus, to_cpus, from_mem, to_mem;
  std::string reason;
};

std::optional<double> number(const json::Value& object, const char* name) {
  const json::Value* value = json::find(object, name);
  if (value == nullptr || !value->IsNumber()) return std::nullopt;
  return value->GetDouble();
}

std::string text(const json::Value& object, const char* name) {
  const json::Value* value = json::find(object, name);
  return value != nullptr && value->IsString() ? std::string(value->GetString(), value->GetStringLength()) : "";
}

// The sizer's decisions newer than `newest` (which moves on), oldest first.
std::vector<SeenDecision> newDecisions(HttpClient& http, const std::string& sizer_url, double& newest) {
  std::vector<SeenDecision> out;
  auto response = http.get(sizer_url + "/v1/decisions", 2s);
  if (!response || response->status != 200) return out;
  auto document = json::parse(response->body, sizer_url + "/v1/decisions");
  const json::Value* decisions = document ? json::find(*document, "decisions") : nullptr;
  if (decisions == nullptr || !decisions->IsArray()) return out;
  double latest = newest;
  for (const auto& d : decisions->GetArray()) {
    SeenDecision seen;
    seen.timestamp = number(d, "timestamp").value_or(0);
    if (seen.timestamp <= newest) continue;
    latest = std::max(latest, seen.timestamp);
    seen.app_id = text(d, "app_id");
    seen.action = text(d, "action");
    seen.from_cpus = number(d, "from_cpus");
    seen.to_cpus = number(d, "to_cpus");
    seen.from_mem = number(d, "from_mem");
    seen.to_mem = number(d, "to_mem");
    seen.reason = text(d, "reason");
    out.push_back(std::move(seen));
  }
  newest = latest;
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.timestamp < b.timestamp; });
  return out;
}

std::string change(std::optional<double> from, std::optional<double> to, int decimals) {
  if (!from || !to) return "-";
  if (std::abs(*from - *to) < 1e-9) return formatFixed(*from, decimals);
  return formatFixed(*from, decimals) + " -> " + formatFixed(*to, decimals);
}

struct AppStart {
  double cpus = 0;
  double mem_mib = 0;
  int resizes = 0;
  // As the sizer's last resize left it: an app whose trace ended is gone
  // from Marathon.
  double last_cpus = 0;
  double last_mem_mib = 0;
};

class Demo {
 public:
  // `real_origin` is when `sim_clock` (`real_clock` sped up) started: the
  // simulated time is real_origin + (real time since) x speed.
  Demo(const DemoFlags& flags, TimePoint real_origin, const Clock& sim_clock, testing::SimulatedCluster& cluster)
      : flags_(flags), sim_clock_(sim_clock), cluster_(cluster), real_origin_(real_origin) {}

  // What the sizer did since the last call, printed as it happened.
  void printDecisions(HttpClient& http, const std::string& sizer_url) {
    for (const auto& d : newDecisions(http, sizer_url, newest_decision_)) {
      // The sizer runs on the simulated clock, from the same origin.
      const auto simulated = fromUnixSeconds(d.timestamp) - real_origin_;
      if (d.action == "resize") {
        AppStart& app = apps_[d.app_id];
        ++app.resizes;
        app.last_cpus = d.to_cpus.value_or(app.last_cpus);
        app.last_mem_mib = d.to_mem.value_or(app.last_mem_mib);
        ++resizes_;
        std::printf("[sim %s] resize %s: cpus %s, mem %s MiB (%s)\n", simulatedClock(simulated).c_str(),
                    d.app_id.c_str(), change(d.from_cpus, d.to_cpus, 2).c_str(),
                    change(d.from_mem, d.to_mem, 0).c_str(), d.reason.c_str());
      } else if (d.action == "deployment_failed" || d.action == "resize_refused" || d.action == "resize_unconfirmed") {
        std::printf("[sim %s] %s %s: %s\n", simulatedClock(simulated).c_str(), d.action.c_str(), d.app_id.c_str(),
                    d.reason.c_str());
      }
    }
    std::fflush(stdout);
  }

  // Every trace app's first definition (an app whose trace begins later is
  // created with it then).
  void rememberStart() {
    for (std::size_t i = 0; i < cluster_.trace().apps.size(); ++i) {
      const testing::FakeAppSpec spec = cluster_.specOf(i, {});
      apps_[spec.id] = {spec.cpus, spec.mem_mib, 0, spec.cpus, spec.mem_mib};
    }
  }

  // The apps living now (Marathon's), against their first definitions.
  void printProgress() const {
    double cpus = 0, mem = 0, start_cpus = 0, start_mem = 0;
    int deploying = 0;
    std::size_t living = 0;
    for (const auto& app : cluster_.marathon().apps()) {
      const auto start = apps_.find(app.id);
      if (start == apps_.end()) continue;
      ++living;
      cpus += app.cpus * app.instances;
      mem += app.mem_mib * app.instances / 1024;
      deploying += app.deployment_ids.empty() ? 0 : 1;
      start_cpus += start->second.cpus;
      start_mem += start->second.mem_mib / 1024;
    }
    const TimePoint at = cluster_.traceTime(sim_clock_.now());
    double demand = 0;
    for (const auto& app : cluster_.trace().apps) {
      if (const auto* point = app.at(at)) demand += point->cpu_used_cores;
    }
    std::printf(
        "[sim %s] %zu apps reserve %.1f cores, %.1f GiB (originally %.1f, %.1f); demand now %.1f cores; "
        "%d resizes, %d deploying\n",
        simulatedClock(at - cluster_.trace().start).c_str(), living, cpus, mem, start_cpus, start_mem, demand, resizes_,
        deploying);
    std::fflush(stdout);
  }

  // The run's figures in `rightsize simulate --json`'s shape.
  std::string resultJson(simulate::CpuIsolation isolation) const {
    const testing::ClusterTotals totals = cluster_.totals();
    simulate::PolicyResult result;
    result.policy = "rightsize";
    result.apps = cluster_.trace().apps.size();
    result.samples = totals.cpu.samples;
    result.days = totals.hours / 24;
    result.cpu = totals.cpu;
    result.mem = totals.mem;
    result.redeploys = static_cast<std::size_t>(resizes_);
    result.oom_kills = totals.oom_kills;
    result.app_days = totals.app_hours / 24;
    result.cpu_isolation = isolation;
    return simulate::resultJson(result);
  }

  void printSummary() const {
    const testing::ClusterTotals totals = cluster_.totals();
    std::printf("\nWhat the sizer did over %s of trace:\n\n%-28s %18s %22s %8s\n",
                formatDuration(std::chrono::seconds(static_cast<long long>(totals.hours * 3600))).c_str(), "APP",
                "CPUS", "MEM (MiB)", "RESIZES");
    std::map<std::string, FakeAppNow> now;
    for (const auto& app : cluster_.marathon().apps()) now[app.id] = {app.cpus, app.mem_mib};
    for (const auto& [id, start] : apps_) {
      // Gone from Marathon (its trace ended): as its last resize left it.
      const auto found = now.find(id);
      const FakeAppNow current = found != now.end() ? found->second : FakeAppNow{start.last_cpus, start.last_mem_mib};
      std::printf("%-28s %18s %22s %8d\n", id.c_str(), change(start.cpus, current.cpus, 2).c_str(),
                  change(start.mem_mib, current.mem_mib, 0).c_str(), start.resizes);
    }
    const auto saved = [](double after, double before) { return before > 0 ? 100 * (before - after) / before : 0.0; };
    std::printf(
        "\n%d resizes. The apps reserved %.0f core-hours instead of %.0f under their original reservations "
        "(%.0f%% less), and %.0f GiB-hours of memory instead of %.0f (%.0f%% less).\n",
        resizes_, totals.reserved_core_hours, totals.initial_reserved_core_hours,
        saved(totals.reserved_core_hours, totals.initial_reserved_core_hours), totals.reserved_gib_hours,
        totals.initial_reserved_gib_hours, saved(totals.reserved_gib_hours, totals.initial_reserved_gib_hours));
    std::printf(
        "CPU demand unmet (capped by a CFS quota): %.1f core-hours, %.2f%% of the %.0f core-hours asked for "
        "(%.1f under the original reservations). OOM kills: %llu.\n",
        totals.unmet_core_hours,
        totals.demand_core_hours > 0 ? 100 * totals.unmet_core_hours / totals.demand_core_hours : 0.0,
        totals.demand_core_hours, totals.initial_unmet_core_hours, static_cast<unsigned long long>(totals.oom_kills));
    if (totals.apps_refused > 0) {
      std::printf("Marathon refused %llu app(s) whose trace began after the start: not played.\n",
                  static_cast<unsigned long long>(totals.apps_refused));
    }
    std::fflush(stdout);
  }

 private:
  struct FakeAppNow {
    double cpus = 0;
    double mem_mib = 0;
  };
  const DemoFlags& flags_;
  const Clock& sim_clock_;
  testing::SimulatedCluster& cluster_;
  TimePoint real_origin_;
  double newest_decision_ = 0;
  int resizes_ = 0;
  std::map<std::string, AppStart> apps_;
};

}  // namespace

void addDemoOptions(CLI::App& app, DemoFlags& flags) {
  CLI::App* command = &app;
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
  addFlag(*command, "--sizer-interval", flags.sizer_interval, "The sizer's decision period (simulated time)")
      ->check(durationValidator());
  addFlag(*command, "--sustain", flags.sustain, "The sizer's --sustain (simulated time)")->check(durationValidator());
  addFlag(*command, "--min-history", flags.min_history, "The sizer's --min-history (simulated time)")
      ->check(durationValidator());
  addFlag(*command, "--min-task-age", flags.min_task_age, "The sizer's --min-task-age (simulated time)")
      ->check(durationValidator(true));
  addFlag(*command, "--min-app-age", flags.min_app_age, "The sizer's --min-app-age (simulated time)")
      ->check(durationValidator(true));
  addFlag(*command, "--cooldown", flags.cooldown, "The sizer's --cooldown (simulated time)")
      ->check(durationValidator());
  addFlag(*command, "--deployment", flags.deployment, "How long a Marathon deployment takes (simulated time)")
      ->check(durationValidator());
  command
      ->add_option("--max-concurrent-deployments", flags.max_concurrent_deployments,
                   "The sizer's --max-concurrent-deployments")
      ->envname(envNameFor("--demo-max-concurrent-deployments"))
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{100}));
  addFlag(*command, "--cpu-isolation", flags.cpu_isolation,
          "What the containers' CPU limit does, as in rightsize simulate: cfs (a quota caps use, throttles) or "
          "shares (use above the reservation is served)")
      ->check(CLI::IsMember({"cfs", "shares"}));
  addFlag(*command, "--json", flags.json,
          "Write what the run did to this file, as rightsize simulate --json writes a policy's figures (policy "
          "rightsize, accounted the same way over the simulated span the demo ran)");
}

int runDemo(const DemoFlags& flags) {
  const ShutdownSignals signals;
  auto trace = simulate::readTrace(flags.trace);
  if (!trace) {
    spdlog::error("--trace: {}", trace.error().message());
    return 2;
  }
  const SystemClock real_clock;
  const TimePoint real_origin = real_clock.now();
  const testing::ScaledClock clock(real_clock, flags.speed, real_origin);
  testing::SimulatedClusterOptions options;
  options.hosts = flags.hosts;
  options.deployment_duration = durationFlag(flags.deployment);
  // Each trace VM is a one-instance app: labelled so that it may be shrunk.
  options.app_labels = {{"rightsize.enabled", "true"}, {"rightsize.allow-single-instance", "true"}};
  // The flag's check admits only the known names.
  options.cpu_isolation = simulate::parseCpuIsolation(flags.cpu_isolation).value_or(simulate::CpuIsolation::kCfs);
  // The apps ran before the demo, as the replay takes them to: their first
  // tasks are old enough to be shrunk (the flag's check admits only
  // durations of 0 or more).
  if (auto min_task_age = parseDuration(flags.min_task_age)) options.tasks_running_for = *min_task_age;
  auto cluster = testing::SimulatedCluster::create(clock, std::move(*trace), options);
  if (!cluster) {
    spdlog::error("--trace {}: {}", flags.trace, cluster.error().message());
    return 2;
  }
  auto& sim = **cluster;
  if (Status started = sim.start(); !started) {
    spdlog::error("{}", started.error().message());
    return 1;
  }
  Demo demo(flags, real_origin, clock, sim);
  demo.rememberStart();
  std::printf("rightsize-demo: %zu apps of %s on %d simulated Mesos agents (CPU isolation %s), time x%.0f\n",
              sim.trace().apps.size(), flags.trace.c_str(), sim.hosts(), flags.cpu_isolation.c_str(), flags.speed);
  std::printf(
      "  Marathon double at %s: the apps, labelled rightsize.enabled=true and rightsize.allow-single-instance=true; a "
      "deployment takes %s\n",
      sim.marathon().url().c_str(), flags.deployment.c_str());
  PeriodicRunner updater(100ms, [&sim] { sim.update(); });
  updater.start();

  // Everything started from here is stopped at the end, in reverse order.
  auto redis = testing::RedisServer::start();
  if (!redis) {
    spdlog::error("{}", redis.error().message());
    return 1;
  }
  std::printf("  redis-server: pid %d, 127.0.0.1:%d\n", static_cast<int>((*redis)->pid()), (*redis)->port());
  std::vector<std::unique_ptr<ChildProcess>> agents;
  std::vector<std::string> agent_addresses;
  std::unique_ptr<ChildProcess> sizer;
  int status = 0;
  // The agents' window in real time, at least one sampling period (an
  // agent refuses less): at high speeds it spans more simulated time.
  std::string agent_window = realTime(flags.window, flags.speed);
  if (durationFlag(agent_window) < durationFlag(flags.interval)) {
    agent_window = flags.interval;
    std::printf(
        "  the agents' window is one sampling period, %s simulated (--window %s is shorter at x%.0f)\n",
        formatDuration(std::chrono::duration_cast<Duration>(durationFlag(flags.interval) * flags.speed)).c_str(),
        flags.window.c_str(), flags.speed);
  }
  const auto run = [&]() -> int {
    for (int host = 0; host < sim.hosts(); ++host) {
      auto agent = startRightsize(
          {"agent", "--source", "mesos", "--mesos-url", sim.agentUrl(host), "--listen", "127.0.0.1:0", "--interval",
           flags.interval, "--window", agent_window, "--host", sim.hostName(host), "--instance-type", "m5.4xlarge"},
          "agent for " + sim.hostName(host));
      if (!agent) {
        spdlog::error("{}", agent.error().message());
        return 1;
      }
      agents.push_back(std::move(agent->first));
      agent_addresses.push_back(agent->second.substr(std::string("http://").size()));
      std::printf("  agent %d: pid %d, %s, measuring %s (Mesos agent double at %s)\n", host + 1,
                  static_cast<int>(agents.back()->pid()), agent->second.c_str(), sim.hostName(host).c_str(),
                  sim.agentUrl(host).c_str());
    }
    std::string agent_list;
    for (const auto& address : agent_addresses) agent_list += (agent_list.empty() ? "" : ",") + address;
    auto started =
        // The sizer runs on the simulated clock (the same origin and speed):
        // its waits, histories and reasons are in simulated time.
        startRightsize({"sizer",
                        "--mode",
                        "apply",
                        "--marathon-url",
                        sim.marathon().url(),
                        "--redis",
                        "redis://127.0.0.1:" + std::to_string((*redis)->port()) + "/0",
                        "--agents",
                        agent_list,
                        "--interval",
                        flags.sizer_interval,
                        "--sustain",
                        flags.sustain,
                        "--min-history",
                        flags.min_history,
                        "--min-task-age",
                        flags.min_task_age,
                        "--min-app-age",
                        flags.min_app_age,
                        "--cooldown",
                        flags.cooldown,
                        "--max-concurrent-deployments",
                        std::to_string(flags.max_concurrent_deployments),
                        "--clock-speed",
                        formatExact(flags.speed),
                        "--clock-origin",
                        formatExact(toUnixSeconds(real_origin)),
                        "--listen",
                        "127.0.0.1:0"},
                       "sizer");
    if (!started) {
      spdlog::error("{}", started.error().message());
      return 1;
    }
    sizer = std::move(started->first);
    const std::string sizer_url = started->second;
    std::printf("  sizer: pid %d, %s, apply mode: decides every %s, acts after %s out of band, cooldown %s\n\n",
                static_cast<int>(sizer->pid()), sizer_url.c_str(), flags.sizer_interval.c_str(), flags.sustain.c_str(),
                flags.cooldown.c_str());
    std::fflush(stdout);

    CurlHttpClient http;
    const auto start = std::chrono::steady_clock::now();
    const Duration duration = durationFlag(flags.duration);
    const Duration report = durationFlag(flags.report);
    auto next_report = start + report;
    while (std::chrono::steady_clock::now() - start < duration && !sim.finished()) {
      const auto left = duration - (std::chrono::steady_clock::now() - start);
      const auto wait = std::min<Duration>({kPollPeriod, left, next_report - std::chrono::steady_clock::now()});
      if (const int signal = signals.waitFor(
              std::chrono::duration_cast<std::chrono::milliseconds>(std::max<Duration>(wait, Duration::zero())));
          signal != 0) {
        return 130;
      }
      // Keep the children's pipes from filling up.
      for (auto& agent : agents) agent->drain(0ms);
      sizer->drain(0ms);
      demo.printDecisions(http, sizer_url);
      if (std::chrono::steady_clock::now() >= next_report) {
        demo.printProgress();
        next_report += report;
      }
      if (!sizer->running()) {
        spdlog::error("the sizer exited:\n{}", sizer->output());
        return 1;
      }
    }
    demo.printDecisions(http, sizer_url);
    demo.printSummary();
    if (!flags.json.empty()) {
      if (Status written = writeFile(flags.json, demo.resultJson(options.cpu_isolation) + "\n"); !written) {
        spdlog::error("--json: {}", written.error().message());
        return 1;
      }
    }
    return 0;
  };
  status = run();

  int stopped = 0;
  if (sizer != nullptr) {
    if (sizer->stop(SIGTERM, kStopTimeout) != 0) {
      const std::string& output = sizer->output();
      spdlog::warn("the sizer (pid {}) did not stop cleanly; the end of its output:\n{}", sizer->pid(),
                   output.substr(output.size() > 4000 ? output.size() - 4000 : 0));
    }
    ++stopped;
  }
  for (std::size_t i = 0; i < agents.size(); ++i) {
    if (agents[i]->stop(SIGTERM, kStopTimeout) != 0) {
      spdlog::warn("agent {} (pid {}) did not stop cleanly", i + 1, agents[i]->pid());
    }
  }
  if (Status down = (*redis)->stop(); !down) spdlog::warn("{}", down.error().message());
  updater.stop();
  std::printf("stopped %s%zu agents, redis-server, the Marathon double and %d Mesos agent doubles%s\n",
              stopped > 0 ? "the sizer, " : "", agents.size(), sim.hosts(), status == 130 ? " (interrupted)" : "");
  return status;
}

}  // namespace rightsize::cli
