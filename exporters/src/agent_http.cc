#include "rightsize/exporters/agent_http.h"

#include "rightsize/exporters/agent_json.h"
#include "rightsize/exporters/lag_exposition.h"

namespace rightsize::exporters {

void addAgentRoutes(HttpServer& server, const agent::Agent& agent, const lag::LagMonitor* lag,
                    const AgentMetrics& metrics, const Clock& clock, Duration stall_after) {
  server.route("/metrics", [&agent, lag, &metrics](const HttpRequest&) {
    HttpResponse response;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    const auto lag_snapshot = lag != nullptr ? lag->snapshot() : nullptr;
    response.body = metrics.render(*agent.snapshot(), lag_snapshot.get());
    return response;
  });
  server.route("/v1/lag", [lag, &clock](const HttpRequest&) {
    HttpResponse response;
    response.content_type = "application/json";
    if (lag != nullptr) {
      response.body = lagJson(*lag->snapshot());
    } else {
      lag::LagSnapshot empty;
      empty.timestamp = clock.now();
      response.body = lagJson(empty);
    }
    return response;
  });
  server.route("/v1/containers", [&agent](const HttpRequest&) {
    HttpResponse response;
    response.content_type = "application/json";
    response.body = containersJson(*agent.snapshot());
    return response;
  });
  server.route("/healthz", [&agent, &clock, stall_after](const HttpRequest&) {
    const Health health = agentHealth(*agent.snapshot(), clock.now(), stall_after);
    HttpResponse response;
    response.status = health.http_status;
    response.content_type = "application/json";
    response.body = health.body;
    return response;
  });
}

}  // namespace rightsize::exporters
