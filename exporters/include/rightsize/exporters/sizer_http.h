#pragma once

// The sizer's HTTP endpoint: /v1/apps, /v1/decisions, /metrics, /healthz.
// Names and shapes: docs/api.md ("HTTP", "Sizer metrics").

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "rightsize/core/error_sink.h"
#include "rightsize/core/http.h"
#include "rightsize/exporters/error_counter.h"
#include "rightsize/sizing/sizer.h"

namespace rightsize::exporters {

// {"leader", "mode", "timestamp", "apps": [{"app_id", "enabled", "instances",
// "cpus", "mem", "recommended_cpus", "recommended_mem", "state", "reason",
// "deployment_id", "oom_kills", "last_oom_kill", "label_errors"}]}
std::string appsJson(const sizing::SizerSnapshot& snapshot);
// {"decisions": [{"timestamp", "app_id", "action", "from_cpus", "to_cpus",
// "from_mem", "to_mem", "reason", "deployment_id", "fencing_token"}]}
std::string decisionsJson(const std::vector<sizing::Decision>& decisions);

// Thread-safety: all methods may be called concurrently.
class SizerMetrics final : public ErrorSink {
 public:
  SizerMetrics();
  // rightsize_sizer_errors_total{kind}; the first error of each (source,
  // kind) is logged.
  void record(std::string_view source, const Error& error) override;
  // rightsize_marathon_requests_total{code}
  void countMarathonResponse(std::string_view code);
  void observeCycle(Duration duration);
  // The sizer metrics of docs/api.md ("Sizer metrics"): recommendations,
  // resizes, leadership and errors, plus per app the band it is judged by
  // (rightsize_app_{cpu_band_*_cores,memory_band_*_bytes}{app_id}, for rules
  // and dashboards that use each app's band) and the sizer's own health.
  std::string render(const sizing::SizerSnapshot& snapshot) const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& errors_;
  prometheus::Family<prometheus::Counter>& marathon_requests_;
  prometheus::Histogram& cycle_duration_;
  ErrorCounter error_counter_;
};

struct SizerRouteOptions {
  // /healthz answers 503 when no cycle completed for this long.
  Duration stall_after = std::chrono::minutes(5);
  // POST /v1/alerts (Alertmanager's webhook) requires "Authorization: Bearer
  // <token>"; without a token the webhook is disabled (403).
  std::string webhook_token;
  // Called after a notification naming firing apps was accepted: runs a
  // cycle at once.
  std::function<void()> on_alert;
};

// `sizer`, `metrics` and `clock` must outlive the server. POST /v1/alerts
// answers 401 without the right bearer token (checked before the body is
// read; neither the token nor what was presented is echoed or logged), 400 naming what is wrong with
// a body that is not an Alertmanager notification (both counted in
// rightsize_sizer_errors_total), 503 from a sizer that is not the leader
// (Alertmanager retries, and may reach the leader), and 200 {"apps": [...]}
// with the apps it re-evaluates. Bodies the server refuses itself are
// counted in rightsize_sizer_errors_total too: 413 over the server's limit
// (invalid_value), 408 too slow or cut short (unavailable).
void addSizerRoutes(HttpServer& server, sizing::Sizer& sizer, SizerMetrics& metrics, const Clock& clock,
                    SizerRouteOptions options);

}  // namespace rightsize::exporters
