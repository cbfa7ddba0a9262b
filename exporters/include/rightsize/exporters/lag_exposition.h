#pragma once

// Kafka lag as served by the agent: /v1/lag JSON and the
// rightsize_kafka_* series of /metrics.

#include <string>

#include "rightsize/exporters/exposition.h"
#include "rightsize/lag/lag_monitor.h"
#include "rightsize/wire/lag_report.h"

namespace rightsize::exporters {

// The snapshot as /v1/lag carries it.
wire::LagReport lagReport(const lag::LagSnapshot& snapshot);
// wire::encodeLagReport(lagReport(snapshot)): {"timestamp", "groups":
//   [{"group", "app_id", "env", "status", "error", "partitions": [{"topic",
//   "partition", "committed_offset", "low_watermark", "high_watermark",
//   "lag_messages", "lag_seconds", "status", "stale", "below_low_watermark",
//   "error"}]}]}; unknown values are null.
std::string lagJson(const lag::LagSnapshot& snapshot);

// Per partition (labels group, topic, partition, app_id, env):
//   rightsize_kafka_consumer_lag_messages, _lag_seconds, _committed_offset,
//   rightsize_kafka_partition_high_watermark, _low_watermark,
//   rightsize_kafka_consumer_status{status="..."} 1 (the current status only);
// per group rightsize_kafka_group_status{group, app_id, env, status} 1; and
// rightsize_kafka_up, rightsize_kafka_cycle_duration_seconds. Unknown (stale)
// values are left out.
void writeLag(TextExposition& out, const lag::LagSnapshot& snapshot);

}  // namespace rightsize::exporters
