#include "simulate_scaling.h"

#include <spdlog/spdlog.h>

#include <cstdio>

#include "rightsize/core/json.h"
#include "rightsize/core/text.h"
#include "rightsize/simulate/scaling_replay.h"

namespace rightsize::cli {
namespace {

std::string totalsJson(const std::string& name, const simulate::AppScaling& t,
                       const simulate::ScalingReplayOptions& o) {
  rapidjson::StringBuffer buffer;
  json::Writer writer(buffer);
  writer.StartObject();
  json::writeKey(writer, "scaling");
  json::writeString(writer, name);
  for (const auto& [key, value] : {std::pair{"up", o.rules.upThreshold()},
                                   {"down", o.rules.downThreshold()},
                                   {"step", static_cast<double>(o.rules.step)},
                                   {"instance_hours", t.instance_hours},
                                   {"hours_above_up", t.hours_above_up},
                                   {"peak_utilisation", t.peak_utilisation},
                                   {"used_core_hours", t.used_core_hours},
                                   {"unmet_core_hours", t.unmet_core_hours},
                                   {"max_backlog_core_seconds", t.max_backlog_core_seconds},
                                   {"scale_outs", static_cast<double>(t.scale_outs)},
                                   {"scale_ins", static_cast<double>(t.scale_ins)},
                                   {"ahead_of_peak", static_cast<double>(t.ahead_of_peak)}}) {
    json::writeKey(writer, key);
    json::writeNumber(writer, value);
  }
  writer.EndObject();
  return buffer.GetString();
}

void printRow(const std::string& name, const simulate::AppScaling& t) {
  std::printf("%-10s %15.1f %12.2f %11.0f%% %12.2f %12.0f %7zu %6zu %6zu\n", name.c_str(), t.instance_hours,
              t.hours_above_up, t.peak_utilisation * 100, t.unmet_core_hours, t.max_backlog_core_seconds, t.scale_outs,
              t.scale_ins, t.ahead_of_peak);
}

void printHeader() {
  std::printf("%-10s %15s %12s %12s %12s %12s %7s %6s %6s\n", "scaling", "instance-hours", "h above up", "peak util",
              "unmet core-h", "backlog c-s", "outs", "ins", "ahead");
}

}  // namespace

int runScalingSimulation(const simulate::Trace& trace, const std::string& trace_name, const ScalingFlags& flags,
                         bool grid, bool json) {
  simulate::ScalingReplayOptions options;
  if (flags.instances_min < 1 || flags.instances_max < flags.instances_min) {
    spdlog::error("--instances-min and --instances-max: 1 <= min <= max");
    return 2;
  }
  if (!(flags.down >= 0 && flags.down < flags.up)) {
    spdlog::error("--scale-down {} must be at least 0 and below --scale-up {}", flags.down, flags.up);
    return 2;
  }
  options.rules.min_instances = flags.instances_min;
  options.rules.max_instances = flags.instances_max;
  options.rules.up = flags.up;
  options.rules.down = flags.down;
  options.rules.step = flags.step;
  for (auto [name, text, out] : {std::tuple{"--scale-interval", &flags.interval, &options.scale.interval},
                                 {"--scale-sustain", &flags.sustain, &options.scale.sustain},
                                 {"--instance-start", &flags.instance_start, &options.instance_start}}) {
    auto parsed = parseDuration(*text);
    if (!parsed || *parsed < Duration::zero()) {
      spdlog::error("{}: '{}' is not a duration of 0 or more", name, *text);
      return 2;
    }
    *out = *parsed;
  }
  if (flags.instance_cpus > 0) options.cpus = flags.instance_cpus;

  if (grid) {
    const std::vector<double> ups{0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
    const std::vector<double> downs{0.1, 0.2, 0.3, 0.4, 0.5};
    const std::vector<int> steps{1, 2, 3};
    const simulate::ScalingGrid found = simulate::scalingGrid(trace, options, flags.max_utilisation, ups, downs, steps);
    if (json) {
      for (const auto& point : found.points) {
        simulate::ScalingReplayOptions at = options;
        at.rules.up = point.up;
        at.rules.down = point.down;
        at.rules.step = point.step;
        std::printf("%s\n", totalsJson("grid", point.result.total, at).c_str());
      }
    } else {
      std::printf("%s: %zu apps; scaling grid of %zu settings, peak utilisation at most %.0f%%\n", trace_name.c_str(),
                  trace.apps.size(), found.points.size(), flags.max_utilisation * 100);
      if (!found.best) {
        std::printf("no setting keeps the peak utilisation within the bound\n");
        return 0;
      }
      const auto& best = found.points[*found.best];
      std::printf("cheapest within the bound: up %.0f%%, down %.0f%%, step %d\n", best.up * 100, best.down * 100,
                  best.step);
      printHeader();
      printRow("best", best.result.total);
    }
    return 0;
  }
  simulate::ScalingReplayOptions reactive = options;
  reactive.forecast = false;
  const simulate::ScalingResult without = simulate::replayScaling(trace, reactive);
  const simulate::ScalingResult with = simulate::replayScaling(trace, options);
  if (json) {
    std::printf("%s\n%s\n", totalsJson("reactive", without.total, reactive).c_str(),
                totalsJson("forecast", with.total, options).c_str());
    return 0;
  }
  std::printf("%s: %zu apps; instances %d-%d, up %.0f%%, down %.0f%%, step %d, interval %s, instance start %s\n",
              trace_name.c_str(), trace.apps.size(), flags.instances_min, flags.instances_max, flags.up * 100,
              flags.down * 100, flags.step, formatDuration(options.scale.interval).c_str(),
              formatDuration(options.instance_start).c_str());
  printHeader();
  printRow("reactive", without.total);
  printRow("forecast", with.total);
  return 0;
}

}  // namespace rightsize::cli
