#pragma once

// What the sizer learns from the agents: each agent's /v1/containers (one
// entry per task) and /v1/lag, read in parallel, then summarised per app.
// Agents' answers are outside input, decoded by wire/ (which states what is
// checked): a bad entry is skipped and reported, a bad or missing agent costs
// only its own tasks.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "rightsize/core/http.h"
#include "rightsize/sizing/marathon.h"
#include "rightsize/sizing/policy.h"
#include "rightsize/wire/containers_report.h"
#include "rightsize/wire/lag_report.h"

namespace rightsize::sizing {

struct AgentReport {
  std::string url;
  std::vector<wire::Container> containers;  // the entries of /v1/containers that could be read
  std::vector<wire::LagGroup> lag_groups;   // the groups of /v1/lag
  // The host's CPU in use and its cores (/v1/containers), when known.
  std::optional<double> host_used_cores;
  std::optional<double> host_capacity_cores;
  // The host as its agent names it, its memory for tasks and where it stands
  // (fleet capacity, docs/capacity.md).
  std::string host;
  std::optional<double> host_capacity_bytes;
  wire::HostPlace place;
  std::vector<Error> errors;  // what went wrong with this agent
  bool reachable = false;
};

// An agent's answers decoded by wire::decodeContainersReport() and
// wire::decodeLagReport(): entries with a bad field are skipped and reported
// in `errors`.
std::vector<wire::Container> parseContainersReport(std::string_view body, std::string_view source,
                                                   std::vector<Error>& errors);
std::vector<wire::LagGroup> parseLagReport(std::string_view body, std::string_view source, std::vector<Error>& errors);

// Thread-safety: read() from one thread at a time.
class AgentSource {
 public:
  virtual ~AgentSource() = default;
  virtual std::vector<AgentReport> read(const std::vector<std::string>& agent_urls) = 0;
};

// Per-app figures from elsewhere than the agents' /v1/containers: Prometheus
// (report/prometheus_usage.h, --usage-source prometheus), which reads what the
// agents' series and the recording rules hold. The same AppUsage as
// summarize() gives, so the same decisions. Thread-safety: one call at a
// time.
struct UsageReading {
  std::map<std::string, AppUsage> usage;  // by Marathon app id
  bool ok = false;                        // read at all: not, no figures this cycle
  std::vector<Error> errors;              // counted under the source's name
};
class UsageSource {
 public:
  virtual ~UsageSource() = default;
  // The figures of `apps` (as Marathon lists them) at `now`.
  virtual UsageReading read(const std::vector<MarathonApp>& apps, TimePoint now) = 0;
  virtual std::string name() const = 0;  // "prometheus": the errors' kind label
};

// Reads agents over HTTP, up to `parallel` at once.
class HttpAgentSource final : public AgentSource {
 public:
  HttpAgentSource(HttpClient& http, Duration timeout, std::size_t parallel = 16);
  std::vector<AgentReport> read(const std::vector<std::string>& agent_urls) override;

 private:
  AgentReport readOne(const std::string& url);
  HttpClient& http_;
  Duration timeout_;
  std::size_t parallel_;
};

// The agents' base URLs from the tasks of the agents' own Marathon app
// ("http://host:<first port>"); tasks without a port are skipped.
std::vector<std::string> agentUrlsFromApp(const MarathonApp& agent_app);

// Figures no container can have. An agent that reports one is wrong (a
// broken source, a counter read across a wrap, a hostile peer): the task's
// figures are refused, counted, and kept out of every window and history.
struct FigureLimits {
  double max_cpus = 128;                 // cores a task can use (--max-cpus)
  double max_mem_mib = 1024.0 * 1024.0;  // MiB a task can use (--max-mem)
  // Memory in use cannot pass the container's hard limit: above this share
  // of the reserved (measured) limit, plus 64 MiB, it is a wrong figure.
  double mem_over_limit = 1.1;
};

// Per app, a summary of the figures of the tasks Marathon lists for it
// (figures of tasks Marathon no longer knows are ignored). The executor
// overhead is taken as present when a task's measured limits are Marathon's
// cpus/mem plus the Mesos executor's (kExecutorCpus, kExecutorMemMib).
// A consumer group falling behind (WARN, STALL, STOP, REWIND) holds the app
// the agent names for it and every app whose rightsize.kafka.groups label
// names it. Figures beyond `limits` are refused and reported in `refused`.
std::map<std::string, AppUsage> summarize(const std::vector<AgentReport>& reports, const std::vector<MarathonApp>& apps,
                                          const FigureLimits& limits = {}, std::vector<Error>* refused = nullptr);

}  // namespace rightsize::sizing
