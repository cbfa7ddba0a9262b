#pragma once

// Pure parsers for the Mesos agent's /monitor/statistics and /state bodies
// (field meanings: shared/reference/mesos, NOTES_cgroups_and_mapping.txt).
// A body that is not JSON at all fails as a whole; an entry with a bad field
// is skipped and reported, the others are kept.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rightsize/core/status.h"

namespace rightsize::agent {

struct MesosExecutorStatistics {
  std::string framework_id;
  std::string executor_id;
  double timestamp_seconds = 0;  // Mesos' own snapshot time
  double cpu_seconds = 0;        // cpus_user_time_secs + cpus_system_time_secs
  // The hard limit: the CFS quota, the request itself without a separate
  // limit (and, before Mesos 1.10, also without CFS), the host's CPU count
  // for an "unlimited" one; absent on Mesos 1.10+ for a task without a limit
  // on an agent without --cgroups_enable_cfs.
  std::optional<double> cpus_limit;
  // The request (cpu.shares), Mesos 1.10+; absent before.
  std::optional<double> cpus_soft_limit;
  std::optional<std::uint64_t> cpus_nr_periods;
  std::optional<std::uint64_t> cpus_nr_throttled;
  std::optional<double> cpus_throttled_time_secs;  // cpu.stat's throttled_time
  // mem_rss_bytes (anonymous, since Mesos 0.23) + mem_mapped_file_bytes;
  // mem_total_bytes when the former is absent.
  std::optional<std::uint64_t> memory_used_bytes;
  // mem_limit_bytes, the hard limit (the request without a separate limit,
  // the host's memory for an "unlimited" one); none at or above 2^62.
  std::optional<std::uint64_t> memory_limit_bytes;
  // mem_soft_limit_bytes, the request, Mesos 1.10+ (the Docker
  // containerizer: only with a separate limit); none when 0 or at or above
  // 2^62.
  std::optional<std::uint64_t> memory_soft_limit_bytes;
};

struct ParsedStatistics {
  std::vector<MesosExecutorStatistics> executors;
  std::vector<Error> errors;  // one per skipped entry
  // (framework id, executor id) of skipped entries that named their
  // executor: those executors are still there, only unreadable this time.
  std::vector<std::pair<std::string, std::string>> skipped;
};

// `source` names the URL or file for messages.
Expected<ParsedStatistics> parseMonitorStatistics(std::string_view body, std::string_view source);

struct MesosExecutor {
  std::string framework_id;
  std::string executor_id;
  std::string container_id;  // executors[].container; the executor id when absent (old agents)
  std::string task_id;       // the executor's first task
  std::string app_id;        // from the Marathon task id; empty for other frameworks
  std::string env;           // task label "env"
  std::string kafka_groups;  // task label "rightsize.kafka.groups"
};

struct MesosAgentState {
  std::string hostname;
  std::vector<std::string> marathon_framework_ids;  // frameworks named like "marathon"
  std::optional<double> cpus;                       // resources.cpus: the agent's CPU capacity
  std::optional<double> mem_mib;                    // resources.mem: its memory for tasks
  std::string zone;  // domain.fault_domain.zone.name (Mesos 1.5+), "" when not configured
  std::map<std::string, std::string> attributes;
  std::vector<MesosExecutor> executors;
};

struct ParsedState {
  MesosAgentState state;
  std::vector<Error> errors;
};

// NaN and Infinity, which Mesos writes for non-finite numbers (a task's
// "unlimited" resource limit), are read as numbers.
Expected<ParsedState> parseAgentState(std::string_view body, std::string_view source);

// The Marathon app id encoded in a Marathon task id, or nullopt when the id
// has none of Marathon's formats:
//   "<app>.<uuid>" (legacy), "<app>.instance-<uuid>.<container>.<n>",
//   "<app>.marathon-<uuid>", where <app> is the app path with '/' written
//   as '_' (Marathon ids cannot contain '_', so the mapping is exact).
std::optional<std::string> appIdFromMarathonTaskId(std::string_view task_id);

}  // namespace rightsize::agent
