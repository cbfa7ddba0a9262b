#include "rightsize/simulate/scaling_replay.h"

#include <algorithm>
#include <cmath>

namespace rightsize::simulate {
namespace {

AppScaling replayApp(const AppTrace& app, const ScalingReplayOptions& options) {
  AppScaling out;
  out.app_id = app.app_id;
  if (app.points.empty() || !options.rules.enabled()) return out;
  const int low = *options.rules.min_instances;
  const double cpus = options.cpus.value_or(app.points.front().cpu_reserved_cores / std::max(1, low));
  out.cpus = cpus;
  const double up = options.rules.upThreshold();
  // Instances by the time each serves from; a scale in stops the newest.
  std::vector<TimePoint> ready(static_cast<std::size_t>(low), app.points.front().at);
  sizing::ScaleClock clock;
  std::optional<TimePoint> last_scale_at;
  sizing::UsageHistory history(options.history);
  double backlog = 0;  // core-seconds of work queued
  // A gap in the trace is unknown load, as in the sizing replay
  // (AppTrace::longestObserved): the instances running through it count,
  // the load, the time above the threshold and the unmet demand do not.
  const Duration longest_observed = app.longestObserved();
  for (std::size_t i = 0; i < app.points.size(); ++i) {
    const TracePoint& point = app.points[i];
    const TimePoint now = point.at;
    const Duration step = app.stepOf(i);
    const double observed_hours = toHours(std::min(step, longest_observed));
    const double load = point.cpu_used_cores;
    const int serving =
        static_cast<int>(std::count_if(ready.begin(), ready.end(), [&](TimePoint at) { return at <= now; }));
    const double capacity = serving * cpus;
    const double utilisation = capacity > 0 ? load / capacity : (load > 0 ? INFINITY : 0);
    out.hours += toHours(step);
    out.instance_hours += static_cast<double>(ready.size()) * toHours(step);
    out.used_core_hours += load * observed_hours;
    if (utilisation > up) out.hours_above_up += observed_hours;
    out.peak_utilisation = std::max(out.peak_utilisation, utilisation);
    out.unmet_core_hours += std::max(0.0, load - capacity) * observed_hours;
    backlog = std::max(0.0, backlog + (load - capacity) * observed_hours * 3600);
    out.max_backlog_core_seconds = std::max(out.max_backlog_core_seconds, backlog);
    out.max_instances = std::max(out.max_instances, static_cast<int>(ready.size()));

    // What the sizer would see: the serving tasks' mean use (capped at what
    // they reserve), and the app's total load in its time-of-day profile.
    const double used = std::min(load, capacity);
    sizing::AppUsage figures;
    figures.tasks = std::max(serving, 1);
    figures.cpu_used_sum = used;
    figures.cpu_used_avg = used;
    figures.cpu_used_p95 = used;
    history.add(now, figures);
    sizing::AppUsage usage = figures;
    if (options.forecast) {
      const sizing::AppUsage summarized = history.summarize(now, figures);
      usage.cpu_forecast_soon = summarized.cpu_forecast_soon;
      usage.cpu_forecast_soon_at = summarized.cpu_forecast_soon_at;
      usage.cpu_used_p95 = used;  // now, against the profile's peak of the same (total) figure
    }
    if (serving == 0) continue;  // nothing serves yet: no figures to scale on
    usage.tasks = serving;
    const sizing::ScaleInput input{.settings = options.rules,
                                   .instances = static_cast<int>(ready.size()),
                                   .cpus = cpus,
                                   .usage = usage,
                                   .last_scale_at = last_scale_at,
                                   .now = now};
    const sizing::ScaleEvaluation e = sizing::evaluateScale(input, options.scale, clock);
    if (!e.scale || e.recommended == static_cast<int>(ready.size())) continue;
    last_scale_at = now;
    if (e.recommended > static_cast<int>(ready.size())) {
      ++out.scale_outs;
      if (e.reason.find("ahead of its daily peak") != std::string::npos) ++out.ahead_of_peak;
      ready.resize(static_cast<std::size_t>(e.recommended), now + options.instance_start);
    } else {
      ++out.scale_ins;
      std::sort(ready.begin(), ready.end());
      ready.resize(static_cast<std::size_t>(e.recommended));
    }
  }
  return out;
}

void addTo(AppScaling& total, const AppScaling& app) {
  total.hours = std::max(total.hours, app.hours);
  total.instance_hours += app.instance_hours;
  total.hours_above_up += app.hours_above_up;
  total.peak_utilisation = std::max(total.peak_utilisation, app.peak_utilisation);
  total.used_core_hours += app.used_core_hours;
  total.unmet_core_hours += app.unmet_core_hours;
  total.max_backlog_core_seconds = std::max(total.max_backlog_core_seconds, app.max_backlog_core_seconds);
  total.scale_outs += app.scale_outs;
  total.scale_ins += app.scale_ins;
  total.ahead_of_peak += app.ahead_of_peak;
  total.max_instances = std::max(total.max_instances, app.max_instances);
}

}  // namespace

ScalingResult replayScaling(const Trace& trace, const ScalingReplayOptions& options) {
  ScalingResult result;
  result.total.app_id = "total";
  for (const AppTrace& app : trace.apps) {
    result.apps.push_back(replayApp(app, options));
    addTo(result.total, result.apps.back());
  }
  return result;
}

ScalingGrid scalingGrid(const Trace& trace, const ScalingReplayOptions& base, double max_utilisation,
                        const std::vector<double>& ups, const std::vector<double>& downs,
                        const std::vector<int>& steps) {
  ScalingGrid grid;
  for (const double up : ups) {
    for (const double down : downs) {
      if (down >= up) continue;
      for (const int step : steps) {
        ScalingReplayOptions options = base;
        options.rules.up = up;
        options.rules.down = down;
        options.rules.step = step;
        ScalingGridPoint point{.up = up, .down = down, .step = step, .result = replayScaling(trace, options)};
        point.within = point.result.total.peak_utilisation <= max_utilisation;
        grid.points.push_back(std::move(point));
        const std::size_t index = grid.points.size() - 1;
        if (grid.points[index].within && (!grid.best || grid.points[index].result.total.instance_hours <
                                                            grid.points[*grid.best].result.total.instance_hours)) {
          grid.best = index;
        }
      }
    }
  }
  return grid;
}

}  // namespace rightsize::simulate
