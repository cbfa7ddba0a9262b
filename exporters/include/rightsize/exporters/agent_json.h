#pragma once

// JSON documents served by the agent: /v1/containers (shape fixed in
// docs/api.md, written by wire/) and /healthz. Unknown values are written as
// null.

#include <string>

#include "rightsize/agent/agent.h"
#include "rightsize/wire/containers_report.h"

namespace rightsize::exporters {

// The snapshot as /v1/containers carries it.
wire::ContainersReport containersReport(const agent::AgentSnapshot& snapshot);
// wire::encodeContainersReport(containersReport(snapshot)).
std::string containersJson(const agent::AgentSnapshot& snapshot);

struct Health {
  int http_status = 200;
  std::string body;  // JSON
};

// 200 "ok" while cycles complete and the source answers; 200 "degraded" while
// cycles complete but the source fails (the agent itself is fine, restarting
// it would not help); 503 "starting" before the first cycle and 503
// "stalled" when no cycle completed for `stall_after` (see stallAfter()).
Health agentHealth(const agent::AgentSnapshot& snapshot, TimePoint now, Duration stall_after);

// How long without a completed cycle means the collection loop is stuck: three
// intervals, and never less than two intervals plus the longest a cycle may
// legitimately wait for its source (`source_timeouts`).
Duration stallAfter(Duration interval, Duration source_timeouts);

}  // namespace rightsize::exporters
