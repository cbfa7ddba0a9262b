// The Marathon double's state: apps and their versions, tasks placed on
// hosts, deployments that end on the clock (or fail, or never end), failed
// tasks relaunched after Marathon's launch back-off.

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "fake_marathon_parts.h"

#include "rightsize/core/units.h"
#include "rightsize/sizing/policy.h"

namespace rightsize::testing::fake_marathon {
namespace {

constexpr std::size_t kMaxFinishedDeployments = 10000;
constexpr std::string_view kAgentIdPrefix = "8c2f6b9e-4d1a-4e3b-9f6c-2a7d5e0b1c3f-S";
// Mesos' command executor: its memory is added to the task's in the
// container's limit (src/slave/constants.hpp), as FakeMesosAgent counts it.
using sizing::kExecutorMemMib;
// Terminal Mesos task states a task can be failed with; of them, those that
// Marathon records as the app's lastTaskFailure (state/TaskFailure.scala).
constexpr std::string_view kTerminalStates[] = {"TASK_FAILED", "TASK_KILLED",  "TASK_FINISHED", "TASK_LOST",
                                                "TASK_ERROR",  "TASK_DROPPED", "TASK_GONE",     "TASK_GONE_BY_OPERATOR",
                                                "TASK_UNKNOWN"};
constexpr std::string_view kFailureStates[] = {
    "TASK_FAILED", "TASK_ERROR", "TASK_LOST", "TASK_DROPPED", "TASK_GONE", "TASK_GONE_BY_OPERATOR", "TASK_UNKNOWN"};

template <std::size_t N>
bool isOneOf(std::string_view value, const std::string_view (&list)[N]) {
  return std::find(std::begin(list), std::end(list), value) != std::end(list);
}

}  // namespace

std::string uuid(std::mt19937_64& random) {
  std::uint64_t high = random();
  std::uint64_t low = random();
  high = (high & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  low = (low & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;    // RFC 4122 variant
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(high >> 32),
                static_cast<unsigned>((high >> 16) & 0xffff), static_cast<unsigned>(high & 0xffff),
                static_cast<unsigned>(low >> 48), static_cast<unsigned long long>(low & 0xffffffffffffULL));
  return buffer;
}

// Versions are timestamps at millisecond precision; two changes within a
// millisecond (a manual clock that did not move) still get distinct ones.
std::string Marathon::newVersion() {
  TimePoint t = std::chrono::floor<std::chrono::milliseconds>(clock.now());
  if (t <= last_version) t = last_version + std::chrono::milliseconds(1);
  last_version = t;
  return formatMarathonTime(t);
}

const std::vector<std::string>& Marathon::hostsOf(const AppState& app) const {
  return app.hosts.empty() ? options.default_hosts : app.hosts;
}

std::string Marathon::agentId(const std::string& host) {
  const auto [it, added] = agent_numbers.emplace(host, static_cast<int>(agent_numbers.size()));
  return std::string(kAgentIdPrefix) + std::to_string(it->second);
}

std::vector<std::uint16_t> Marathon::hostPorts(const AppState& app, int slot) {
  if (!app.task_ports.empty()) return app.task_ports[static_cast<std::size_t>(slot) % app.task_ports.size()];
  std::vector<std::uint16_t> out;
  const std::size_t count = arraySize(*app.definition, "portDefinitions");
  for (std::size_t i = 0; i < count; ++i) {
    out.push_back(static_cast<std::uint16_t>(next_host_port));
    next_host_port = next_host_port >= kLastHostPort ? kFirstHostPort : next_host_port + 1;
  }
  return out;
}

void Marathon::launch(const std::string& app_id, AppState& app, int slot, TimePoint at) {
  const auto& hosts = hostsOf(app);
  TaskState state;
  state.slot = slot;
  FakeTask& task = state.task;
  task.id = taskIdPrefix(app_id) + ".instance-" + uuid(random) + "._app.1";
  task.app_id = app_id;
  task.host = hosts.empty() ? "localhost" : hosts[static_cast<std::size_t>(slot) % hosts.size()];
  task.slave_id = agentId(task.host);
  task.ports = hostPorts(app, slot);
  if (const Value* definitions = json::find(*app.definition, "portDefinitions");
      definitions != nullptr && definitions->IsArray()) {
    for (const auto& definition : definitions->GetArray()) {
      task.service_ports.push_back(static_cast<std::uint16_t>(numberOr(definition, "port", 0)));
    }
  }
  task.staged_at = at;
  task.started_at = at;
  task.version = app.version;
  state.last_success = at;
  app.tasks.push_back(std::move(state));
}

bool Marathon::slotTaken(const AppState& app, int slot) const {
  return std::any_of(app.tasks.begin(), app.tasks.end(), [slot](const auto& t) { return t.slot == slot; });
}

// Launches the tasks waiting after failures, in free slots, once their
// back-off has passed.
void Marathon::relaunch(const std::string& app_id, AppState& app) {
  int count = std::min(app.queued, instancesOf(app) - static_cast<int>(app.tasks.size()));
  app.queued = 0;
  for (int slot = 0; count > 0; ++slot) {
    if (slotTaken(app, slot)) continue;
    launch(app_id, app, slot, app.launch_at);
    --count;
  }
}

int Marathon::instancesOf(const AppState& app) { return static_cast<int>(numberOr(*app.definition, "instances", 0)); }

// Kills or launches tasks until the app has `instances`.
void Marathon::scaleTasks(const std::string& app_id, AppState& app, TimePoint at) {
  const int wanted = instancesOf(app);
  const bool oldest_first = stringOr(*app.definition, "killSelection", "") == "OLDEST_FIRST";
  while (static_cast<int>(app.tasks.size()) > wanted) {
    auto victim = std::max_element(app.tasks.begin(), app.tasks.end(), [oldest_first](const auto& x, const auto& y) {
      if (x.task.started_at != y.task.started_at) {
        return oldest_first ? x.task.started_at > y.task.started_at : x.task.started_at < y.task.started_at;
      }
      return x.slot < y.slot;
    });
    app.tasks.erase(victim);
  }
  for (int slot = 0; static_cast<int>(app.tasks.size()) < wanted; ++slot) {
    if (!slotTaken(app, slot)) launch(app_id, app, slot, at);
  }
  app.queued = 0;  // the deployment filled every slot
}

void Marathon::replaceTasks(const std::string& app_id, AppState& app, TimePoint at) {
  app.tasks.clear();
  for (int slot = 0; slot < instancesOf(app); ++slot) launch(app_id, app, slot, at);
  app.queued = 0;
}

void Marathon::recordFinished(const std::string& id, const std::string& app_id, FinishedDeployment::End end,
                              TimePoint at) {
  finished.push_back({id, app_id, end, at});
  if (finished.size() > kMaxFinishedDeployments) finished.pop_front();
}

void Marathon::unlock(const std::string& app_id, const std::string& deployment_id) {
  if (auto it = apps.find(app_id); it != apps.end()) {
    std::erase(it->second.deployment_ids, deployment_id);
  }
}

DeploymentOutcome Marathon::outcomeFor(const std::string& app_id) const {
  if (auto it = outcomes.find(app_id); it != outcomes.end()) return it->second;
  if (auto it = outcomes.find(""); it != outcomes.end()) return it->second;
  return DeploymentOutcome::kSucceed;
}

// Starts a deployment of `actions` (one per step); one without steps ends
// at once, as Marathon's empty plans do.
std::string Marathon::startDeployment(const std::string& app_id, ChangeKind kind, std::vector<std::string> actions,
                                      std::optional<AppState> previous, const std::string& version) {
  Deployment d;
  d.info.id = uuid(random);
  d.info.version = version;
  d.info.app_id = app_id;
  d.info.actions = std::move(actions);
  d.info.started_at = clock.now();
  d.info.outcome = outcomeFor(app_id);
  d.duration = deployment_duration;
  if (d.info.outcome != DeploymentOutcome::kNeverFinish) d.info.ends_at = d.info.started_at + d.duration;
  d.kind = kind;
  d.previous = std::move(previous);
  const std::string id = d.info.id;
  if (d.info.actions.empty()) {
    recordFinished(id, app_id, FinishedDeployment::End::kSucceeded, d.info.started_at);
    return id;
  }
  if (auto it = apps.find(app_id); it != apps.end()) it->second.deployment_ids.push_back(id);
  running.push_back(std::move(d));
  return id;
}

void Marathon::complete(Deployment& d, TimePoint at) {
  const std::string& app_id = d.info.app_id;
  unlock(app_id, d.info.id);
  auto it = apps.find(app_id);
  if (d.info.outcome != DeploymentOutcome::kFail) {
    if (it != apps.end()) {
      if (d.kind == ChangeKind::kRestart) {
        replaceTasks(app_id, it->second, at);
      } else if (d.kind == ChangeKind::kStart || d.kind == ChangeKind::kScale) {
        scaleTasks(app_id, it->second, at);
      }
    }
    recordFinished(d.info.id, app_id, FinishedDeployment::End::kSucceeded, at);
    return;
  }
  // Failed: rolled back to the definition before, tasks as they are.
  if (!d.previous) {
    if (it != apps.end()) apps.erase(it);
  } else if (d.kind == ChangeKind::kStop || it == apps.end()) {
    AppState restored = std::move(*d.previous);
    restored.deployment_ids.clear();
    apps[app_id] = std::move(restored);
  } else {
    AppState restored = std::move(*d.previous);
    AppState& current = it->second;
    restored.tasks = std::move(current.tasks);
    restored.versions = std::move(current.versions);
    restored.deployment_ids = std::move(current.deployment_ids);
    restored.last_failure = std::move(current.last_failure);
    restored.backoff = current.backoff;
    restored.queued = current.queued;
    restored.queued_since = current.queued_since;
    restored.launch_at = current.launch_at;
    it->second = std::move(restored);
  }
  recordFinished(d.info.id, app_id, FinishedDeployment::End::kFailed, at);
}

// Completes, in time order, the deployments whose time has passed and the
// relaunches whose back-off has.
void Marathon::completeDue() {
  const TimePoint now = clock.now();
  while (true) {
    auto due = running.end();
    for (auto it = running.begin(); it != running.end(); ++it) {
      if (it->info.ends_at && *it->info.ends_at <= now &&
          (due == running.end() || *it->info.ends_at < *due->info.ends_at)) {
        due = it;
      }
    }
    auto launching = apps.end();
    for (auto it = apps.begin(); it != apps.end(); ++it) {
      if (it->second.queued > 0 && it->second.launch_at <= now &&
          (launching == apps.end() || it->second.launch_at < launching->second.launch_at)) {
        launching = it;
      }
    }
    if (launching != apps.end() && (due == running.end() || launching->second.launch_at < *due->info.ends_at)) {
      relaunch(launching->first, launching->second);
      continue;
    }
    if (due == running.end()) return;
    Deployment d = std::move(*due);
    running.erase(due);
    complete(d, *d.info.ends_at);
  }
}

std::vector<std::string> Marathon::lockers(const std::string& app_id) const {
  std::vector<std::string> out;
  for (const auto& d : running) {
    if (d.info.app_id == app_id) out.push_back(d.info.id);
  }
  return out;
}

// Stops a running deployment where it is (force=true): the app keeps its
// current definition and tasks.
std::optional<Deployment> Marathon::cancel(const std::string& deployment_id, FinishedDeployment::End end) {
  auto it = std::find_if(running.begin(), running.end(), [&](const auto& d) { return d.info.id == deployment_id; });
  if (it == running.end()) return std::nullopt;
  Deployment d = std::move(*it);
  running.erase(it);
  unlock(d.info.app_id, d.info.id);
  recordFinished(d.info.id, d.info.app_id, end, clock.now());
  return d;
}

void Marathon::cancelAll(const std::string& app_id) {
  for (const auto& id : lockers(app_id)) cancel(id, FinishedDeployment::End::kCanceled);
}

void Marathon::remember(AppState& app) {
  app.versions.emplace_back(app.version, app.definition);
  if (app.versions.size() > kMaxVersions) app.versions.erase(app.versions.begin());
}

// A new app, or one back from a stop: its tasks start with the deployment.
ChangeResult Marathon::create(const std::string& app_id, Definition definition) {
  AppState app;
  app.definition = std::move(definition);
  app.version = newVersion();
  app.last_scaling_at = app.last_config_change_at = app.version;
  remember(app);
  const std::string version = app.version;
  apps[app_id] = std::move(app);
  return {startDeployment(app_id, ChangeKind::kStart, {"StartApplication", "ScaleApplication"}, std::nullopt, version),
          version};
}

// Moves an existing app to `target`; `restart` restarts it even when the
// definition does not change (POST .../restart).
ChangeResult Marathon::change(const std::string& app_id, AppState& app, Definition target, bool restart) {
  AppState previous = app;
  const std::string version = newVersion();
  const bool same = static_cast<const Value&>(*app.definition) == static_cast<const Value&>(*target);
  ChangeKind kind = ChangeKind::kRestart;
  std::vector<std::string> actions;
  if (same && !restart) {
    // Nothing to do: Marathon answers with a deployment without steps and
    // the app keeps its version.
  } else if (same) {
    app.version = app.last_scaling_at = version;
    actions = {"RestartApplication"};
  } else if (sameExcept(*app.definition, *target, "instances")) {
    app.definition = std::move(target);
    app.version = app.last_scaling_at = version;
    kind = ChangeKind::kScale;
    actions = {"ScaleApplication"};
  } else {
    app.definition = std::move(target);
    app.version = app.last_scaling_at = app.last_config_change_at = version;
    actions = {"RestartApplication"};
    // Marathon keeps launch delays per app config: a new one starts without.
    app.backoff.reset();
    app.launch_at = std::min(app.launch_at, clock.now());
  }
  if (!actions.empty()) remember(app);
  return {startDeployment(app_id, kind, std::move(actions), std::move(previous), version), version};
}

ChangeResult Marathon::stop(const std::string& app_id) {
  auto it = apps.find(app_id);
  AppState previous = std::move(it->second);
  apps.erase(it);
  const std::string version = newVersion();
  return {startDeployment(app_id, ChangeKind::kStop, {"StopApplication"}, std::move(previous), version), version};
}

std::optional<TaskRef> Marathon::findTask(const std::string& task_id) {
  for (auto app = apps.begin(); app != apps.end(); ++app) {
    auto& tasks = app->second.tasks;
    auto task = std::find_if(tasks.begin(), tasks.end(), [&](const auto& t) { return t.task.id == task_id; });
    if (task != tasks.end()) return TaskRef{app, task};
  }
  return std::nullopt;
}

// The definition a task was launched with (the app's versions keep it).
const Value& Marathon::definitionOf(const AppState& app, const std::string& version) {
  for (const auto& [v, definition] : app.versions) {
    if (v == version) return *definition;
  }
  return *app.definition;
}

// Marathon's RateLimiter: the first failure delays launches by
// backoffSeconds, each further one by backoffFactor times the delay before,
// up to maxLaunchDelaySeconds; a delay unused for itself plus that maximum
// is forgotten.
void Marathon::increaseBackoff(AppState& app, TimePoint now) {
  const Value& d = *app.definition;
  const double maximum_seconds = numberOr(d, "maxLaunchDelaySeconds", 300);
  const Duration maximum = std::chrono::duration_cast<Duration>(Seconds(maximum_seconds));
  double seconds = numberOr(d, "backoffSeconds", 1);
  if (app.backoff && now <= app.backoff->deadline() + maximum) {
    seconds = std::min(maximum_seconds, toSeconds(app.backoff->delay) * numberOr(d, "backoffFactor", 1.15));
  }
  app.backoff = Backoff{now, std::chrono::duration_cast<Duration>(Seconds(seconds))};
}

Status Marathon::failTask(const std::string& task_id, const std::string& state, const std::string& message) {
  completeDue();
  if (!isOneOf(state, kTerminalStates)) {
    return Error(ErrorKind::kInvalidArgument,
                 "failTask(" + task_id + "): '" + state + "' is not a terminal Mesos task state");
  }
  auto ref = findTask(task_id);
  if (!ref) return Error(ErrorKind::kInvalidArgument, "failTask: no running task '" + task_id + "'");
  const TimePoint now = clock.now();
  const std::string& app_id = ref->app->first;
  AppState& app = ref->app->second;
  const FakeTask task = std::move(ref->task->task);
  app.tasks.erase(ref->task);
  if (isOneOf(state, kFailureStates)) {
    app.last_failure = FakeTaskFailure{app_id, task.id, state, message, task.host, task.slave_id, task.version, now};
  }
  if (state != "TASK_KILLED") increaseBackoff(app, now);
  if (app.queued == 0) app.queued_since = now;
  ++app.queued;
  app.launch_at = app.backoff ? std::max(now, app.backoff->deadline()) : now;
  return Status::success();
}

Status Marathon::oomKillTask(const std::string& task_id) {
  completeDue();
  auto ref = findTask(task_id);
  if (!ref) return Error(ErrorKind::kInvalidArgument, "oomKillTask: no running task '" + task_id + "'");
  const Value& definition = definitionOf(ref->app->second, ref->task->task.version);
  // Mesos limits the container to its hard limit (its resourceLimits.mem,
  // else its mem) and the executor's, in whole MB.
  const double mem_mib = resourceLimit(definition, "mem").value_or(numberOr(definition, "mem", 0));
  if (std::isinf(mem_mib)) {
    return Error(ErrorKind::kInvalidArgument,
                 "oomKillTask(" + task_id + "): its memory is unlimited (resourceLimits.mem): no limit to exceed");
  }
  const auto limit_bytes = static_cast<std::uint64_t>(std::floor(mem_mib + kExecutorMemMib)) * kMiBBytes;
  return failTask(task_id, "TASK_FAILED", mesosMemoryLimitMessage(limit_bytes, limit_bytes));
}

Status Marathon::setTaskHealth(const std::string& task_id, bool alive) {
  completeDue();
  auto ref = findTask(task_id);
  if (!ref) return Error(ErrorKind::kInvalidArgument, "setTaskHealth: no running task '" + task_id + "'");
  if (arraySize(*ref->app->second.definition, "healthChecks") == 0) {
    return Error(ErrorKind::kInvalidArgument,
                 "setTaskHealth(" + task_id + "): app '" + ref->app->first + "' has no health checks");
  }
  TaskState& state = *ref->task;
  FakeTask& task = state.task;
  const TimePoint now = clock.now();
  if (alive) {
    task.consecutive_failures = 0;
  } else {
    if (task.alive) state.last_success = now;
    ++task.consecutive_failures;
    task.last_health_failure = now;
  }
  task.alive = alive;
  return Status::success();
}

// Adds running apps: tasks started now, no deployment.
void Marathon::addRunning(std::vector<std::pair<std::string, Definition>> definitions,
                          const std::vector<std::string>& hosts,
                          const std::vector<std::vector<std::uint16_t>>& task_ports, Duration running_for) {
  for (auto& [app_id, definition] : definitions) {
    AppState app;
    app.definition = std::move(definition);
    app.hosts = hosts;
    app.task_ports = task_ports;
    app.version = newVersion();
    app.last_scaling_at = app.last_config_change_at = app.version;
    remember(app);
    // Not before the version they run (versions may run ahead of the clock).
    replaceTasks(app_id, app, std::max(clock.now(), last_version));
    for (TaskState& task : app.tasks) {
      task.task.staged_at -= running_for;
      task.task.started_at -= running_for;
    }
    apps[app_id] = std::move(app);
  }
}

std::map<std::string, std::string> Marathon::stringMap(const Value& definition, std::string_view name) {
  std::map<std::string, std::string> out;
  if (const Value* map = json::find(definition, name); map != nullptr && map->IsObject()) {
    for (const auto& member : map->GetObject()) {
      if (member.value.IsString()) out[member.name.GetString()] = member.value.GetString();
    }
  }
  return out;
}

FakeApp Marathon::toFakeApp(const std::string& app_id, const AppState& app) {
  const Value& d = *app.definition;
  FakeApp out;
  out.id = app_id;
  if (const Value* cmd = json::find(d, "cmd"); cmd != nullptr && cmd->IsString()) out.cmd = cmd->GetString();
  out.cpus = numberOr(d, "cpus", 0);
  out.mem_mib = numberOr(d, "mem", 0);
  out.disk_mib = numberOr(d, "disk", 0);
  out.instances = static_cast<int>(numberOr(d, "instances", 0));
  if (json::find(d, "resourceLimits") != nullptr) {
    out.resource_limits = FakeResourceLimits{resourceLimit(d, "cpus"), resourceLimit(d, "mem")};
  }
  out.labels = stringMap(d, "labels");
  out.env = stringMap(d, "env");
  if (const Value* definitions = json::find(d, "portDefinitions"); definitions != nullptr && definitions->IsArray()) {
    for (const auto& definition : definitions->GetArray()) {
      out.service_ports.push_back(static_cast<std::uint16_t>(numberOr(definition, "port", 0)));
    }
  }
  out.version = app.version;
  out.last_scaling_at = app.last_scaling_at;
  out.last_config_change_at = app.last_config_change_at;
  for (const auto& t : app.tasks) out.tasks.push_back(t.task);
  out.deployment_ids = app.deployment_ids;
  out.last_task_failure = app.last_failure;
  out.tasks_queued = app.queued;
  if (app.queued > 0) out.launch_delayed_until = app.launch_at;
  return out;
}

}  // namespace rightsize::testing::fake_marathon

namespace rightsize::testing {

std::string formatMesosBytes(std::uint64_t bytes) {
  // stout's Bytes: only raise the unit when no information is lost.
  constexpr std::string_view kUnits[] = {"B", "KB", "MB", "GB", "TB"};
  std::size_t unit = 0;
  while (bytes != 0 && bytes % 1024 == 0 && unit + 1 < std::size(kUnits)) {
    bytes /= 1024;
    ++unit;
  }
  return std::to_string(bytes) + std::string(kUnits[unit]);
}

std::string mesosMemoryLimitMessage(std::uint64_t limit_bytes, std::uint64_t max_used_bytes) {
  // The cgroup's memory.stat at the kill: anonymous memory up to the limit.
  constexpr std::uint64_t kPage = 4096;
  constexpr std::uint64_t kNoSwapLimit = 9223372036854771712ULL;  // what cgroup v1 shows for "unlimited"
  const std::uint64_t rss = max_used_bytes / kPage * kPage;
  const std::uint64_t pages = rss / kPage;
  const std::pair<std::string_view, std::uint64_t> own[] = {{"cache", max_used_bytes - rss},
                                                            {"rss", rss},
                                                            {"rss_huge", 0},
                                                            {"shmem", 0},
                                                            {"mapped_file", 0},
                                                            {"dirty", 0},
                                                            {"writeback", 0},
                                                            {"swap", 0},
                                                            {"pgpgin", pages},
                                                            {"pgpgout", 0},
                                                            {"pgfault", pages},
                                                            {"pgmajfault", 0},
                                                            {"inactive_anon", 0},
                                                            {"active_anon", rss},
                                                            {"inactive_file", 0},
                                                            {"active_file", 0},
                                                            {"unevictable", 0}};
  std::string stat;
  for (const auto& [name, value] : own) stat += std::string(name) + " " + std::to_string(value) + "\n";
  stat += "hierarchical_memory_limit " + std::to_string(limit_bytes) + "\n";
  stat += "hierarchical_memsw_limit " + std::to_string(kNoSwapLimit) + "\n";
  for (const auto& [name, value] : own) stat += "total_" + std::string(name) + " " + std::to_string(value) + "\n";
  // MemorySubsystemProcess::oomWaited: the limit, the peak usage, memory.stat.
  return "Memory limit exceeded: Requested: " + formatMesosBytes(limit_bytes) +
         " Maximum Used: " + formatMesosBytes(max_used_bytes) + "\n\nMEMORY STATISTICS: \n" + stat + "\n";
}

}  // namespace rightsize::testing
