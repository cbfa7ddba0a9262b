#pragma once

// Horizontal scaling (docs/scaling.md): how many instances an app's scaling
// rules (rightsize.instances.*, rightsize.scale.*) want, as a pure function
// of the app's instances and reservation, its figures, its scaling clock and
// the time. The flow (resize_flow.h) weighs it against a resize and carries
// it out as a PUT of instances alone, with a resize's safety.
//
// - The metric: `cpu`, the tasks' mean CPU use (their moving averages) over
//   what each reserves (cpus, plus the executor's share the containers
//   show): a scale spreads the app's total load over more or fewer tasks,
//   so the mean is what it moves (the busiest task decides a resize); or
//   `kafka_lag_seconds`, the highest lag of the app's consumer groups.
// - Out by `step` once the metric has stayed above `up` for --scale-sustain;
//   in by `step` once it has stayed below `down` for the whole interval
//   (rightsize.scale.interval, else --scale-interval), and for a consumer
//   (the lag metric, or rightsize.kafka.groups) only while its lag is known
//   and OK. Never two scale decisions of an app within its interval; always
//   within [min, max]; an app outside its bounds is brought within them.
// - A consumer falling behind: throttled, it wants more CPU per instance
//   (the resize's); not throttled, more instances up to its partitions (the
//   fewest of its groups'), never beyond; at its partitions, nothing: the
//   bottleneck is elsewhere, and the reason says so.
// - An alert (Alertmanager's webhook) asking to scale out or in is a decision
//   without the metric's wait, within the same bounds, interval and
//   consumer rules.

#include <optional>
#include <string>

#include "rightsize/core/clock.h"
#include "rightsize/sizing/app_settings.h"
#include "rightsize/sizing/policy.h"

namespace rightsize::sizing {

struct ScaleOptions {
  // Between two scale decisions of an app, and how long its metric stays
  // below `down` before a scale in (--scale-interval; rightsize.scale.interval).
  Duration interval = std::chrono::minutes(5);
  // How long the metric stays above `up` before a scale out (--scale-sustain).
  Duration sustain = std::chrono::minutes(1);
  // A consumer throttled in this share of its CFS periods or more wants CPU,
  // not instances (the policy's throttle threshold).
  double throttled = 0.05;
};

enum class ScaleDirection { kNone, kOut, kIn };
std::string_view scaleDirectionName(ScaleDirection direction);  // "", "out", "in"

// The app's scaling clock, as its record keeps it.
struct ScaleClock {
  std::optional<TimePoint> since;                    // beyond a threshold since
  ScaleDirection direction = ScaleDirection::kNone;  // which
};

struct ScaleEvaluation {
  bool enabled = false;          // the app has scaling rules (both bounds)
  std::optional<double> metric;  // the metric now (cpu: a share)
  int recommended = 0;           // the instances the rules want now
  ScaleDirection direction = ScaleDirection::kNone;
  bool scale = false;      // a scale to `recommended` is due now
  bool wants_cpu = false;  // a lagging consumer that is throttled: more CPU per instance
  std::string reason;      // for people ("" without rules)
};

struct ScaleInput {
  const ScaleSettings& settings;
  int instances = 0;
  double cpus = 0;
  const AppUsage& usage;
  bool kafka_consumer = false;  // rightsize.kafka.groups names groups: scaled in only with its lag OK
  std::optional<TimePoint> last_scale_at;
  // An Alertmanager alert asked to scale the app this way (labels app_id,
  // rightsize_scale): by `step` at once, without the metric's sustain, but
  // within the bounds, the interval, a consumer's partitions and its lag.
  ScaleDirection alert = ScaleDirection::kNone;
  TimePoint now{};
};

// Updates `clock` (kept in the app's record) and says what the rules want.
ScaleEvaluation evaluateScale(const ScaleInput& input, const ScaleOptions& options, ScaleClock& clock);

}  // namespace rightsize::sizing
