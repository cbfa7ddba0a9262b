#pragma once

// Pure parsers for cgroup (v1 and v2) and /proc files, tested on literal
// strings. Reading the files is CgroupSource's job.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rightsize/core/status.h"

namespace rightsize::agent {

// A file holding one unsigned integer, e.g. cpuacct.usage, cpu.shares.
Expected<std::uint64_t> parseSingleValue(std::string_view text);

// The value of `key` in a "key value" per line file (cpu.stat, memory.stat);
// nullopt when the key is absent, an error when its value is not a number.
Expected<std::optional<std::uint64_t>> parseKeyedValue(std::string_view text, std::string_view key);

// cpu.cfs_quota_us: -1 (no quota) gives nullopt.
Expected<std::optional<std::uint64_t>> parseCfsQuota(std::string_view text);

// memory.limit_in_bytes: values at or above 2^62 mean "no limit" (the kernel
// writes PAGE_COUNTER_MAX rounded to pages) and give nullopt.
Expected<std::optional<std::uint64_t>> parseMemoryLimitV1(std::string_view text);

// memory.soft_limit_in_bytes, the request: as memory.limit_in_bytes, and 0
// (which neither Mesos nor Docker writes) is none too.
Expected<std::optional<std::uint64_t>> parseMemorySoftLimitV1(std::string_view text);

struct CpuMax {
  std::optional<std::uint64_t> quota_us;  // nullopt for "max"
  std::uint64_t period_us = 100000;
};
// cgroup v2 cpu.max: "max 100000" or "50000 100000".
Expected<CpuMax> parseCpuMax(std::string_view text);

// cgroup v2 memory.max: "max" gives nullopt.
Expected<std::optional<std::uint64_t>> parseMemoryMaxV2(std::string_view text);

// cgroup v2 memory.low, the request (Mesos' soft limit, Docker's
// --memory-reservation): "max" and 0 (the default: no protection) give
// nullopt.
Expected<std::optional<std::uint64_t>> parseMemoryLowV2(std::string_view text);

// Cores a container may use, its limit: quota/period when a CFS quota is set.
double reservedCoresFromCfs(std::uint64_t quota_us, std::uint64_t period_us);
// Cores a container asks for, its request: shares/1024 (Mesos writes
// cpu.shares = 1024 * cpus, rounded down).
double reservedCoresFromShares(std::uint64_t shares);
// cgroup v2 cpu.weight (1..10000) mapped back to v1 shares, as the kernel and
// runc convert between them: weight = 1 + (shares - 2) * 9999 / 262142.
double reservedCoresFromWeight(std::uint64_t weight);

// How far below the true request in cores the two figures above may be:
// shares are whole 1024ths of a core; a weight, rounded down from shares,
// stands for some 26 shares more. A request closer than this to the limit
// is the limit (see reservedCores()).
inline constexpr double kSharesToleranceCores = 1.0 / 1024.0;
inline constexpr double kWeightToleranceCores = (262142.0 / 9999.0 + 1.0) / 1024.0;

// PIDs listed in cgroup.procs (one per line).
Expected<std::vector<int>> parseCgroupProcs(std::string_view text);

// What a task's environment (/proc/<pid>/environ, NUL-separated) says about
// whom it belongs to.
struct TaskEnvironment {
  std::string app_id;        // MARATHON_APP_ID
  std::string task_id;       // MESOS_TASK_ID
  std::string env;           // MARATHON_APP_LABEL_ENV
  std::string kafka_groups;  // MARATHON_APP_LABEL_RIGHTSIZE_KAFKA_GROUPS (label rightsize.kafka.groups)
};
TaskEnvironment parseTaskEnvironment(std::string_view environ);

}  // namespace rightsize::agent
