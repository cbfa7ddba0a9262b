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
#include "rightsize/wire/containers_report.h"

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
//
// A container may have a request (what the allocator reserves for it: CPU
// shares, a memory soft limit) below its limit (what it may use: the CFS
// quota, the memory hard limit), as Marathon's `resourceLimits` give it on
// Mesos 1.10 and later. Without one the request is the limit, and a source
// that knows only one figure fills only `reserved_cores` and
// `memory_limit_bytes`.
struct ContainerSample {
  ContainerIdentity identity;
  TimePoint at;                                        // when the reading was taken (source's clock)
  double cpu_seconds = 0;                              // user + system CPU time consumed so far
  std::optional<double> reserved_cores;                // the CPU request (see reservedCores()); the limit without one
  std::optional<double> limit_cores;                   // CPU hard limit (CFS quota); none when unlimited or unknown
  std::optional<std::uint64_t> cfs_periods;            // CFS periods elapsed (counter)
  std::optional<std::uint64_t> cfs_throttled_periods;  // periods throttled (counter)
  // How long the CFS quota held the container's runqueues back, summed over
  // the CPUs (counter; cgroup v1 throttled_time, v2 throttled_usec, Mesos
  // cpus_throttled_time_secs): per second of wall time, about the cores of
  // demand the quota left waiting (ContainerStats::throttled_cores).
  std::optional<double> cfs_throttled_seconds;
  std::optional<std::uint64_t> memory_used_bytes;   // resident: anonymous + mapped file
  std::optional<std::uint64_t> memory_limit_bytes;  // hard limit; none when unlimited
  // The memory request (soft limit); none when not set. It is what the
  // container reserves when below memory_limit_bytes (or without one);
  // otherwise the hard limit is.
  std::optional<std::uint64_t> memory_request_bytes;
};

// What a container reserves in CPU from its request (Mesos' cpus_soft_limit,
// cpu.shares or cpu.weight) and its hard limit (Mesos' cpus_limit, the CFS
// quota), the request being known to within `tolerance_cores` (shares are
// whole 1/1024ths of a core): the request when it is below the limit by more
// than that, else the limit, which is then the same figure exactly encoded
// (a request above its limit reserves no more than the limit). Either alone
// when the other is unknown.
inline std::optional<double> reservedCores(std::optional<double> request_cores, std::optional<double> limit_cores,
                                           double tolerance_cores = 0) {
  if (!limit_cores) return request_cores;
  if (request_cores && *request_cores + tolerance_cores < *limit_cores) return request_cores;
  return limit_cores;
}

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
  // The host: its capacity and where it stands (instance type, zone,
  // lifecycle "spot" or "on-demand"; "" when not known), for the sizer's
  // fleet capacity (docs/capacity.md).
  std::optional<double> host_capacity_cores;
  std::optional<double> host_capacity_bytes;
  wire::HostPlace host_place;
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
