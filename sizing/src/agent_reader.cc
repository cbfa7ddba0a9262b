#include "rightsize/sizing/agent_reader.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <thread>
#include <unordered_map>

#include "rightsize/core/json.h"
#include "rightsize/core/text.h"

namespace rightsize::sizing {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

// A finite, non-negative number or null; anything else is an error.
bool optionalFigure(const json::Value* object, const char* name, std::optional<double>& out, std::string& problem) {
  if (object == nullptr || !object->IsObject()) return true;
  const json::Value* value = json::find(*object, name);
  if (value == nullptr || value->IsNull()) return true;
  if (!value->IsNumber() || !std::isfinite(value->GetDouble()) || value->GetDouble() < 0) {
    problem = std::string(name) + " is not a non-negative number";
    return false;
  }
  out = value->GetDouble();
  return true;
}

}  // namespace

std::vector<TaskFigures> parseContainersReport(std::string_view body, std::string_view source,
                                               std::vector<Error>& errors) {
  std::vector<TaskFigures> out;
  auto document = json::parse(body, source);
  if (!document) {
    errors.push_back(document.error());
    return out;
  }
  const json::Value* containers = json::find(*document, "containers");
  if (containers == nullptr || !containers->IsArray()) {
    errors.emplace_back(ErrorKind::kMalformed, std::string(source) + ": no containers array");
    return out;
  }
  std::size_t index = 0;
  for (const auto& c : containers->GetArray()) {
    const std::string path = std::string(source) + ": containers[" + std::to_string(index++) + "]";
    TaskFigures task;
    const json::Value* app = json::find(c, "app_id");
    const json::Value* id = json::find(c, "task_id");
    if (app == nullptr || !app->IsString() || id == nullptr || !id->IsString()) {
      errors.emplace_back(ErrorKind::kMissingField, path + ": app_id and task_id must be strings");
      continue;
    }
    task.app_id = app->GetString();
    task.task_id = id->GetString();
    const json::Value* cpu = json::find(c, "cpu");
    const json::Value* mem = json::find(c, "mem");
    std::string problem;
    const bool ok = optionalFigure(cpu, "reserved_cores", task.cpu_reserved, problem) &&
                    optionalFigure(cpu, "used_cores_avg", task.cpu_used_avg, problem) &&
                    optionalFigure(cpu, "used_cores_p95", task.cpu_used_p95, problem) &&
                    optionalFigure(cpu, "throttled_ratio", task.cpu_throttled, problem) &&
                    optionalFigure(mem, "reserved_bytes", task.mem_reserved_bytes, problem) &&
                    optionalFigure(mem, "used_bytes", task.mem_used_bytes, problem) &&
                    optionalFigure(mem, "used_bytes_peak", task.mem_peak_bytes, problem);
    if (!ok) {
      errors.emplace_back(ErrorKind::kInvalidValue, path + ": " + problem);
      continue;
    }
    out.push_back(std::move(task));
  }
  return out;
}

std::vector<GroupFigures> parseLagReport(std::string_view body, std::string_view source, std::vector<Error>& errors) {
  std::vector<GroupFigures> out;
  auto document = json::parse(body, source);
  if (!document) {
    errors.push_back(document.error());
    return out;
  }
  const json::Value* groups = json::find(*document, "groups");
  if (groups == nullptr || !groups->IsArray()) {
    errors.emplace_back(ErrorKind::kMalformed, std::string(source) + ": no groups array");
    return out;
  }
  std::size_t index = 0;
  for (const auto& g : groups->GetArray()) {
    const json::Value* name = json::find(g, "group");
    if (name == nullptr || !name->IsString()) {
      errors.emplace_back(ErrorKind::kMissingField,
                          std::string(source) + ": groups[" + std::to_string(index++) + "]: group must be a string");
      continue;
    }
    ++index;
    GroupFigures group;
    group.group = name->GetString();
    if (const json::Value* app = json::find(g, "app_id"); app && app->IsString()) group.app_id = app->GetString();
    if (const json::Value* status = json::find(g, "status"); status && status->IsString()) {
      group.status = status->GetString();
    }
    out.push_back(std::move(group));
  }
  return out;
}

HttpAgentSource::HttpAgentSource(HttpClient& http, Duration timeout, std::size_t parallel)
    : http_(http), timeout_(timeout), parallel_(std::max<std::size_t>(1, parallel)) {}

AgentReport HttpAgentSource::readOne(const std::string& url) {
  AgentReport report;
  report.url = url;
  auto containers = http_.get(url + "/v1/containers", timeout_);
  if (!containers) {
    report.errors.push_back(containers.error());
    return report;
  }
  if (containers->status != 200) {
    report.errors.emplace_back(ErrorKind::kHttpStatus,
                               "GET " + url + "/v1/containers: HTTP " + std::to_string(containers->status));
    return report;
  }
  report.reachable = true;
  report.tasks = parseContainersReport(containers->body, url + "/v1/containers", report.errors);
  auto lag = http_.get(url + "/v1/lag", timeout_);
  if (lag && lag->status == 200) {
    report.groups = parseLagReport(lag->body, url + "/v1/lag", report.errors);
  } else if (!lag) {
    report.errors.push_back(lag.error());
  }
  return report;
}

std::vector<AgentReport> HttpAgentSource::read(const std::vector<std::string>& agent_urls) {
  std::vector<AgentReport> reports(agent_urls.size());
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < agent_urls.size(); i = next++) reports[i] = readOne(agent_urls[i]);
  };
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < std::min(parallel_, agent_urls.size()); ++t) threads.emplace_back(worker);
  for (auto& thread : threads) thread.join();
  return reports;
}

std::vector<std::string> agentUrlsFromApp(const MarathonApp& agent_app) {
  std::vector<std::string> urls;
  for (const auto& task : agent_app.tasks) {
    if (task.host.empty() || task.ports.empty()) continue;
    std::string host = task.host;
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    urls.push_back("http://" + host + ":" + std::to_string(task.ports.front()));
  }
  std::sort(urls.begin(), urls.end());
  urls.erase(std::unique(urls.begin(), urls.end()), urls.end());
  return urls;
}

namespace {

// Why a task's figures cannot be true, or "" when they can.
std::string implausible(const TaskFigures& task, const FigureLimits& limits) {
  const auto number = [](double value) { return formatExact(value); };
  for (const auto& [name, value] :
       {std::pair{"cpu.used_cores_avg", task.cpu_used_avg}, std::pair{"cpu.used_cores_p95", task.cpu_used_p95}}) {
    if (value && *value > limits.max_cpus) {
      return std::string(name) + " " + number(*value) + " is above the ceiling of " + number(limits.max_cpus) +
             " cores (--max-cpus)";
    }
  }
  if (task.cpu_throttled && *task.cpu_throttled > 1) {
    return "cpu.throttled_ratio " + number(*task.cpu_throttled) + " is above 1";
  }
  for (const auto& [name, value] :
       {std::pair{"mem.used_bytes", task.mem_used_bytes}, std::pair{"mem.used_bytes_peak", task.mem_peak_bytes}}) {
    if (!value) continue;
    if (*value / kMiB > limits.max_mem_mib) {
      return std::string(name) + " " + number(*value) + " is above the ceiling of " + number(limits.max_mem_mib) +
             " MiB (--max-mem)";
    }
    if (task.mem_reserved_bytes && *task.mem_reserved_bytes > 0 &&
        *value > *task.mem_reserved_bytes * limits.mem_over_limit + 64 * kMiB) {
      return std::string(name) + " " + number(*value) + " is above the container's memory limit of " +
             number(*task.mem_reserved_bytes) + " bytes";
    }
  }
  return {};
}

bool fallingBehind(const std::string& status) {
  return status == "WARN" || status == "STALL" || status == "STOP" || status == "REWIND";
}

}  // namespace

std::map<std::string, AppUsage> summarize(const std::vector<AgentReport>& reports, const std::vector<MarathonApp>& apps,
                                          const FigureLimits& limits, std::vector<Error>* refused) {
  // Every task Marathon lists, with its app (task ids are unique).
  std::unordered_map<std::string_view, const MarathonApp*> known_tasks;
  std::size_t task_count = 0;
  for (const auto& app : apps) task_count += app.tasks.size();
  known_tasks.reserve(task_count);
  // The apps each consumer group guards, by the apps' labels.
  std::unordered_map<std::string, std::vector<const MarathonApp*>> labelled_groups;
  for (const auto& app : apps) {
    for (const auto& task : app.tasks) known_tasks.emplace(task.id, &app);
    if (auto label = app.labels.find("rightsize.kafka.groups"); label != app.labels.end()) {
      for (const auto& group : splitList(label->second, ',')) labelled_groups[group].push_back(&app);
    }
  }
  std::map<std::string, AppUsage> out;
  auto raise = [](std::optional<double>& into, std::optional<double> value) {
    if (value && (!into || *value > *into)) into = value;
  };
  for (const auto& report : reports) {
    for (const auto& task : report.tasks) {
      auto known = known_tasks.find(task.task_id);
      if (known == known_tasks.end() || known->second->id != task.app_id) continue;
      if (!task.cpu_used_avg) continue;  // a container seen once: no rate yet
      if (const std::string why = implausible(task, limits); !why.empty()) {
        if (refused != nullptr) {
          refused->emplace_back(ErrorKind::kInvalidValue, report.url + "/v1/containers: task " + task.task_id + " of " +
                                                              task.app_id + ": " + why + "; its figures are ignored");
        }
        continue;
      }
      AppUsage& usage = out[task.app_id];
      const MarathonApp& app = *known->second;
      if (task.cpu_reserved && std::abs(*task.cpu_reserved - (app.cpus + kExecutorCpus)) < 0.01) {
        usage.cpu_overhead = kExecutorCpus;
      }
      if (task.mem_reserved_bytes && std::abs(*task.mem_reserved_bytes / kMiB - (app.mem_mib + kExecutorMemMib)) < 1) {
        usage.mem_overhead_mib = kExecutorMemMib;
      }
      ++usage.tasks;
      raise(usage.cpu_used_avg, task.cpu_used_avg);
      raise(usage.cpu_used_p95, task.cpu_used_p95);
      usage.cpu_throttled = std::max(usage.cpu_throttled, task.cpu_throttled.value_or(0));
      if (task.mem_used_bytes) raise(usage.mem_used_mib, *task.mem_used_bytes / kMiB);
      if (task.mem_peak_bytes) raise(usage.mem_peak_mib, *task.mem_peak_bytes / kMiB);
      if (task.mem_used_bytes && task.mem_reserved_bytes && *task.mem_reserved_bytes > 0 &&
          *task.mem_used_bytes >= 0.95 * *task.mem_reserved_bytes) {
        usage.mem_near_limit = true;
      }
    }
    for (const auto& group : report.groups) {
      if (!fallingBehind(group.status)) continue;
      if (!group.app_id.empty()) out[group.app_id].lag_growing = true;
      if (auto labelled = labelled_groups.find(group.group); labelled != labelled_groups.end()) {
        for (const MarathonApp* app : labelled->second) out[app->id].lag_growing = true;
      }
    }
  }
  return out;
}

}  // namespace rightsize::sizing
