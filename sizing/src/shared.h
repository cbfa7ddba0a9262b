#pragma once

// Helpers the sizing sources share; private to this library.

#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include "rightsize/sizing/marathon.h"
#include "rightsize/sizing/state_store.h"

namespace rightsize::sizing::detail {

// The sources the sizer's errors are counted and logged under (once per
// source and kind): a Marathon outage must not hide a Redis one of the same
// kind.
inline constexpr std::string_view kMarathon = "marathon";
inline constexpr std::string_view kStore = "redis";

// Two resource figures alike to a millionth (kUnlimited is alike to itself).
inline bool same(double a, double b) { return a == b || std::abs(a - b) < 1e-6; }

// A resize or scale of the sizer's in flight: an intent (both sizes; half
// of one, in a damaged record, is followed by nothing and holds no slot).
inline bool intentInFlight(const AppRecord& record) {
  return record.intent_cpus.has_value() && record.intent_mem_mib.has_value();
}

// Whether Marathon still lists the deployment of this id.
inline bool listed(const std::vector<MarathonDeployment>& deployments, const std::string& deployment_id) {
  return std::any_of(deployments.begin(), deployments.end(),
                     [&deployment_id](const MarathonDeployment& deployment) { return deployment.id == deployment_id; });
}

}  // namespace rightsize::sizing::detail
