#include "rightsize/wire/containers_report.h"

#include "json_parts.h"

namespace rightsize::wire {
namespace {

// A figure the sizer reads: absent or null (unknown), else a finite number
// >= 0. False, with `problem` set, for anything else. A `parent` that is not
// an object holds no figure.
bool readFigure(const json::Value* parent, const char* name, std::optional<double>& out, std::string& problem) {
  if (parent == nullptr || !parent->IsObject()) return true;
  const json::Value* value = json::find(*parent, name);
  if (value == nullptr || value->IsNull()) return true;
  if (!value->IsNumber() || !std::isfinite(value->GetDouble()) || value->GetDouble() < 0) {
    problem = std::string(name) + " is not a non-negative number";
    return false;
  }
  out = value->GetDouble();
  return true;
}

// Clamped to ±9e9 s, as fromUnixSeconds() clamps instants.
Duration durationOf(double seconds) { return fromUnixSeconds(seconds).time_since_epoch(); }

void writeContainer(json::Writer& writer, const Container& c) {
  writer.StartObject();
  json::writeKey(writer, "container_id");
  json::writeString(writer, c.container_id);
  json::writeKey(writer, "app_id");
  json::writeString(writer, c.app_id);
  json::writeKey(writer, "task_id");
  json::writeString(writer, c.task_id);
  if (!c.env.empty()) {
    json::writeKey(writer, "env");
    json::writeString(writer, c.env);
  }
  if (!c.instance_type.empty()) {
    json::writeKey(writer, "instance_type");
    json::writeString(writer, c.instance_type);
  }
  json::writeKey(writer, "samples");
  writer.Uint64(c.samples);
  json::writeKey(writer, "cpu");
  writer.StartObject();
  json::writeKey(writer, "reserved_cores");
  json::writeNumber(writer, c.cpu.reserved_cores);
  json::writeKey(writer, "limit_cores");
  json::writeNumber(writer, c.cpu.limit_cores);
  json::writeKey(writer, "used_cores");
  json::writeNumber(writer, c.cpu.used_cores);
  json::writeKey(writer, "used_cores_avg");
  json::writeNumber(writer, c.cpu.used_cores_avg);
  json::writeKey(writer, "used_cores_p95");
  json::writeNumber(writer, c.cpu.used_cores_p95);
  json::writeKey(writer, "used_above_request_cores");
  json::writeNumber(writer, c.cpu.used_above_request_cores);
  json::writeKey(writer, "lying_factor_cores");
  json::writeNumber(writer, c.cpu.lying_factor_cores);
  json::writeKey(writer, "throttled_ratio");
  json::writeNumber(writer, c.cpu.throttled_ratio);
  json::writeKey(writer, "throttled_cores");
  json::writeNumber(writer, c.cpu.throttled_cores);
  writer.EndObject();
  json::writeKey(writer, "mem");
  writer.StartObject();
  json::writeKey(writer, "reserved_bytes");
  json::writeNumber(writer, c.mem.reserved_bytes);
  json::writeKey(writer, "limit_bytes");
  json::writeNumber(writer, c.mem.limit_bytes);
  json::writeKey(writer, "used_bytes");
  json::writeNumber(writer, c.mem.used_bytes);
  json::writeKey(writer, "used_bytes_peak");
  json::writeNumber(writer, c.mem.used_bytes_peak);
  json::writeKey(writer, "lying_factor_bytes");
  json::writeNumber(writer, c.mem.lying_factor_bytes);
  writer.EndObject();
  writer.EndObject();
}

// One entry of `containers`, or nullopt with `errors` told why.
std::optional<Container> readContainer(const json::Value& entry, const std::string& path, std::vector<Error>& errors) {
  Container c;
  const json::Value* app = json::find(entry, "app_id");
  const json::Value* task = json::find(entry, "task_id");
  if (app == nullptr || !app->IsString() || task == nullptr || !task->IsString()) {
    errors.emplace_back(ErrorKind::kMissingField, path + ": app_id and task_id must be strings");
    return std::nullopt;
  }
  c.app_id.assign(app->GetString(), app->GetStringLength());
  c.task_id.assign(task->GetString(), task->GetStringLength());
  const json::Value* cpu = json::find(entry, "cpu");
  const json::Value* mem = json::find(entry, "mem");
  std::string problem;
  const bool ok = readFigure(cpu, "reserved_cores", c.cpu.reserved_cores, problem) &&
                  readFigure(cpu, "limit_cores", c.cpu.limit_cores, problem) &&
                  readFigure(cpu, "used_cores_avg", c.cpu.used_cores_avg, problem) &&
                  readFigure(cpu, "used_cores_p95", c.cpu.used_cores_p95, problem) &&
                  readFigure(cpu, "used_above_request_cores", c.cpu.used_above_request_cores, problem) &&
                  readFigure(cpu, "throttled_ratio", c.cpu.throttled_ratio, problem) &&
                  readFigure(cpu, "throttled_cores", c.cpu.throttled_cores, problem) &&
                  readFigure(mem, "reserved_bytes", c.mem.reserved_bytes, problem) &&
                  readFigure(mem, "limit_bytes", c.mem.limit_bytes, problem) &&
                  readFigure(mem, "used_bytes", c.mem.used_bytes, problem) &&
                  readFigure(mem, "used_bytes_peak", c.mem.used_bytes_peak, problem);
  if (!ok) {
    errors.emplace_back(ErrorKind::kInvalidValue, path + ": " + problem);
    return std::nullopt;
  }
  c.mem.limit_reported = mem != nullptr && mem->IsObject() && json::find(*mem, "limit_bytes") != nullptr;
  parts::takeString(entry, "container_id", c.container_id);
  parts::takeString(entry, "env", c.env);
  parts::takeString(entry, "instance_type", c.instance_type);
  if (const json::Value* samples = json::find(entry, "samples"); samples != nullptr && samples->IsUint64()) {
    c.samples = samples->GetUint64();
  }
  if (cpu != nullptr) {
    parts::takeNumber(*cpu, "used_cores", c.cpu.used_cores);
    parts::takeNumber(*cpu, "lying_factor_cores", c.cpu.lying_factor_cores);
  }
  if (mem != nullptr) parts::takeNumber(*mem, "lying_factor_bytes", c.mem.lying_factor_bytes);
  return c;
}

}  // namespace

std::string encodeContainersReport(const ContainersReport& report) {
  rapidjson::StringBuffer buffer;
  json::Writer writer(buffer);
  writer.StartObject();
  json::writeKey(writer, "host");
  json::writeString(writer, report.host);
  json::writeKey(writer, "timestamp");
  writer.Double(toUnixSeconds(report.timestamp));
  json::writeKey(writer, "window_seconds");
  json::writeNumber(writer, toSeconds(report.window));
  json::writeKey(writer, "host_used_cores");
  json::writeNumber(writer, report.host_used_cores);
  json::writeKey(writer, "host_capacity_cores");
  json::writeNumber(writer, report.host_capacity_cores);
  json::writeKey(writer, "host_capacity_bytes");
  json::writeNumber(writer, report.host_capacity_bytes);
  for (const auto& [name, value] : {std::pair{"instance_type", &report.place.instance_type},
                                    {"zone", &report.place.zone},
                                    {"lifecycle", &report.place.lifecycle}}) {
    if (value->empty()) continue;
    json::writeKey(writer, name);
    json::writeString(writer, *value);
  }
  json::writeKey(writer, "containers");
  writer.StartArray();
  for (const auto& c : report.containers) writeContainer(writer, c);
  writer.EndArray();
  writer.EndObject();
  return parts::finish(buffer);
}

ContainersReport decodeContainersReport(std::string_view body, std::string_view source, std::vector<Error>& errors) {
  ContainersReport report;
  auto document = json::parse(body, source);
  if (!document) {
    errors.push_back(document.error());
    return report;
  }
  const json::Value* containers = json::find(*document, "containers");
  if (containers == nullptr || !containers->IsArray()) {
    errors.emplace_back(ErrorKind::kMalformed, std::string(source) + ": no containers array");
    return report;
  }
  parts::takeString(*document, "host", report.host);
  parts::takeString(*document, "instance_type", report.place.instance_type);
  parts::takeString(*document, "zone", report.place.zone);
  parts::takeString(*document, "lifecycle", report.place.lifecycle);
  parts::takeTime(*document, "timestamp", report.timestamp);
  std::optional<double> window_seconds;
  parts::takeNumber(*document, "window_seconds", window_seconds);
  if (window_seconds) report.window = durationOf(*window_seconds);
  // The host's figures: informational, a bad one left out and said.
  for (auto [name, figure] : {std::pair{"host_used_cores", &report.host_used_cores},
                              {"host_capacity_cores", &report.host_capacity_cores},
                              {"host_capacity_bytes", &report.host_capacity_bytes}}) {
    std::string problem;
    if (!readFigure(document->IsObject() ? &*document : nullptr, name, *figure, problem)) {
      errors.emplace_back(ErrorKind::kInvalidValue, std::string(source) + ": " + problem);
      figure->reset();
    }
  }
  report.containers.reserve(containers->Size());
  std::size_t index = 0;
  for (const auto& entry : containers->GetArray()) {
    const std::string path = std::string(source) + ": containers[" + std::to_string(index++) + "]";
    if (auto c = readContainer(entry, path, errors)) report.containers.push_back(std::move(*c));
  }
  return report;
}

}  // namespace rightsize::wire
