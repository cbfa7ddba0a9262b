#pragma once

// Measures containers straight from the cgroup file system, for hosts where
// the Mesos agent's API is not reachable or too coarse.
//
// Layouts understood (v1 hierarchies under `root`, e.g. /sys/fs/cgroup/cpuacct,
// found whether controllers are mounted apart or together as cpu,cpuacct; v2
// when `root` itself is a unified hierarchy):
//   <prefix>/<id>                      Mesos containerizer (prefix "mesos")
//   <prefix>/<parent>/mesos/<child>    Mesos nested containers, id "parent.child"
//   docker/<id>                        Docker's cgroupfs driver
//   system.slice/docker-<id>.scope     Docker's systemd driver (the default
//                                      on cgroup v2), id "<id>"
// The owning app and task come from /proc/<pid>/environ of a process in the
// container (MARATHON_APP_ID, MESOS_TASK_ID, MARATHON_APP_LABEL_ENV), looked
// up once per container and retried every `identity_retry` until found.
//
// Usage counters (CPU time, throttling, memory) are read every cycle; limits
// and requests (CFS quota and period, shares, memory hard and soft limits;
// v2: cpu.max, cpu.weight, memory.max, memory.low) change only when a
// container is updated, so they are re-read every `limits_refresh`. That
// halves the files read per cycle (bench/agent_bench, docs/benchmarks.md).
//
// The CPU request is the shares (v2: the weight), the limit the CFS quota;
// the reservation is the request when it is below the limit (or there is no
// quota), else the limit (reservedCores()). A container whose shares and
// quota stand for the same cores, as Mesos writes them without a separate
// limit, so reserves its quota, exactly.

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "rightsize/agent/cgroup_files.h"
#include "rightsize/agent/container_source.h"
#include "rightsize/core/filesystem.h"

namespace rightsize::agent {

struct CgroupSourceOptions {
  std::string root = "/sys/fs/cgroup";
  std::string prefix = "mesos";  // may contain '/', e.g. "test-scratch/mesos"
  std::string docker_prefix = "docker";
  // Where Docker's systemd driver puts container scopes (dockerd's
  // --cgroup-parent, "system.slice" by default); may be a path.
  std::string docker_slice = "system.slice";
  std::string proc_root = "/proc";
  std::optional<double> host_cores;  // reported as capacity; unknown when unset
  std::optional<double> host_bytes;  // the host's memory, reported as capacity
  std::string instance_type;
  std::string zone;
  std::string lifecycle;
  Duration identity_retry = std::chrono::seconds(30);
  Duration limits_refresh = std::chrono::minutes(1);
  int max_nesting = 4;
  std::size_t max_pids_examined = 8;
};

class CgroupSource final : public ContainerSource {
 public:
  CgroupSource(const FileSystem& fs, const Clock& clock, CgroupSourceOptions options);

  std::string_view name() const override { return "cgroups"; }
  SourceReading read() override;

  enum class Version { kUnknown, kV1, kV2 };
  Version version() const { return version_; }

 private:
  struct Location {
    std::string relative;  // path below the hierarchy root, e.g. "mesos/<id>"
    std::string container_id;
    bool nested = false;
  };
  // What is remembered of a container between reads.
  struct Known {
    TaskEnvironment environment;
    bool identity_resolved = false;
    TimePoint identity_due{};
    std::optional<double> reserved_cores;
    std::optional<double> limit_cores;
    std::optional<std::uint64_t> memory_limit_bytes;
    std::optional<std::uint64_t> memory_request_bytes;
    TimePoint limits_due{};
    std::uint64_t last_read = 0;  // read_count_ when last listed
  };

  bool resolveLayout(SourceReading& reading);
  std::string findV1Hierarchy(std::string_view controller) const;
  // The subdirectories of `dir`; none, without an error, when it is missing.
  std::optional<std::vector<std::string>> listCgroups(const std::string& dir, SourceReading& reading);
  void discover(const std::string& hierarchy, std::vector<Location>& found, SourceReading& reading);
  void discoverNested(const std::string& hierarchy, const Location& parent, int depth, std::vector<Location>& found,
                      SourceReading& reading);
  // Reads `path` into buffer_; a missing file gives false without an error,
  // other failures are reported.
  bool readOptional(const std::string& path, SourceReading& reading);
  // The same for a container's usage file, whose failure also marks the
  // container unreadable (kept) rather than vanished.
  bool readUsage(const std::string& path, const Location& location, SourceReading& reading);
  std::optional<ContainerSample> readV1(const Location& location, Known& known, SourceReading& reading);
  std::optional<ContainerSample> readV2(const Location& location, Known& known, SourceReading& reading);
  void readV1Limits(const Location& location, Known& known, SourceReading& reading);
  void readV2Limits(const std::string& dir, Known& known, SourceReading& reading);
  bool identityDue(TimePoint now, const Known& known) const;
  void resolveIdentity(const std::string& procs_path, TimePoint now, Known& known, SourceReading& reading);
  ContainerSample newSample(const Location& location) const;

  const FileSystem& fs_;
  const Clock& clock_;
  CgroupSourceOptions options_;
  Version version_ = Version::kUnknown;
  std::string cpuacct_dir_, cpu_dir_, memory_dir_;  // v1 hierarchies; v2 uses options_.root
  std::unordered_map<std::string, Known> known_;    // by relative path
  std::uint64_t read_count_ = 0;
  std::string buffer_;
};

}  // namespace rightsize::agent
