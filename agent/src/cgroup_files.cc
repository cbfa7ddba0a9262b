#include "rightsize/agent/cgroup_files.h"

#include "rightsize/core/text.h"

namespace rightsize::agent {
namespace {

Error notANumber(std::string_view what, std::string_view text) {
  std::string shown(trim(text).substr(0, 40));
  return Error(ErrorKind::kMalformed, std::string(what) + ": expected a number, got '" + shown + "'");
}

}  // namespace

Expected<std::uint64_t> parseSingleValue(std::string_view text) {
  const auto value = parseUint64(text);
  if (!value) return notANumber("value", text);
  return *value;
}

Expected<std::optional<std::uint64_t>> parseKeyedValue(std::string_view text, std::string_view key) {
  while (!text.empty()) {
    const auto end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    if (line.size() > key.size() && line.starts_with(key) && line[key.size()] == ' ') {
      const std::string_view value_text = line.substr(key.size() + 1);
      const auto value = parseUint64(value_text);
      if (!value) return notANumber(key, value_text);
      return std::optional<std::uint64_t>(*value);
    }
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return std::optional<std::uint64_t>();
}

Expected<std::optional<std::uint64_t>> parseCfsQuota(std::string_view text) {
  const auto value = parseInt64(text);
  if (!value) return notANumber("cpu.cfs_quota_us", text);
  if (*value < 0) return std::optional<std::uint64_t>();
  return std::optional<std::uint64_t>(static_cast<std::uint64_t>(*value));
}

Expected<std::optional<std::uint64_t>> parseMemoryLimitV1(std::string_view text) {
  const auto value = parseUint64(text);
  if (!value) return notANumber("memory.limit_in_bytes", text);
  if (*value >= (std::uint64_t{1} << 62)) return std::optional<std::uint64_t>();
  return std::optional<std::uint64_t>(*value);
}

Expected<std::optional<std::uint64_t>> parseMemorySoftLimitV1(std::string_view text) {
  const auto value = parseUint64(text);
  if (!value) return notANumber("memory.soft_limit_in_bytes", text);
  if (*value == 0 || *value >= (std::uint64_t{1} << 62)) return std::optional<std::uint64_t>();
  return std::optional<std::uint64_t>(*value);
}

Expected<CpuMax> parseCpuMax(std::string_view text) {
  text = trim(text);
  const auto space = text.find(' ');
  const std::string_view quota = text.substr(0, space);
  CpuMax out;
  if (space != std::string_view::npos) {
    const auto period = parseUint64(text.substr(space + 1));
    if (!period || *period == 0) return notANumber("cpu.max period", text.substr(space + 1));
    out.period_us = *period;
  }
  if (quota != "max") {
    const auto value = parseUint64(quota);
    if (!value) return notANumber("cpu.max quota", quota);
    out.quota_us = *value;
  }
  return out;
}

Expected<std::optional<std::uint64_t>> parseMemoryMaxV2(std::string_view text) {
  if (trim(text) == "max") return std::optional<std::uint64_t>();
  const auto value = parseUint64(text);
  if (!value) return notANumber("memory.max", text);
  return std::optional<std::uint64_t>(*value);
}

Expected<std::optional<std::uint64_t>> parseMemoryLowV2(std::string_view text) {
  if (trim(text) == "max") return std::optional<std::uint64_t>();
  const auto value = parseUint64(text);
  if (!value) return notANumber("memory.low", text);
  if (*value == 0) return std::optional<std::uint64_t>();
  return std::optional<std::uint64_t>(*value);
}

double reservedCoresFromCfs(std::uint64_t quota_us, std::uint64_t period_us) {
  return period_us == 0 ? 0.0 : static_cast<double>(quota_us) / static_cast<double>(period_us);
}

double reservedCoresFromShares(std::uint64_t shares) { return static_cast<double>(shares) / 1024.0; }

double reservedCoresFromWeight(std::uint64_t weight) {
  if (weight < 1) weight = 1;
  const double shares = 2.0 + static_cast<double>(weight - 1) * 262142.0 / 9999.0;
  return shares / 1024.0;
}

Expected<std::vector<int>> parseCgroupProcs(std::string_view text) {
  std::vector<int> pids;
  for (const auto& line : splitList(text, '\n')) {
    const auto pid = parseUint64(line);
    if (!pid || *pid == 0 || *pid > 0x7fffffff) return notANumber("cgroup.procs", line);
    pids.push_back(static_cast<int>(*pid));
  }
  return pids;
}

TaskEnvironment parseTaskEnvironment(std::string_view environ) {
  TaskEnvironment out;
  while (!environ.empty()) {
    const auto end = environ.find('\0');
    const std::string_view entry = environ.substr(0, end);
    const auto equals = entry.find('=');
    if (equals != std::string_view::npos) {
      const std::string_view name = entry.substr(0, equals);
      const std::string_view value = entry.substr(equals + 1);
      if (name == "MARATHON_APP_ID") {
        out.app_id = value;
      } else if (name == "MESOS_TASK_ID") {
        out.task_id = value;
      } else if (name == "MARATHON_APP_LABEL_ENV") {
        out.env = value;
      } else if (name == "MARATHON_APP_LABEL_RIGHTSIZE_KAFKA_GROUPS") {
        out.kafka_groups = value;
      }
    }
    if (end == std::string_view::npos) break;
    environ.remove_prefix(end + 1);
  }
  return out;
}

}  // namespace rightsize::agent
