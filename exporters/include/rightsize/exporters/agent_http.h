#pragma once

// Routes of the agent's HTTP endpoint: /metrics, /v1/containers, /healthz.

#include "rightsize/agent/agent.h"
#include "rightsize/core/http.h"
#include "rightsize/exporters/agent_metrics.h"

namespace rightsize::exporters {

// `agent`, `metrics` and `clock` must outlive the server. `stall_after`: see
// agentHealth().
void addAgentRoutes(HttpServer& server, const agent::Agent& agent, const AgentMetrics& metrics, const Clock& clock,
                    Duration stall_after);

}  // namespace rightsize::exporters
