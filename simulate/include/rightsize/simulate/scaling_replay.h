#pragma once

// Horizontal scaling replayed (`rightsize simulate --scaling`,
// docs/scaling.md): each trace app's CPU use is its total load, split
// across its instances; the sizer's own scaling rules (sizing/scaling.h,
// evaluateScale) decide its instances at each point, with its interval and
// sustain; a new instance serves after `instance_start`, one stopped leaves
// at once. The load above what the serving instances reserve is unmet, and
// for a consumer it queues: the backlog is the lag it implies.

#include <optional>
#include <string>
#include <vector>

#include "rightsize/simulate/trace.h"
#include "rightsize/sizing/scaling.h"
#include "rightsize/sizing/usage_history.h"

namespace rightsize::simulate {

struct ScalingReplayOptions {
  sizing::ScaleSettings rules;                        // min, max, up, down, step, interval (the cpu metric)
  sizing::ScaleOptions scale;                         // --scale-sustain, the interval's default
  Duration instance_start = std::chrono::minutes(2);  // --instance-start
  // Cores each instance reserves; unset: the trace's reservation spread
  // over the minimum of instances.
  std::optional<double> cpus;
  // Scale out ahead of recurring daily peaks (the app's time-of-day profile
  // of its total load); off: purely reactive.
  bool forecast = true;
  sizing::HistoryOptions history;
};

struct AppScaling {
  std::string app_id;
  double cpus = 0;                      // per instance
  double hours = 0;                     // the trace's span
  double instance_hours = 0;            // instances running or starting
  double hours_above_up = 0;            // the serving instances' utilisation above `up`
  double peak_utilisation = 0;          // the highest load over what the serving instances reserve
  double used_core_hours = 0;           // the load
  double unmet_core_hours = 0;          // load above what the serving instances reserve
  double max_backlog_core_seconds = 0;  // a consumer's queue of unmet work at its longest
  std::size_t scale_outs = 0;
  std::size_t scale_ins = 0;
  std::size_t ahead_of_peak = 0;  // scale outs ahead of a forecast peak
  int max_instances = 0;
};

struct ScalingResult {
  std::vector<AppScaling> apps;
  AppScaling total;  // sums (peak utilisation and backlog: the highest)
};

ScalingResult replayScaling(const Trace& trace, const ScalingReplayOptions& options);

// The cheapest setting (fewest instance-hours) of `up`, `down` and `step`
// whose peak utilisation stays at or under `max_utilisation`; every point
// tried, in the order tried.
struct ScalingGridPoint {
  double up = 0;
  double down = 0;
  int step = 1;
  ScalingResult result;
  bool within = false;  // peak utilisation within the bound
};
struct ScalingGrid {
  std::vector<ScalingGridPoint> points;
  std::optional<std::size_t> best;  // index into points
};
ScalingGrid scalingGrid(const Trace& trace, const ScalingReplayOptions& base, double max_utilisation,
                        const std::vector<double>& ups, const std::vector<double>& downs,
                        const std::vector<int>& steps);

}  // namespace rightsize::simulate
