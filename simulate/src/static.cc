#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "baseline_parts.h"

#include "rightsize/core/stats.h"
#include "rightsize/simulate/baselines.h"

namespace rightsize::simulate {
namespace {

using namespace baseline;

class StaticPolicy final : public SimPolicy {
 public:
  Reservation observe(const Observation& observation, bool /*deployment_pending*/) override {
    return observation.reserved;
  }
};

}  // namespace

PolicySpec staticPolicy(const StaticOptions& /*options*/) {
  return {"static", [](const std::string&, const Reservation&) { return std::make_unique<StaticPolicy>(); }};
}

std::vector<PolicySpec> baselinePolicies() { return {staticPolicy(), vpaPolicy(), autopilotPolicy(), bandPolicy()}; }

}  // namespace rightsize::simulate
