#include "rightsize/agent/mesos_json.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <utility>

#include "rightsize/core/json.h"

namespace rightsize::agent {
namespace {

// At or above this a memory limit means "none" (the kernel's
// PAGE_COUNTER_MAX, rounded to pages, is just below 2^63).
constexpr std::uint64_t kUnlimitedBytes = std::uint64_t{1} << 62;

std::string indexPath(std::string_view base, std::size_t index) {
  return std::string(base) + "[" + std::to_string(index) + "]";
}

// Optional non-negative integer counters; Mesos writes some as doubles.
Expected<std::optional<std::uint64_t>> optionalCount(const json::Value& object, std::string_view name,
                                                     std::string_view path) {
  auto number = json::getOptionalNumber(object, name, path);
  if (!number) return number.error();
  if (!number->has_value()) return std::optional<std::uint64_t>();
  const double value = std::round(**number);
  if (value < 0 || value >= 18446744073709551616.0) {  // 2^64
    return Error(ErrorKind::kInvalidValue, std::string(path) + "." + std::string(name) + ": " +
                                               std::to_string(**number) + " is not a valid non-negative count");
  }
  return std::optional<std::uint64_t>(static_cast<std::uint64_t>(value));
}

Expected<double> nonNegative(const json::Value& object, std::string_view name, std::string_view path) {
  auto number = json::getNumber(object, name, path);
  if (!number) return number.error();
  if (*number < 0) {
    return Error(ErrorKind::kInvalidValue,
                 std::string(path) + "." + std::string(name) + ": negative value " + std::to_string(*number));
  }
  return *number;
}

Expected<MesosExecutorStatistics> parseStatisticsEntry(const json::Value& entry, const std::string& path) {
  if (!entry.IsObject()) {
    return Error(ErrorKind::kInvalidValue, path + ": expected an object, got " + std::string(json::typeName(entry)));
  }
  MesosExecutorStatistics out;
  auto executor_id = json::getString(entry, "executor_id", path);
  if (!executor_id) return executor_id.error();
  out.executor_id = std::move(*executor_id);
  auto framework_id = json::getOptionalString(entry, "framework_id", path);
  if (!framework_id) return framework_id.error();
  out.framework_id = framework_id->value_or("");

  const json::Value* statistics = json::find(entry, "statistics");
  const std::string stats_path = path + ".statistics";
  if (statistics == nullptr) return Error(ErrorKind::kMissingField, stats_path + ": missing");
  if (!statistics->IsObject()) {
    return Error(ErrorKind::kInvalidValue,
                 stats_path + ": expected an object, got " + std::string(json::typeName(*statistics)));
  }
  auto timestamp = nonNegative(*statistics, "timestamp", stats_path);
  if (!timestamp) return timestamp.error();
  // Unix seconds between 2001 and 2286: anything else is not a clock reading.
  if (*timestamp < 1e9 || *timestamp >= 1e10) {
    return Error(ErrorKind::kInvalidValue,
                 stats_path + ".timestamp: " + std::to_string(*timestamp) + " is not a plausible Unix time");
  }
  out.timestamp_seconds = *timestamp;
  auto user = nonNegative(*statistics, "cpus_user_time_secs", stats_path);
  if (!user) return user.error();
  auto system = nonNegative(*statistics, "cpus_system_time_secs", stats_path);
  if (!system) return system.error();
  out.cpu_seconds = *user + *system;
  if (!std::isfinite(out.cpu_seconds)) {
    return Error(ErrorKind::kInvalidValue,
                 stats_path + ": cpus_user_time_secs + cpus_system_time_secs is not a finite number");
  }

  for (const auto& [name, field] :
       {std::pair{"cpus_limit", &MesosExecutorStatistics::cpus_limit},
        std::pair{"cpus_soft_limit", &MesosExecutorStatistics::cpus_soft_limit},
        std::pair{"cpus_throttled_time_secs", &MesosExecutorStatistics::cpus_throttled_time_secs}}) {
    auto cores = json::getOptionalNumber(*statistics, name, stats_path);
    if (!cores) return cores.error();
    if (cores->has_value() && **cores < 0) {
      return Error(ErrorKind::kInvalidValue, stats_path + "." + name + ": negative value");
    }
    out.*field = *cores;
  }

  auto periods = optionalCount(*statistics, "cpus_nr_periods", stats_path);
  if (!periods) return periods.error();
  out.cpus_nr_periods = *periods;
  auto throttled = optionalCount(*statistics, "cpus_nr_throttled", stats_path);
  if (!throttled) return throttled.error();
  out.cpus_nr_throttled = *throttled;

  auto rss = optionalCount(*statistics, "mem_rss_bytes", stats_path);
  if (!rss) return rss.error();
  auto mapped = optionalCount(*statistics, "mem_mapped_file_bytes", stats_path);
  if (!mapped) return mapped.error();
  auto total = optionalCount(*statistics, "mem_total_bytes", stats_path);
  if (!total) return total.error();
  if (rss->has_value()) {
    if (**rss > std::numeric_limits<std::uint64_t>::max() - mapped->value_or(0)) {
      return Error(ErrorKind::kInvalidValue,
                   stats_path + ": mem_rss_bytes + mem_mapped_file_bytes is beyond 2^64 bytes");
    }
    out.memory_used_bytes = **rss + mapped->value_or(0);
  } else {
    out.memory_used_bytes = *total;
  }
  auto memory_limit = optionalCount(*statistics, "mem_limit_bytes", stats_path);
  if (!memory_limit) return memory_limit.error();
  // Without a limit Mesos reports the kernel's "unlimited" (about 2^63).
  if (memory_limit->has_value() && **memory_limit < kUnlimitedBytes) out.memory_limit_bytes = *memory_limit;
  auto soft_limit = optionalCount(*statistics, "mem_soft_limit_bytes", stats_path);
  if (!soft_limit) return soft_limit.error();
  if (soft_limit->has_value() && **soft_limit > 0 && **soft_limit < kUnlimitedBytes) {
    out.memory_soft_limit_bytes = *soft_limit;
  }
  return out;
}

// Task labels appear as [{"key":..,"value":..}] in agent state and as
// {"labels": [...]} in some versions; returns the value of `key`.
std::string labelValue(const json::Value& task, std::string_view key) {
  const json::Value* labels = json::find(task, "labels");
  if (labels != nullptr && labels->IsObject()) labels = json::find(*labels, "labels");
  if (labels == nullptr || !labels->IsArray()) return {};
  for (const auto& label : labels->GetArray()) {
    const json::Value* k = json::find(label, "key");
    const json::Value* v = json::find(label, "value");
    if (k != nullptr && v != nullptr && k->IsString() && v->IsString() &&
        std::string_view(k->GetString(), k->GetStringLength()) == key) {
      return std::string(v->GetString(), v->GetStringLength());
    }
  }
  return {};
}

std::string scalarText(const json::Value& value) {
  if (value.IsString()) return std::string(value.GetString(), value.GetStringLength());
  if (value.IsInt64()) return std::to_string(value.GetInt64());
  if (value.IsNumber()) {
    std::string text = std::to_string(value.GetDouble());
    text.erase(text.find_last_not_of('0') + 1);
    if (!text.empty() && text.back() == '.') text.pop_back();
    return text;
  }
  return {};
}

bool isUuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !std::isxdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

bool isMarathonFramework(std::string_view name) { return name.find("marathon") != std::string_view::npos; }

}  // namespace

Expected<ParsedStatistics> parseMonitorStatistics(std::string_view body, std::string_view source) {
  auto document = json::parse(body, source);
  if (!document) return document.error();
  if (!document->IsArray()) {
    return Error(ErrorKind::kMalformed, std::string(source) + ": expected a JSON array of executors, got " +
                                            std::string(json::typeName(*document)));
  }
  ParsedStatistics out;
  std::size_t index = 0;
  for (const auto& entry : document->GetArray()) {
    auto parsed = parseStatisticsEntry(entry, indexPath("statistics", index++));
    if (parsed) {
      out.executors.push_back(std::move(*parsed));
      continue;
    }
    out.errors.push_back(parsed.error().withContext(source));
    const json::Value* executor_id = json::find(entry, "executor_id");
    const json::Value* framework_id = json::find(entry, "framework_id");
    if (executor_id != nullptr && executor_id->IsString()) {
      out.skipped.emplace_back(framework_id != nullptr && framework_id->IsString() ? framework_id->GetString() : "",
                               executor_id->GetString());
    }
  }
  return out;
}

Expected<ParsedState> parseAgentState(std::string_view body, std::string_view source) {
  // Mesos 1.10+ lists a task's "unlimited" resource limit as the bare token
  // Infinity ("limits": {"cpus": Infinity}): one such task must not cost the
  // whole mapping.
  auto document = json::parseAllowingNonFinite(body, source);
  if (!document) return document.error();
  if (!document->IsObject()) {
    return Error(ErrorKind::kMalformed,
                 std::string(source) + ": expected a JSON object, got " + std::string(json::typeName(*document)));
  }
  ParsedState out;
  auto& state = out.state;
  if (auto hostname = json::getOptionalString(*document, "hostname", ""); hostname && hostname->has_value()) {
    state.hostname = **hostname;
  }
  if (const json::Value* resources = json::find(*document, "resources")) {
    auto cpus = json::getOptionalNumber(*resources, "cpus", "resources");
    if (!cpus) {
      out.errors.push_back(cpus.error().withContext(source));
    } else if (cpus->has_value() && **cpus > 0) {
      state.cpus = **cpus;
    }
    auto mem = json::getOptionalNumber(*resources, "mem", "resources");
    if (!mem) {
      out.errors.push_back(mem.error().withContext(source));
    } else if (mem->has_value() && **mem > 0) {
      state.mem_mib = **mem;
    }
  }
  // The agent's fault domain, when the operator gave it one (--domain).
  if (const json::Value* domain = json::find(*document, "domain")) {
    const json::Value* zone = json::find(*domain, "fault_domain");
    zone = zone != nullptr ? json::find(*zone, "zone") : nullptr;
    if (zone != nullptr) {
      auto name = json::getOptionalString(*zone, "name", "domain.fault_domain.zone");
      if (!name) {
        out.errors.push_back(name.error().withContext(source));
      } else if (name->has_value()) {
        state.zone = **name;
      }
    }
  }
  if (const json::Value* attributes = json::find(*document, "attributes"); attributes && attributes->IsObject()) {
    for (const auto& member : attributes->GetObject()) {
      std::string text = scalarText(member.value);
      if (!text.empty()) state.attributes.emplace(member.name.GetString(), std::move(text));
    }
  }
  const json::Value* frameworks = json::find(*document, "frameworks");
  if (frameworks == nullptr) return out;
  if (!frameworks->IsArray()) {
    out.errors.emplace_back(ErrorKind::kInvalidValue, std::string(source) + ": frameworks: expected an array");
    return out;
  }
  std::size_t framework_index = 0;
  for (const auto& framework : frameworks->GetArray()) {
    const std::string framework_path = indexPath("frameworks", framework_index++);
    auto framework_id = json::getOptionalString(framework, "id", framework_path);
    auto framework_name = json::getOptionalString(framework, "name", framework_path);
    if (!framework_id || !framework_name) {
      out.errors.push_back((framework_id ? framework_name.error() : framework_id.error()).withContext(source));
      continue;
    }
    const bool marathon = isMarathonFramework(framework_name->value_or(""));
    if (marathon && framework_id->has_value()) state.marathon_framework_ids.push_back(**framework_id);
    const json::Value* executors = json::find(framework, "executors");
    if (executors == nullptr) continue;
    if (!executors->IsArray()) {
      out.errors.emplace_back(ErrorKind::kInvalidValue,
                              std::string(source) + ": " + framework_path + ".executors: expected an array");
      continue;
    }
    std::size_t executor_index = 0;
    for (const auto& executor : executors->GetArray()) {
      const std::string path = framework_path + indexPath(".executors", executor_index++);
      auto id = json::getString(executor, "id", path);
      if (!id) {
        out.errors.push_back(id.error().withContext(source));
        continue;
      }
      auto container = json::getOptionalString(executor, "container", path);
      if (!container) {
        out.errors.push_back(container.error().withContext(source));
        continue;
      }
      MesosExecutor entry;
      entry.framework_id = framework_id->value_or("");
      entry.executor_id = std::move(*id);
      entry.container_id = container->value_or(entry.executor_id);
      const json::Value* tasks = json::find(executor, "tasks");
      if (tasks != nullptr && tasks->IsArray() && !tasks->Empty()) {
        const json::Value& task = (*tasks)[0];
        if (auto task_id = json::getOptionalString(task, "id", path + ".tasks[0]"); task_id && task_id->has_value()) {
          entry.task_id = **task_id;
        }
        entry.env = labelValue(task, "env");
        entry.kafka_groups = labelValue(task, "rightsize.kafka.groups");
      }
      if (entry.task_id.empty()) entry.task_id = entry.executor_id;  // command executors: executor id == task id
      if (marathon) entry.app_id = appIdFromMarathonTaskId(entry.task_id).value_or("");
      state.executors.push_back(std::move(entry));
    }
  }
  return out;
}

std::optional<std::string> appIdFromMarathonTaskId(std::string_view task_id) {
  // "<app>.<marker><uuid>" followed by the end or ".<container>.<n>"; the
  // last match wins, since app names may themselves contain dots.
  std::string_view safe;
  for (std::size_t dot = task_id.rfind('.'); dot != std::string_view::npos && dot > 0;
       dot = task_id.rfind('.', dot - 1)) {
    std::string_view rest = task_id.substr(dot + 1);
    for (std::string_view marker : {"instance-", "marathon-", ""}) {
      if (!rest.starts_with(marker)) continue;
      const std::string_view uuid = rest.substr(marker.size(), 36);
      const std::string_view after = rest.substr(std::min(rest.size(), marker.size() + 36));
      const bool legacy = marker.empty();
      if (isUuid(uuid) && (after.empty() || (!legacy && after.starts_with('.')))) {
        safe = task_id.substr(0, dot);
        break;
      }
    }
    if (!safe.empty()) break;
  }
  if (safe.empty()) return std::nullopt;
  std::string app = "/";
  app.append(safe);
  std::replace(app.begin(), app.end(), '_', '/');
  return app;
}

}  // namespace rightsize::agent
