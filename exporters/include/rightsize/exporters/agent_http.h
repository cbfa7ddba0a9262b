#pragma once

// Routes of the agent's HTTP endpoint: /metrics, /v1/containers, /v1/lag,
// /healthz.

#include "rightsize/agent/agent.h"
#include "rightsize/core/http.h"
#include "rightsize/exporters/agent_metrics.h"
#include "rightsize/lag/lag_monitor.h"

namespace rightsize::exporters {

// `agent`, `lag`, `metrics` and `clock` must outlive the server; `lag` is
// null when Kafka lag is not measured (/v1/lag then lists no groups).
// `stall_after`: see agentHealth().
void addAgentRoutes(HttpServer& server, const agent::Agent& agent, const lag::LagMonitor* lag,
                    const AgentMetrics& metrics, const Clock& clock, Duration stall_after);

}  // namespace rightsize::exporters
