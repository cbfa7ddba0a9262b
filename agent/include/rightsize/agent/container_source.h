#pragma once

// One boundary for every way of measuring containers: the Mesos agent's HTTP
// API or the cgroup file system. A source returns raw, cumulative readings;
// rates, averages and lying factors are computed by ContainerTracker, the same
// way whatever the source.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rightsize/core/clock.h"
#include "rightsize/core/status.h"

namespace rightsize::agent {

// Who a container belongs to. Empty strings mean "unknown".
struct ContainerIdentity {
  std::string container_id;   // Mesos ContainerID (cgroup directory name) or Docker id
  std::string app_id;         // Marathon app id, e.g. "/web"
  std::string task_id;        // Mesos task id
  std::string env;            // from the task label "env" or the agent attribute "env"
  std::string instance_type;  // from the agent attribute "instance_type" or --instance-type
  std::string kafka_groups;   // raw value of the app's rightsize.kafka.groups label
  // A nested container (e.g. a task of a pod) whose usage is also counted in
  // its parent's; excluded from host totals to avoid counting it twice.
  bool nested = false;
};

// One reading of one container. Counters are cumulative since the container
// started; all values are in base units.
struct ContainerSample {
  ContainerIdentity identity;
  TimePoint at;                                        // when the reading was taken (source's clock)
  double cpu_seconds = 0;                              // user + system CPU time consumed so far
  std::optional<double> reserved_cores;                // hard limit, cfs quota, or shares/1024
  std::optional<std::uint64_t> cfs_periods;            // CFS periods elapsed (counter)
  std::optional<std::uint64_t> cfs_throttled_periods;  // periods throttled (counter)
  std::optional<std::uint64_t> memory_used_bytes;      // resident: anonymous + mapped file
  std::optional<std::uint64_t> memory_limit_bytes;     // none when unlimited
};

struct SourceReading {
  std::vector<ContainerSample> containers;
  // Problems met while reading; each also means that the sample or field it
  // names was skipped.
  std::vector<Error> errors;
  // Containers that were listed but could not be read this time: they have
  // not vanished, and their history must be kept.
  std::vector<std::string> unreadable;
  // False when the listing of containers could not be obtained (e.g. the
  // Mesos agent is down): containers missing from `containers` have then not
  // necessarily vanished.
  bool complete = true;
  std::optional<double> host_capacity_cores;
};

// Thread-safety: read() is called from one thread at a time.
class ContainerSource {
 public:
  virtual ~ContainerSource() = default;
  // Short name used as the `source` label of error metrics: "mesos", "cgroups".
  virtual std::string_view name() const = 0;
  // Never throws; failures are reported in the reading.
  virtual SourceReading read() = 0;
};

}  // namespace rightsize::agent
