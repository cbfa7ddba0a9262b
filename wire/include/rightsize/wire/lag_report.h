#pragma once

// The agent's /v1/lag document (docs/api.md): its types, the encoder the
// agent serves it with and the decoder the sizer reads it with. Unknown
// values are nullopt or "" and travel as JSON null.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rightsize/core/clock.h"
#include "rightsize/core/status.h"
#include "rightsize/wire/lag_status.h"

namespace rightsize::wire {

struct LagPartition {
  std::string topic;
  std::int32_t partition = 0;
  std::optional<std::int64_t> committed_offset;
  std::optional<std::int64_t> low_watermark;
  std::optional<std::int64_t> high_watermark;
  std::optional<std::int64_t> lag_messages;
  std::optional<double> lag_seconds;
  std::optional<LagStatus> status;  // nullopt when stale
  bool stale = false;
  bool below_low_watermark = false;
  std::string error;  // "": none
  bool operator==(const LagPartition&) const = default;
};

struct LagGroup {
  std::string group;
  std::string app_id;  // "": no app labels the group (--kafka-group)
  std::string env;     // "": none
  std::optional<LagStatus> status;
  std::string error;                     // "": none
  std::vector<LagPartition> partitions;  // the agent sorts them by topic, partition
  bool operator==(const LagGroup&) const = default;
};

struct LagReport {
  TimePoint timestamp{};         // written as Unix seconds
  std::vector<LagGroup> groups;  // the agent sorts them by group
  bool operator==(const LagReport&) const = default;
};

// The JSON of /v1/lag, members in the order docs/api.md lists them.
std::string encodeLagReport(const LagReport& report);

// Decodes a /v1/lag body from `source` (named in errors), appending what is
// wrong to `errors`. A body that is not JSON or has no `groups` array gives
// an empty report and one error; otherwise each group is either kept or left
// out with one error naming its index, when `group` is not a string
// (kMissingField). A status other than those of LagStatus reads as unknown.
// The other members are informational: taken when of their type, otherwise
// left at their default, never a reason to leave a group out.
[[nodiscard]] LagReport decodeLagReport(std::string_view body, std::string_view source, std::vector<Error>& errors);

}  // namespace rightsize::wire
