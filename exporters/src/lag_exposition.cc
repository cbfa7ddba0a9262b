#include "rightsize/exporters/lag_exposition.h"

#include <functional>

namespace rightsize::exporters {
namespace {

using prometheus::MetricType;

std::optional<double> asDouble(std::optional<std::int64_t> value) {
  return value ? std::optional<double>(static_cast<double>(*value)) : std::nullopt;
}

}  // namespace

wire::LagReport lagReport(const lag::LagSnapshot& snapshot) {
  wire::LagReport report;
  report.timestamp = snapshot.timestamp;
  report.groups.reserve(snapshot.groups.size());
  for (const auto& group : snapshot.groups) {
    wire::LagGroup& out = report.groups.emplace_back();
    out.group = group.request.group;
    out.app_id = group.request.app_id;
    out.env = group.request.env;
    out.status = group.status;
    out.error = group.error;
    out.partitions.reserve(group.partitions.size());
    for (const auto& p : group.partitions) {
      out.partitions.push_back({.topic = p.tp.topic,
                                .partition = p.tp.partition,
                                .committed_offset = p.committed_offset,
                                .low_watermark = p.low_watermark,
                                .high_watermark = p.high_watermark,
                                .lag_messages = p.lag_messages,
                                .lag_seconds = p.lag_seconds,
                                .status = p.status,
                                .stale = p.stale,
                                .below_low_watermark = p.below_low_watermark,
                                .error = p.error});
    }
  }
  return report;
}

std::string lagJson(const lag::LagSnapshot& snapshot) { return wire::encodeLagReport(lagReport(snapshot)); }

void writeLag(TextExposition& out, const lag::LagSnapshot& snapshot) {
  struct Row {
    const lag::GroupLag* group;
    const lag::PartitionLag* partition;
    std::string labels;
  };
  std::vector<Row> rows;
  for (const auto& group : snapshot.groups) {
    for (const auto& p : group.partitions) {
      std::vector<std::pair<std::string_view, std::string_view>> labels = {{"group", group.request.group}};
      if (!group.request.app_id.empty()) labels.emplace_back("app_id", group.request.app_id);
      if (!group.request.env.empty()) labels.emplace_back("env", group.request.env);
      const std::string partition = std::to_string(p.tp.partition);
      labels.emplace_back("partition", partition);
      labels.emplace_back("topic", p.tp.topic);
      rows.push_back({&group, &p, TextExposition::labelBlock(labels)});
    }
  }
  using Value = std::function<std::optional<double>(const lag::PartitionLag&)>;
  const std::tuple<std::string_view, std::string_view, Value> gauges[] = {
      {"rightsize_kafka_consumer_lag_messages", "Messages between the committed offset and the end of the log.",
       [](const lag::PartitionLag& p) { return asDouble(p.lag_messages); }},
      {"rightsize_kafka_consumer_lag_seconds",
       "Timestamp of the newest message minus that of the first unread one (0 when caught up).",
       [](const lag::PartitionLag& p) { return p.lag_seconds; }},
      {"rightsize_kafka_consumer_committed_offset", "Offset committed by the consumer group.",
       [](const lag::PartitionLag& p) { return asDouble(p.committed_offset); }},
      {"rightsize_kafka_partition_high_watermark", "Offset the next message of the partition will get.",
       [](const lag::PartitionLag& p) { return asDouble(p.high_watermark); }},
      {"rightsize_kafka_partition_low_watermark", "First offset still in the partition's log.",
       [](const lag::PartitionLag& p) { return asDouble(p.low_watermark); }},
  };
  for (const auto& [name, help, value] : gauges) {
    bool header = false;
    for (const auto& row : rows) {
      const auto v = value(*row.partition);
      if (!v) continue;
      if (!header) out.header(name, help, MetricType::Gauge);
      header = true;
      out.sample(name, row.labels, *v);
    }
  }
  bool header = false;
  for (const auto& row : rows) {
    if (!row.partition->status) continue;
    if (!header) {
      out.header("rightsize_kafka_consumer_status",
                 "1 for the current Burrow-style status of the partition (OK, NO_COMMIT, WARN, REWIND, STALL, STOP).",
                 MetricType::Gauge);
    }
    header = true;
    std::string labels = row.labels;
    labels.pop_back();  // re-open the block to add the status label
    labels += ",status=\"";
    labels += lag::lagStatusName(*row.partition->status);
    labels += "\"}";
    out.sample("rightsize_kafka_consumer_status", labels, 1);
  }
  header = false;
  for (const auto& group : snapshot.groups) {
    if (!group.status) continue;
    if (!header) {
      out.header("rightsize_kafka_group_status", "1 for the current status of the group (its worst partition's).",
                 MetricType::Gauge);
    }
    header = true;
    std::vector<std::pair<std::string_view, std::string_view>> labels = {{"group", group.request.group}};
    if (!group.request.app_id.empty()) labels.emplace_back("app_id", group.request.app_id);
    if (!group.request.env.empty()) labels.emplace_back("env", group.request.env);
    const std::string_view status = lag::lagStatusName(*group.status);
    labels.emplace_back("status", status);
    out.sample("rightsize_kafka_group_status", TextExposition::labelBlock(labels), 1);
  }
  if (snapshot.cycles > 0) {
    out.header("rightsize_kafka_up", "1 when the last lag cycle could read the cluster's metadata.", MetricType::Gauge);
    out.sample("rightsize_kafka_up", "", snapshot.kafka_ok ? 1 : 0);
    out.header("rightsize_kafka_cycle_duration_seconds", "Time taken by the last lag cycle.", MetricType::Gauge);
    out.sample("rightsize_kafka_cycle_duration_seconds", "", toSeconds(snapshot.last_cycle));
  }
}

}  // namespace rightsize::exporters
