#pragma once

// In-memory stand-ins for the sizer's three boundaries, for its unit tests
// and its benchmark (which measures the decision cycle without network):
// a StateStore with the Redis store's lease semantics on an injected clock,
// a MarathonClient whose deployments end when the test says so, and agents
// that report what the test sets. No gtest here: the benchmark uses it too.

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "rightsize/core/clock.h"
#include "rightsize/sizing/agent_reader.h"
#include "rightsize/sizing/marathon.h"
#include "rightsize/sizing/state_store.h"
#include "rightsize/wire/containers_report.h"
#include "rightsize/wire/lag_report.h"

namespace rightsize::testing {

class FakeStateStore final : public sizing::StateStore {
 public:
  explicit FakeStateStore(const Clock& clock) : clock_(clock) {}

  bool down = false;  // every call fails as with Redis unreachable
  std::map<std::string, sizing::AppRecord> records;
  std::vector<sizing::Decision> decisions;  // oldest first
  std::optional<sizing::Lease> holder;
  TimePoint lease_expires{};
  std::uint64_t tokens = 0;
  std::uint64_t writes = 0;
  std::map<std::string, std::pair<std::string, TimePoint>> histories;  // encoded, expiry
  std::uint64_t history_writes = 0;
  std::optional<std::pair<std::string, TimePoint>> host_losses;  // encoded, expiry
  int refused_saves = 0;  // the next saveApps() calls refuse a value (kInvalidValue), lease held

  Expected<std::map<std::string, sizing::AppRecord>> loadApps() override {
    if (down) return unavailable();
    return records;
  }
  Status saveApps(const std::vector<sizing::AppRecord>& saved, const sizing::Lease& lease) override {
    if (Status held = check(lease); !held) return held;
    if (refused_saves > 0) {
      --refused_saves;
      return Error(ErrorKind::kInvalidValue, "app record: a value the store cannot hold");
    }
    for (const auto& record : saved) records[record.app_id] = record;
    ++writes;
    return Status::success();
  }
  Status deleteApp(const std::string& app_id, const sizing::Lease& lease) override {
    if (Status held = check(lease); !held) return held;
    records.erase(app_id);
    return Status::success();
  }
  Status saveHistories(const std::vector<std::pair<std::string, std::string>>& saved, Duration ttl,
                       const sizing::Lease& lease) override {
    if (Status held = check(lease); !held) return held;
    for (const auto& [app_id, encoded] : saved) histories[app_id] = {encoded, clock_.now() + ttl};
    ++history_writes;
    return Status::success();
  }
  Expected<std::map<std::string, std::string>> loadHistories(const std::vector<std::string>& app_ids) override {
    if (down) return unavailable();
    std::map<std::string, std::string> out;
    for (const auto& app_id : app_ids) {
      auto found = histories.find(app_id);
      if (found != histories.end() && clock_.now() < found->second.second) out[app_id] = found->second.first;
    }
    return out;
  }
  Status saveHostLosses(const std::string& encoded, Duration ttl, const sizing::Lease& lease) override {
    if (Status held = check(lease); !held) return held;
    host_losses = {encoded, clock_.now() + ttl};
    return Status::success();
  }
  Expected<std::optional<std::string>> loadHostLosses() override {
    if (down) return unavailable();
    if (host_losses && clock_.now() < host_losses->second) return std::optional<std::string>(host_losses->first);
    return std::optional<std::string>();
  }
  Status appendDecision(const sizing::Decision& decision, const sizing::Lease& lease) override {
    if (Status held = check(lease); !held) return held;
    decisions.push_back(decision);
    return Status::success();
  }
  Expected<std::vector<sizing::Decision>> recentDecisions(std::size_t count) override {
    if (down) return unavailable();
    std::vector<sizing::Decision> out(
        decisions.rbegin(), decisions.rbegin() + static_cast<std::ptrdiff_t>(std::min(count, decisions.size())));
    return out;
  }
  Expected<std::optional<sizing::Lease>> acquireLease(const std::string& owner, Duration ttl) override {
    if (down) return unavailable();
    if (held()) return std::optional<sizing::Lease>();
    holder = sizing::Lease{owner, ++tokens};
    lease_expires = clock_.now() + ttl;
    return holder;
  }
  Expected<bool> renewLease(const sizing::Lease& lease, Duration ttl) override {
    if (down) return unavailable();
    if (!held() || holder->owner != lease.owner || holder->token != lease.token) return false;
    lease_expires = clock_.now() + ttl;
    return true;
  }
  Status releaseLease(const sizing::Lease& lease) override {
    if (down) return unavailable();
    if (held() && holder->token == lease.token) holder.reset();
    return Status::success();
  }

  // Decisions with this action.
  std::size_t count(sizing::DecisionAction action) const {
    return static_cast<std::size_t>(
        std::count_if(decisions.begin(), decisions.end(), [&](const auto& d) { return d.action == action; }));
  }

 private:
  bool held() const { return holder.has_value() && clock_.now() < lease_expires; }
  static Error unavailable() { return Error(ErrorKind::kUnavailable, "store down"); }
  Status check(const sizing::Lease& lease) {
    if (down) return unavailable();
    if (!held() || holder->token != lease.token) return Error(ErrorKind::kConflict, "lease not held");
    return Status::success();
  }

  const Clock& clock_;
};

// Marathon in memory: PUTs change the app at once and open a deployment
// that stays (in the app and in deployments()) until finish() is called.
class FakeMarathonClient final : public sizing::MarathonClient {
 public:
  struct Put {
    std::string app_id;
    double cpus = 0;
    double mem_mib = 0;
    std::optional<sizing::ResourceLimits> limits;  // sent resourceLimits
    std::optional<int> instances;                  // a scale: instances alone (cpus, mem: the app's)
  };

  std::map<std::string, sizing::MarathonApp> apps;
  std::vector<Put> puts;  // every PUT received, refused ones included
  bool down = false;      // every call fails (transport)
  // The next PUTs: answered 409 / applied but answered with an error (lost
  // answer) / not applied and answered with an error.
  int locked_puts = 0;
  int lost_answers = 0;
  int failed_puts = 0;
  // The next PUTs are refused with this message (404 or 422: not applied).
  int refused_puts = 0;
  std::string refusal = "HTTP 422: Object is not valid [{\"path\":\"/mem\",\"errors\":[\"error.min\"]}]";
  // listApps() embeds each app's deployment ids (as Marathon does with
  // embed=apps.tasks); false: a Marathon that does not.
  bool embed_deployments = true;
  bool deployments_down = false;  // deployments() fails (GET /v2/deployments answers 503)
  std::size_t deployment_reads = 0;
  // Entries of the listing that could not be parsed, and GET /v2/queue.
  std::vector<sizing::UnusableApp> unusable;
  std::vector<sizing::QueuedApp> queue;
  std::vector<sizing::MarathonApp> extra_listed;  // listed after `apps` (e.g. an id listed twice)
  bool queue_down = false;                        // launchQueue() fails (GET /v2/queue answers 503)
  // Deployments listed besides those of `apps` (of an app listed unusable).
  std::vector<sizing::MarathonDeployment> extra_deployments;

  sizing::MarathonApp& add(const std::string& id, double cpus, double mem_mib, int instances,
                           std::map<std::string, std::string> labels = {}) {
    sizing::MarathonApp& app = apps[id];
    app.id = id;
    app.cpus = cpus;
    app.mem_mib = mem_mib;
    app.instances = instances;
    app.labels = std::move(labels);
    app.tasks.clear();
    for (int i = 0; i < instances; ++i) newTask(app, i);
    app.tasks_running = instances;
    return app;
  }

  // Ends the app's deployment: tasks restarted with new ids.
  void finish(const std::string& app_id) {
    sizing::MarathonApp& app = apps.at(app_id);
    app.deployment_ids.clear();
    for (std::size_t i = 0; i < app.tasks.size(); ++i) app.tasks[i] = makeTask(app, static_cast<int>(i));
  }
  // Ends it as a rollback: the app gets `cpus`/`mem_mib` back.
  void rollBack(const std::string& app_id, double cpus, double mem_mib) {
    sizing::MarathonApp& app = apps.at(app_id);
    app.deployment_ids.clear();
    app.cpus = cpus;
    app.mem_mib = mem_mib;
  }
  std::size_t putsFor(const std::string& app_id) const {
    return static_cast<std::size_t>(
        std::count_if(puts.begin(), puts.end(), [&](const Put& put) { return put.app_id == app_id; }));
  }

  Expected<sizing::ParsedApps> listApps() override {
    if (down) return Error(ErrorKind::kUnavailable, "marathon down");
    sizing::ParsedApps out;
    out.apps.reserve(apps.size());
    for (const auto& [id, app] : apps) {
      out.apps.push_back(app);
      if (!embed_deployments) out.apps.back().deployment_ids.clear();
    }
    out.apps.insert(out.apps.end(), extra_listed.begin(), extra_listed.end());
    out.unusable = unusable;
    return out;
  }
  Expected<std::vector<sizing::QueuedApp>> launchQueue() override {
    if (down) return Error(ErrorKind::kUnavailable, "marathon down");
    if (queue_down) return Error(ErrorKind::kHttpStatus, "GET /v2/queue: HTTP 503");
    return queue;
  }
  Expected<sizing::MarathonApp> getApp(const std::string& app_id) override {
    if (down) return Error(ErrorKind::kUnavailable, "marathon down");
    auto found = apps.find(app_id);
    if (found == apps.end()) return Error(ErrorKind::kInvalidValue, "HTTP 404");
    return found->second;
  }
  Expected<sizing::UpdateOutcome> updateResources(const std::string& app_id, double cpus, double mem_mib, bool force,
                                                  const std::optional<sizing::ResourceLimits>& limits) override {
    if (down) return Error(ErrorKind::kUnavailable, "marathon down");
    puts.push_back({app_id, cpus, mem_mib, limits, std::nullopt});
    sizing::MarathonApp& app = apps.at(app_id);
    if (auto refused = refuse(app, force)) return *refused;
    app.cpus = cpus;
    app.mem_mib = mem_mib;
    if (limits) app.limits = *limits;
    return deploy(app);
  }
  // A scale: tasks started or stopped at once, the others kept.
  Expected<sizing::UpdateOutcome> updateInstances(const std::string& app_id, int instances, bool force,
                                                  const std::optional<sizing::ResourceLimits>& limits) override {
    if (down) return Error(ErrorKind::kUnavailable, "marathon down");
    sizing::MarathonApp& app = apps.at(app_id);
    puts.push_back({app_id, app.cpus, app.mem_mib, limits, instances});
    if (auto refused = refuse(app, force)) return *refused;
    app.instances = instances;
    while (static_cast<int>(app.tasks.size()) > instances) app.tasks.pop_back();
    while (static_cast<int>(app.tasks.size()) < instances) newTask(app, static_cast<int>(app.tasks.size()));
    app.tasks_running = instances;
    return deploy(app);
  }
  // The answer to a PUT that is not applied (409, 404/422, 503), if any.
  std::optional<Expected<sizing::UpdateOutcome>> refuse(sizing::MarathonApp& app, bool force) {
    if (locked_puts > 0 || (!app.deployment_ids.empty() && !force)) {
      if (locked_puts > 0) --locked_puts;
      sizing::UpdateOutcome locked;
      locked.result = sizing::UpdateOutcome::Result::kLocked;
      locked.locking_deployments = app.deployment_ids;
      return locked;
    }
    if (refused_puts > 0) {
      --refused_puts;
      sizing::UpdateOutcome refused;
      refused.result = sizing::UpdateOutcome::Result::kRefused;
      refused.message = refusal;
      return refused;
    }
    if (failed_puts > 0) {
      --failed_puts;
      return Expected<sizing::UpdateOutcome>(Error(ErrorKind::kHttpStatus, "PUT: HTTP 503"));
    }
    return std::nullopt;
  }
  // A PUT applied: a deployment carries it out.
  Expected<sizing::UpdateOutcome> deploy(sizing::MarathonApp& app) {
    app.deployment_ids = {"deployment-" + std::to_string(++deployments_)};
    // A new version, as Marathon gives a changed app.
    app.version = "version-" + std::to_string(deployments_);
    app.config_changed_at.reset();
    if (lost_answers > 0) {
      --lost_answers;
      return Error(ErrorKind::kUnavailable, "PUT: timeout");
    }
    sizing::UpdateOutcome outcome;
    outcome.deployment_id = app.deployment_ids.front();
    return outcome;
  }
  Expected<std::vector<sizing::MarathonDeployment>> deployments() override {
    ++deployment_reads;
    if (down) return Error(ErrorKind::kUnavailable, "marathon down");
    if (deployments_down) return Error(ErrorKind::kHttpStatus, "GET /v2/deployments: HTTP 503");
    std::vector<sizing::MarathonDeployment> out;
    for (const auto& [id, app] : apps) {
      for (const auto& deployment_id : app.deployment_ids) out.push_back({deployment_id, {id}});
    }
    out.insert(out.end(), extra_deployments.begin(), extra_deployments.end());
    return out;
  }

 private:
  sizing::MarathonTask makeTask(const sizing::MarathonApp& app, int slot) {
    sizing::MarathonTask task;
    task.id = app.id.substr(1) + ".task-" + std::to_string(++tasks_);
    task.app_id = app.id;
    task.host = "host-" + std::to_string(slot % 100);
    task.ports = {31000 + slot};
    task.state = "TASK_RUNNING";
    return task;
  }
  void newTask(sizing::MarathonApp& app, int slot) { app.tasks.push_back(makeTask(app, slot)); }

  std::uint64_t deployments_ = 0;
  std::uint64_t tasks_ = 0;
};

// Agents that report, for every task Marathon lists, the figures set per app.
class FakeAgentSource final : public sizing::AgentSource {
 public:
  struct Figures {
    double cpu_avg = 0;
    double cpu_p95 = 0;
    double mem_used_mib = 0;
    double mem_peak_mib = 0;
    double throttled = 0;
    std::optional<wire::LagStatus> lag_status;  // of the app's consumer group; nullopt = none
  };

  explicit FakeAgentSource(const FakeMarathonClient& marathon) : marathon_(marathon) {}
  std::map<std::string, Figures> figures;       // by app id
  std::vector<wire::LagGroup> extra_groups;     // reported besides the apps' own
  std::vector<std::vector<std::string>> reads;  // the URLs of each read()

  std::vector<sizing::AgentReport> read(const std::vector<std::string>& agent_urls) override {
    reads.push_back(agent_urls);
    sizing::AgentReport report;
    report.url = "scripted";
    report.reachable = true;
    for (const auto& [id, app] : marathon_.apps) {
      auto found = figures.find(id);
      if (found == figures.end()) continue;
      const Figures& f = found->second;
      for (const auto& task : app.tasks) {
        wire::Container c;
        c.app_id = id;
        c.task_id = task.id;
        c.cpu.used_cores_avg = f.cpu_avg;
        c.cpu.used_cores_p95 = f.cpu_p95;
        c.cpu.throttled_ratio = f.throttled;
        c.mem.used_bytes = f.mem_used_mib * 1024 * 1024;
        c.mem.used_bytes_peak = f.mem_peak_mib * 1024 * 1024;
        c.mem.reserved_bytes = app.mem_mib * 1024 * 1024;
        report.containers.push_back(std::move(c));
      }
      if (f.lag_status) report.lag_groups.push_back({.group = "group-" + id, .app_id = id, .status = f.lag_status});
    }
    report.lag_groups.insert(report.lag_groups.end(), extra_groups.begin(), extra_groups.end());
    return {report};
  }

 private:
  const FakeMarathonClient& marathon_;
};

}  // namespace rightsize::testing
