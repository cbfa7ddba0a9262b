#include "rightsize/exporters/agent_json.h"

#include <algorithm>

#include "rightsize/core/json.h"

namespace rightsize::exporters {

std::string containersJson(const agent::AgentSnapshot& snapshot) {
  rapidjson::StringBuffer buffer;
  json::Writer writer(buffer);
  writer.StartObject();
  json::writeKey(writer, "host");
  json::writeString(writer, snapshot.host);
  json::writeKey(writer, "timestamp");
  writer.Double(toUnixSeconds(snapshot.timestamp));
  json::writeKey(writer, "window_seconds");
  json::writeNumber(writer, toSeconds(snapshot.window));
  json::writeKey(writer, "containers");
  writer.StartArray();
  for (const auto& c : snapshot.containers) {
    writer.StartObject();
    json::writeKey(writer, "container_id");
    json::writeString(writer, c.identity.container_id);
    json::writeKey(writer, "app_id");
    json::writeString(writer, c.identity.app_id);
    json::writeKey(writer, "task_id");
    json::writeString(writer, c.identity.task_id);
    if (!c.identity.env.empty()) {
      json::writeKey(writer, "env");
      json::writeString(writer, c.identity.env);
    }
    if (!c.identity.instance_type.empty()) {
      json::writeKey(writer, "instance_type");
      json::writeString(writer, c.identity.instance_type);
    }
    json::writeKey(writer, "samples");
    writer.Uint64(c.samples);
    json::writeKey(writer, "cpu");
    writer.StartObject();
    json::writeKey(writer, "reserved_cores");
    json::writeNumber(writer, c.reserved_cores);
    json::writeKey(writer, "used_cores");
    json::writeNumber(writer, c.used_cores);
    json::writeKey(writer, "used_cores_avg");
    json::writeNumber(writer, c.used_cores_avg);
    json::writeKey(writer, "used_cores_p95");
    json::writeNumber(writer, c.used_cores_p95);
    json::writeKey(writer, "lying_factor_cores");
    json::writeNumber(writer, c.lying_factor_cores);
    json::writeKey(writer, "throttled_ratio");
    json::writeNumber(writer, c.throttled_ratio);
    writer.EndObject();
    json::writeKey(writer, "mem");
    writer.StartObject();
    json::writeKey(writer, "reserved_bytes");
    json::writeNumber(writer, c.memory_reserved_bytes);
    json::writeKey(writer, "used_bytes");
    json::writeNumber(writer, c.memory_used_bytes);
    json::writeKey(writer, "used_bytes_peak");
    json::writeNumber(writer, c.memory_used_bytes_peak);
    json::writeKey(writer, "lying_factor_bytes");
    json::writeNumber(writer, c.memory_lying_factor_bytes);
    writer.EndObject();
    writer.EndObject();
  }
  writer.EndArray();
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
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
