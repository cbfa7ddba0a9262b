#pragma once

// A `rightsize agent` as the sizer sees it: an HTTP server on a loopback port
// answering /v1/containers with, for every task the Marathon double runs of an
// app it was told about, the figures the test set (the same for each task of
// the app), and /v1/lag with the groups the test set (none by default). Reservations are reported as the
// containers have them: the app's cpus and mem plus the executor's share
// (0.1 core, 32 MiB) that the sizer takes off, or without it (the sizer then
// counts the executor as the app's own use).

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "rightsize/core/http.h"
#include "rightsize/core/status.h"
#include "rightsize/testing/fake_marathon.h"
#include "rightsize/wire/containers_report.h"
#include "rightsize/wire/lag_report.h"

namespace rightsize::testing {

class FakeAgent {
 public:
  struct Figures {
    double cpu_avg = 0;  // cores, also the latest reading
    double cpu_p95 = 0;
    double mem_used_mib = 0;     // also the peak
    double throttled_ratio = 0;  // of CFS periods
    // Cores of demand the quota held back (throttled time per second);
    // nullopt: not published, as by an agent older than the figure.
    std::optional<double> throttled_cores;
  };

  struct Options {
    bool executor_share = true;
    // The host it stands for: its name in the report, where it stands and
    // its capacity; with `only_its_tasks`, only the tasks Marathon placed on
    // `host` (one agent per host, as a fleet runs them); else every task.
    std::string host = "127.0.0.1";
    bool only_its_tasks = false;
    wire::HostPlace place;
    std::optional<double> capacity_cores;
    std::optional<double> capacity_bytes;
    std::uint16_t port = 0;  // 0: a free one
  };

  explicit FakeAgent(FakeMarathon& marathon) : FakeAgent(marathon, Options{}) {}
  FakeAgent(FakeMarathon& marathon, Options options);
  // Stops serving before the figures its handlers read go.
  ~FakeAgent();
  FakeAgent(const FakeAgent&) = delete;
  FakeAgent& operator=(const FakeAgent&) = delete;
  Status start();
  void stop();
  std::string address() const;  // "127.0.0.1:port"

  void set(const std::string& app_id, Figures figures);
  // /v1/lag answers with these groups (none by default).
  void setLag(std::vector<wire::LagGroup> groups);
  // Answers /v1/containers with a truncated body until told otherwise.
  void setGarbage(bool garbage);

 private:
  HttpResponse containers();

  FakeMarathon& marathon_;
  Options options_;
  HttpServer server_;
  std::mutex mutex_;
  std::map<std::string, Figures> figures_;
  std::vector<wire::LagGroup> lag_;
  bool garbage_ = false;
};

}  // namespace rightsize::testing
