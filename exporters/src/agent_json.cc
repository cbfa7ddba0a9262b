#include "rightsize/exporters/agent_json.h"

#include <algorithm>

#include "rightsize/core/json.h"

namespace rightsize::exporters {

wire::ContainersReport containersReport(const agent::AgentSnapshot& snapshot) {
  wire::ContainersReport report;
  report.host = snapshot.host;
  report.timestamp = snapshot.timestamp;
  report.window = snapshot.window;
  report.host_used_cores = snapshot.host_used_cores;
  report.host_capacity_cores = snapshot.host_capacity_cores;
  report.host_capacity_bytes = snapshot.host_capacity_bytes;
  report.place = snapshot.host_place;
  report.containers.reserve(snapshot.containers.size());
  for (const auto& c : snapshot.containers) report.containers.push_back(agent::wireContainer(c));
  return report;
}

std::string containersJson(const agent::AgentSnapshot& snapshot) {
  return wire::encodeContainersReport(containersReport(snapshot));
}

Duration stallAfter(Duration interval, Duration source_timeouts) {
  return std::max(3 * interval, 2 * interval + source_timeouts);
}

Health agentHealth(const agent::AgentSnapshot& snapshot, TimePoint now, Duration stall_after) {
  Health health;
  std::string status;
  if (snapshot.cycles == 0) {
    status = "starting";
    health.http_status = 503;
  } else if (now - snapshot.timestamp > stall_after) {
    status = "stalled";
    health.http_status = 503;
  } else {
    status = snapshot.source_ok ? "ok" : "degraded";
  }
  rapidjson::StringBuffer buffer;
  json::Writer writer(buffer);
  writer.StartObject();
  json::writeKey(writer, "status");
  json::writeString(writer, status);
  json::writeKey(writer, "cycles");
  writer.Uint64(snapshot.cycles);
  json::writeKey(writer, "last_cycle_age_seconds");
  json::writeNumber(writer,
                    snapshot.cycles == 0 ? std::nullopt : std::optional<double>(toSeconds(now - snapshot.timestamp)));
  json::writeKey(writer, "source_ok");
  writer.Bool(snapshot.source_ok);
  json::writeKey(writer, "consecutive_source_failures");
  writer.Uint64(snapshot.consecutive_source_failures);
  json::writeKey(writer, "containers");
  writer.Uint64(snapshot.containers.size());
  writer.EndObject();
  health.body = std::string(buffer.GetString(), buffer.GetSize());
  return health;
}

}  // namespace rightsize::exporters
