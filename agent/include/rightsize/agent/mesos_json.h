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
  std::optional<double> cpus_limit;
  std::optional<std::uint64_t> cpus_nr_periods;
  std::optional<std::uint64_t> cpus_nr_throttled;
  // mem_rss_bytes (anonymous, since Mesos 0.23) + mem_mapped_file_bytes;
  // mem_total_bytes when the former is absent.
  std::optional<std::uint64_t> memory_used_bytes;
  std::optional<std::uint64_t> memory_limit_bytes;
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
  std::map<std::string, std::string> attributes;
  std::vector<MesosExecutor> executors;
};

struct ParsedState {
  MesosAgentState state;
  std::vector<Error> errors;
};

Expected<ParsedState> parseAgentState(std::string_view body, std::string_view source);

// The Marathon app id encoded in a Marathon task id, or nullopt when the id
// has none of Marathon's formats:
//   "<app>.<uuid>" (legacy), "<app>.instance-<uuid>.<container>.<n>",
//   "<app>.marathon-<uuid>", where <app> is the app path with '/' written
//   as '_' (Marathon ids cannot contain '_', so the mapping is exact).
std::optional<std::string> appIdFromMarathonTaskId(std::string_view task_id);

}  // namespace rightsize::agent
