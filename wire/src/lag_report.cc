#include "rightsize/wire/lag_report.h"

#include "json_parts.h"

namespace rightsize::wire {
namespace {

void writeStatus(json::Writer& writer, const std::optional<LagStatus>& status) {
  parts::writeStringOrNull(writer, "status", status ? lagStatusName(*status) : std::string_view());
}

void writePartition(json::Writer& writer, const LagPartition& p) {
  writer.StartObject();
  json::writeKey(writer, "topic");
  json::writeString(writer, p.topic);
  json::writeKey(writer, "partition");
  writer.Int(p.partition);
  const std::pair<std::string_view, std::optional<std::int64_t>> offsets[] = {{"committed_offset", p.committed_offset},
                                                                              {"low_watermark", p.low_watermark},
                                                                              {"high_watermark", p.high_watermark},
                                                                              {"lag_messages", p.lag_messages}};
  for (const auto& [key, value] : offsets) {
    json::writeKey(writer, key);
    if (value) {
      writer.Int64(*value);
    } else {
      writer.Null();
    }
  }
  json::writeKey(writer, "lag_seconds");
  json::writeNumber(writer, p.lag_seconds);
  writeStatus(writer, p.status);
  json::writeKey(writer, "stale");
  writer.Bool(p.stale);
  json::writeKey(writer, "below_low_watermark");
  writer.Bool(p.below_low_watermark);
  parts::writeStringOrNull(writer, "error", p.error);
  writer.EndObject();
}

void writeGroup(json::Writer& writer, const LagGroup& group) {
  writer.StartObject();
  json::writeKey(writer, "group");
  json::writeString(writer, group.group);
  parts::writeStringOrNull(writer, "app_id", group.app_id);
  parts::writeStringOrNull(writer, "env", group.env);
  writeStatus(writer, group.status);
  parts::writeStringOrNull(writer, "error", group.error);
  json::writeKey(writer, "partitions");
  writer.StartArray();
  for (const auto& p : group.partitions) writePartition(writer, p);
  writer.EndArray();
  writer.EndObject();
}

void takeStatus(const json::Value& object, std::optional<LagStatus>& out) {
  const json::Value* value = json::find(object, "status");
  if (value != nullptr && value->IsString()) {
    out = parseLagStatus(std::string_view(value->GetString(), value->GetStringLength()));
  }
}

LagPartition readPartition(const json::Value& entry) {
  LagPartition p;
  parts::takeString(entry, "topic", p.topic);
  if (const json::Value* partition = json::find(entry, "partition"); partition != nullptr && partition->IsInt()) {
    p.partition = partition->GetInt();
  }
  parts::takeInt64(entry, "committed_offset", p.committed_offset);
  parts::takeInt64(entry, "low_watermark", p.low_watermark);
  parts::takeInt64(entry, "high_watermark", p.high_watermark);
  parts::takeInt64(entry, "lag_messages", p.lag_messages);
  parts::takeNumber(entry, "lag_seconds", p.lag_seconds);
  takeStatus(entry, p.status);
  parts::takeBool(entry, "stale", p.stale);
  parts::takeBool(entry, "below_low_watermark", p.below_low_watermark);
  parts::takeString(entry, "error", p.error);
  return p;
}

}  // namespace

std::string encodeLagReport(const LagReport& report) {
  rapidjson::StringBuffer buffer;
  json::Writer writer(buffer);
  writer.StartObject();
  json::writeKey(writer, "timestamp");
  writer.Double(toUnixSeconds(report.timestamp));
  json::writeKey(writer, "groups");
  writer.StartArray();
  for (const auto& group : report.groups) writeGroup(writer, group);
  writer.EndArray();
  writer.EndObject();
  return parts::finish(buffer);
}

LagReport decodeLagReport(std::string_view body, std::string_view source, std::vector<Error>& errors) {
  LagReport report;
  auto document = json::parse(body, source);
  if (!document) {
    errors.push_back(document.error());
    return report;
  }
  const json::Value* groups = json::find(*document, "groups");
  if (groups == nullptr || !groups->IsArray()) {
    errors.emplace_back(ErrorKind::kMalformed, std::string(source) + ": no groups array");
    return report;
  }
  parts::takeTime(*document, "timestamp", report.timestamp);
  report.groups.reserve(groups->Size());
  std::size_t index = 0;
  for (const auto& entry : groups->GetArray()) {
    const json::Value* name = json::find(entry, "group");
    if (name == nullptr || !name->IsString()) {
      errors.emplace_back(ErrorKind::kMissingField,
                          std::string(source) + ": groups[" + std::to_string(index++) + "]: group must be a string");
      continue;
    }
    ++index;
    LagGroup group;
    group.group.assign(name->GetString(), name->GetStringLength());
    parts::takeString(entry, "app_id", group.app_id);
    parts::takeString(entry, "env", group.env);
    takeStatus(entry, group.status);
    parts::takeString(entry, "error", group.error);
    if (const json::Value* partitions = json::find(entry, "partitions");
        partitions != nullptr && partitions->IsArray()) {
      for (const auto& p : partitions->GetArray()) {
        if (p.IsObject()) group.partitions.push_back(readPartition(p));
      }
    }
    report.groups.push_back(std::move(group));
  }
  return report;
}

}  // namespace rightsize::wire
