#pragma once

// A real Prometheus (Debian's prometheus and promtool) on 127.0.0.1 over a
// history backfilled with `promtool tsdb create-blocks-from openmetrics`,
// in a scratch directory removed on destruction; stopped by its pid. What
// tests of `rightsize report` (and its benchmark) read. And the series a
// trace would have left in a fleet's Prometheus: the agents' own, or the
// recording rules' (deploy/prometheus/rules/apps.yml).

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rightsize/core/clock.h"
#include "rightsize/core/process.h"
#include "rightsize/core/status.h"
#include "rightsize/simulate/trace.h"

namespace rightsize::testing {

// Not thread-safe; start it from a long-lived thread (see ChildProcess).
class PrometheusServer {
 public:
  // Backfills `openmetrics` (OpenMetrics text ending in "# EOF"), then
  // starts Prometheus over it (retention long enough for any past history)
  // and waits until it answers /-/ready. Fails (never skips) when prometheus
  // or promtool is missing, naming the package.
  static Expected<std::unique_ptr<PrometheusServer>> start(std::string_view openmetrics,
                                                           Duration ready_timeout = std::chrono::seconds(60));
  // Backfills the OpenMetrics file `input` into the TSDB directory `data`
  // (created when missing; blocks of at most 24 h), within `timeout`.
  static Status backfill(const std::string& input, const std::string& data, Duration timeout);
  // Starts Prometheus over the TSDB directory `data`, which it leaves in
  // place (a benchmark's cache), with `flags` added to its command line.
  static Expected<std::unique_ptr<PrometheusServer>> serve(const std::string& data,
                                                           const std::vector<std::string>& flags,
                                                           Duration ready_timeout = std::chrono::seconds(60));
  ~PrometheusServer();
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return process_ != nullptr ? process_->pid() : -1; }
  std::string log() const { return process_ != nullptr ? process_->output() : std::string(); }

 private:
  explicit PrometheusServer(std::string directory) : directory_(std::move(directory)) {}
  // Prometheus over `data`, its configuration in the scratch `directory`
  // (removed with the server, as is `data` when inside it).
  static Expected<std::unique_ptr<PrometheusServer>> launch(const std::string& directory, const std::string& data,
                                                            const std::vector<std::string>& flags,
                                                            Duration ready_timeout);

  std::string directory_;
  std::uint16_t port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

// Which series a trace leaves in Prometheus, one task per trace app (its
// container's figures: the executor's 0.1 cores and 32 MiB on top of the
// trace's reservations, as the agents measure them):
//  - kAgent: the agents' rightsize_container_* gauges, one sample per step;
//  - kRecordingRules: the per-app series deploy/prometheus/rules/apps.yml
//    records from them.
enum class TraceSeries { kAgent, kRecordingRules };
// OpenMetrics text for promtool, labels env="prod", app_id, and for the
// agents' series task_id and container_id.
std::string traceOpenMetrics(const simulate::Trace& trace, TraceSeries series);

}  // namespace rightsize::testing
