#pragma once

// Which consumer groups to watch: those named by the `rightsize.kafka.groups`
// label of the apps on this host (comma-separated), and those given with
// --kafka-group.

#include <string>
#include <string_view>
#include <vector>

#include "rightsize/core/error_sink.h"
#include "rightsize/lag/lag_monitor.h"

namespace rightsize::lag {

// "g1, g2" -> {"g1", "g2"}. Empty entries are skipped; an entry longer than
// 255 bytes or holding control characters is an error naming it.
Expected<std::vector<std::string>> parseGroupList(std::string_view text);

// A label value as found on one app's container.
struct LabelledGroups {
  std::string app_id;
  std::string env;
  std::string label;  // raw rightsize.kafka.groups value
};

// One request per group, sorted; a group named by several apps keeps the
// first app (by app id) and the clash is reported. Bad labels are reported
// to `errors` under `source` "labels" and skipped.
std::vector<GroupRequest> groupRequests(const std::vector<LabelledGroups>& labelled,
                                        const std::vector<std::string>& flag_groups, ErrorSink& errors);

}  // namespace rightsize::lag
