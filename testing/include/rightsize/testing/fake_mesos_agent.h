#pragma once

// A stateful test double of a Mesos agent's HTTP API: GET /monitor/statistics
// and GET /state (and their legacy ".json" aliases), shaped like the real
// responses in shared/reference/mesos. Each executor has a usage model
// (cores, resident bytes, throttled share), and its cumulative counters
// follow the injected clock: whenever the agent is read, they are first moved
// forward by the time passed at the current usage. Faults can be
// injected: error statuses, garbage or truncated bodies, slow answers.
//
// A slow answer (kSlow) is held until `delay` has passed on the injected
// clock, counted from the request's arrival (real time on a SystemClock,
// scaled time on a ScaledClock, and on a ManualClock only when the test
// advances it), or until it is released, whichever comes first: clearFault()
// (setFault() of a kNone fault) releases the requests held at that moment,
// stop() and the destructor release them all and hold none afterwards. A
// released request gets the body it would have had, taken at its arrival.
// A clock cannot signal: the agent looks at it every 2 ms while it holds.
//
// Resource limits (Marathon's resourceLimits, Mesos 1.10+): an executor whose
// task has a limit (FakeExecutorSpec::task_cpus_limit, task_mem_limit_mib)
// reports its statistics as Mesos 1.10's MesosContainerizer usage() does:
//   cpus_soft_limit       the request (task cpus + the executor's 0.1)
//   cpus_limit            the hard limit: the task's limit + 0.1
//                         (Slave::computeExecutorLimits adds the executor's
//                         request), the host's CPU count (os::cpus()) when
//                         "unlimited"; without a cpus limit the request, and
//                         nothing when the agent runs without CFS
//   mem_soft_limit_bytes  the request (task mem + 32 MiB)
//   mem_limit_bytes       the hard limit: the task's limit + 32 MiB in whole
//                         MB, the host's memory (os::memory().total) when
//                         "unlimited"; without a mem limit the request
// and /state lists the task's limits ("limits": {"cpus", "mem"}, as Marathon
// gave them) as Mesos writes them: an unlimited one as the bare JSON token
// Infinity (stout's jsonify writes kWriteNanAndInfFlag), which a strict JSON
// parser refuses. Executors without limits report what Mesos before 1.10
// reports: cpus_limit and mem_limit_bytes the request, no soft limits (Mesos
// 1.10+ would add the soft limits, and leave cpus_limit out without CFS).
//
// Used by tests and by the demo's simulated cluster.

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "rightsize/core/clock.h"
#include "rightsize/core/http.h"
#include "rightsize/core/status.h"

namespace rightsize::testing {

class HeldRequests;  // testing/src/held_requests.h

struct FakeExecutorSpec {
  std::string executor_id;   // for Marathon command tasks, the task id
  std::string container_id;  // Mesos ContainerID
  std::string app_id;        // "/web"; only used to build default task names
  // The container's request: task cpus + 0.1 executor overhead, its
  // cpu.shares; its CPU limit too unless the task has a cpus limit.
  double cpus_limit = 1.1;
  // The container's request: task mem + 32 MiB, its memory soft limit; its
  // hard limit too unless the task has a mem limit.
  std::uint64_t mem_limit_bytes = 160ull << 20;
  std::vector<std::pair<std::string, std::string>> labels;  // task labels
  bool cfs = true;  // the agent runs with --cgroups_enable_cfs: CFS period counters
  // The task's limits (TaskInfo.limits, from Marathon's resourceLimits)
  // without the executor's overhead, which the agent adds as Mesos does;
  // +infinity: "unlimited"; nullopt: none (see the header comment).
  std::optional<double> task_cpus_limit;
  std::optional<double> task_mem_limit_mib;
};

struct FakeUsage {
  double used_cores = 0;
  std::uint64_t resident_bytes = 0;
  double throttled_ratio = 0;  // share of CFS periods throttled
  double throttled_cores = 0;  // demand the quota holds back: throttled time per second
};

struct FakeFault {
  enum class Kind { kNone, kHttpStatus, kGarbage, kTruncated, kSlow };
  Kind kind = Kind::kNone;
  int http_status = 503;
  Duration delay{};         // for kSlow: on the agent's clock (see above)
  int remaining = -1;       // requests affected; -1 = until cleared
  std::string path_filter;  // only requests to this path ("" = all)
};

// Thread-safety: all methods may be called concurrently with requests.
class FakeMesosAgent {
 public:
  // `state_fixture` is a real agent /state document whose top-level fields
  // (version, flags, hostname, resources, attributes, ...) are served as they
  // are and whose first framework and executor are templates for the
  // executors added here; `statistics_fixture` is a real /monitor/statistics
  // array whose first entry is the template of each entry served. Fails when
  // either is not such a document.
  static Expected<std::unique_ptr<FakeMesosAgent>> create(const Clock& clock, std::string_view state_fixture,
                                                          std::string_view statistics_fixture);
  ~FakeMesosAgent();

  void addExecutor(const FakeExecutorSpec& spec, FakeUsage usage = {});
  void removeExecutor(const std::string& executor_id);
  void setUsage(const std::string& executor_id, FakeUsage usage);
  // Changes the executor's limits, as Mesos does when a task is updated.
  void setLimits(const std::string& executor_id, double cpus_limit, std::uint64_t mem_limit_bytes);
  // Restarts the executor's counters from zero, as a restarted container.
  void resetCounters(const std::string& executor_id);
  void setAttribute(const std::string& name, const std::string& value);
  // The host's CPU count: what /state's resources.cpus show (the agent
  // offers them all, as by default) and what Mesos reports as the CPU limit
  // of an "unlimited" container (os::cpus()). By default the /state
  // template's resources.cpus, else 1.
  void setHostCpus(double cores);
  // The host's memory: what Mesos reports as the memory limit of an
  // "unlimited" container (os::memory().total). By default the /state
  // template's resources.mem (MB), else 1 GiB.
  void setHostMemory(std::uint64_t bytes);
  // Replaces the fault; a kNone fault also releases the slow answers held.
  void setFault(FakeFault fault);
  void clearFault() { setFault({}); }

  std::string statisticsBody() const;
  std::string stateBody() const;
  std::uint64_t requests(const std::string& path) const;

  // Serves on `listen` (e.g. 127.0.0.1:0) until stopped or destroyed.
  [[nodiscard]] Status start(const HostPort& listen);
  // Releases the slow answers held (and holds none from now on), then stops
  // serving once the requests being served are answered. Idempotent; the
  // destructor calls it.
  void stop();
  std::string url() const;

 private:
  struct Executor {
    FakeExecutorSpec spec;
    FakeUsage usage;
    // Counters are derived state, moved forward lazily by catchUp().
    double user_seconds = 0;
    double system_seconds = 0;
    double periods = 0;
    double throttled = 0;
    double throttled_seconds = 0;
  };
  struct Templates;
  FakeMesosAgent(const Clock& clock, std::unique_ptr<Templates> templates);
  HttpResponse serve(const std::string& path, std::string body);
  // Holds a slow answer (see above); `lock` holds mutex_.
  // Moves counters to the clock's time; requires mutex_.
  void catchUp() const;

  const Clock& clock_;
  std::unique_ptr<Templates> templates_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, Executor> executors_;
  mutable TimePoint counted_until_;
  std::map<std::string, std::string> attributes_;
  double host_cpus_ = 1;
  std::uint64_t host_memory_bytes_ = 1ull << 30;
  FakeFault fault_;
  // Slow answers held (with mutex_): clearFault() releases them, stop()
  // releases them and holds no more.
  std::unique_ptr<HeldRequests> held_;
  std::map<std::string, std::uint64_t> requests_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace rightsize::testing
