#pragma once

// The agent's Prometheus exposition. The error counter and the cycle-duration
// histogram live in a prometheus-cpp Registry; container and host gauges are
// written from the published snapshot at scrape time, so a vanished
// container's series disappear with it. Names and labels: docs/api.md,
// "Agent metrics".

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <initializer_list>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "rightsize/agent/agent.h"
#include "rightsize/core/error_sink.h"
#include "rightsize/exporters/error_counter.h"
#include "rightsize/exporters/exposition.h"
#include "rightsize/lag/lag_monitor.h"

namespace rightsize::exporters {

// Writes the per-container and host gauges of one snapshot. Unknown values
// are left out, not written as 0.
void writeSnapshot(TextExposition& out, const agent::AgentSnapshot& snapshot);

// Thread-safety: all methods may be called concurrently.
class AgentMetrics final : public ErrorSink {
 public:
  AgentMetrics();

  // Counts rightsize_agent_errors_total{source,kind} and logs the first error
  // of each (source, kind) at warning level; later ones are only counted.
  void record(std::string_view source, const Error& error) override;

  // Exposes rightsize_agent_errors_total{source} at 0 for every kind of bad
  // outside input, and for `extra_kinds` (e.g. invalid_argument for Redis,
  // which may refuse AUTH), so that rate() and increase() see the first
  // error of a kind.
  void declareSource(std::string_view source, std::initializer_list<ErrorKind> extra_kinds = {});

  void observeCycle(Duration duration);

  // The whole text exposition (format 0.0.4) for `snapshot`, with Kafka lag
  // when `lag` is given.
  std::string render(const agent::AgentSnapshot& snapshot, const lag::LagSnapshot* lag = nullptr) const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& errors_;
  prometheus::Histogram& cycle_duration_;
  ErrorCounter error_counter_;
};

}  // namespace rightsize::exporters
