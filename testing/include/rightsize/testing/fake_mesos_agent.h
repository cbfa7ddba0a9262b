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
  double cpus_limit = 1.1;   // task cpus + 0.1 executor overhead
  std::uint64_t mem_limit_bytes = 160ull << 20;
  std::vector<std::pair<std::string, std::string>> labels;  // task labels
  bool cfs = true;                                          // report CFS period counters
};

struct FakeUsage {
  double used_cores = 0;
  std::uint64_t resident_bytes = 0;
  double throttled_ratio = 0;  // share of CFS periods throttled
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
  FakeFault fault_;
  // Slow answers held (with mutex_): clearFault() releases them, stop()
  // releases them and holds no more.
  std::unique_ptr<HeldRequests> held_;
  std::map<std::string, std::uint64_t> requests_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace rightsize::testing
