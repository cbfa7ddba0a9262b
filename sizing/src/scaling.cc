#include "rightsize/sizing/scaling.h"

#include <algorithm>

#include "rightsize/core/text.h"

namespace rightsize::sizing {
namespace {

std::string minutesText(Duration d) {
  return formatDuration(std::chrono::duration_cast<std::chrono::seconds>(std::max(d, Duration::zero())));
}

// "cpu at 95% of its reservation" / "lag 120s".
std::string metricText(const ScaleSettings& settings, double value) {
  if (settings.metric == ScaleMetric::kCpu) return "cpu at " + formatFixed(value * 100, 0) + "% of its reservation";
  return "consumer lag " + formatFixed(value, 0) + "s";
}

std::string thresholdText(const ScaleSettings& settings, double value) {
  return settings.metric == ScaleMetric::kCpu ? formatFixed(value * 100, 0) + "%" : formatFixed(value, 0) + "s";
}

void reset(ScaleClock& clock) {
  clock.since.reset();
  clock.direction = ScaleDirection::kNone;
}

std::string transition(int from, int to) { return std::to_string(from) + " -> " + std::to_string(to) + " instances"; }

}  // namespace

std::string_view scaleDirectionName(ScaleDirection direction) {
  switch (direction) {
    case ScaleDirection::kOut:
      return "out";
    case ScaleDirection::kIn:
      return "in";
    case ScaleDirection::kNone:
      break;
  }
  return "";
}

ScaleEvaluation evaluateScale(const ScaleInput& in, const ScaleOptions& options, ScaleClock& clock) {
  ScaleEvaluation e;
  e.recommended = in.instances;
  const ScaleSettings& s = in.settings;
  if (!s.enabled()) {
    reset(clock);
    return e;
  }
  e.enabled = true;
  const int low = *s.min_instances;
  const int high = *s.max_instances;
  const Duration interval = s.interval.value_or(options.interval);
  const TimePoint now = in.now;
  // The interval since the last scale decision; "" when it has passed.
  const std::string too_soon = in.last_scale_at && now < *in.last_scale_at + interval && now >= *in.last_scale_at
                                   ? "; the next scale decision from " + unixSecondsText(*in.last_scale_at + interval) +
                                         " (interval " + formatDuration(interval) + ")"
                                   : "";
  // Outside its bounds (someone scaled it, or the labels changed): brought
  // within them, whatever the metric.
  if (in.instances < low || in.instances > high) {
    reset(clock);
    e.recommended = std::clamp(in.instances, low, high);
    e.direction = in.instances < low ? ScaleDirection::kOut : ScaleDirection::kIn;
    e.reason = std::to_string(in.instances) + " instances, outside rightsize.instances " + std::to_string(low) + "-" +
               std::to_string(high) + ": " + transition(in.instances, e.recommended) + too_soon;
    e.scale = too_soon.empty();
    return e;
  }
  const AppUsage& usage = in.usage;
  const bool consumer = s.metric == ScaleMetric::kKafkaLagSeconds;
  if (in.alert != ScaleDirection::kNone) {
    reset(clock);
    const bool out = in.alert == ScaleDirection::kOut;
    e.reason = std::string("an alert asked to scale ") + (out ? "out" : "in");
    if (out) {
      int cap = high;
      if (consumer && !usage.kafka_partitions) {
        e.reason += ": its groups' partitions are not known, so no more instances";
        return e;
      }
      if (consumer) cap = std::min(cap, *usage.kafka_partitions);
      if (in.instances >= cap) {
        e.reason +=
            ": at its maximum of " + std::to_string(cap) + " instances" + (cap < high ? " (its partitions)" : "");
        return e;
      }
      e.recommended = std::min(in.instances + s.step, cap);
    } else {
      if (in.instances <= low) {
        e.reason += ": at its minimum of " + std::to_string(low) + " instances";
        return e;
      }
      if ((consumer || in.kafka_consumer) && (usage.lag_growing || !usage.lag_reported)) {
        e.reason += std::string(", but its consumer lag is ") + (usage.lag_growing ? "not OK" : "not known");
        return e;
      }
      e.recommended = std::max(in.instances - s.step, low);
    }
    e.direction = in.alert;
    e.reason += ": " + transition(in.instances, e.recommended) + too_soon;
    e.scale = too_soon.empty();
    return e;
  }
  if (s.metric == ScaleMetric::kCpu) {
    const double reserved = in.cpus + usage.cpu_overhead;
    if (usage.cpu_used_sum && usage.tasks > 0 && reserved > 0) e.metric = *usage.cpu_used_sum / usage.tasks / reserved;
  } else {
    e.metric = usage.lag_seconds;
  }
  if (!e.metric) {
    reset(clock);
    e.reason = s.metric == ScaleMetric::kCpu ? "no figures of the tasks' mean cpu use (the agents') to scale on"
                                             : "no consumer lag reported for the app's groups: not scaled";
    return e;
  }
  const double metric = *e.metric;
  const double up = s.upThreshold();
  const double down = s.downThreshold();
  const std::string now_text = metricText(s, metric);
  // The app's time of day (UsageHistory's profile, seen on several days):
  // the CPU its busiest task's p95 reaches within the forecast's lead (1h),
  // against what it is now, moves the mean as much. Only for the cpu metric
  // (lag has no daily profile here).
  std::optional<double> ahead;
  if (s.metric == ScaleMetric::kCpu && usage.cpu_forecast_soon && usage.cpu_forecast_soon_at && usage.cpu_used_p95 &&
      *usage.cpu_used_p95 > 0 && *usage.cpu_forecast_soon > *usage.cpu_used_p95) {
    ahead = metric * *usage.cpu_forecast_soon / *usage.cpu_used_p95;
  }
  const auto peak_text = [&] {
    return "its daily peak at " + clockTime(*usage.cpu_forecast_soon_at) + " (cpu expected at " +
           formatFixed(*ahead * 100, 0) + "% of its reservation)";
  };
  if (metric <= up && ahead && *ahead > up && in.instances < high) {
    // Ahead of a recurring peak: out now, so that the new instances serve
    // before it rather than after throttling through it. The profile is days
    // of evidence: no sustain.
    reset(clock);
    e.direction = ScaleDirection::kOut;
    e.recommended = std::min(in.instances + s.step, high);
    e.reason = now_text + ", ahead of " + peak_text() + ": " + transition(in.instances, e.recommended) + too_soon;
    e.scale = too_soon.empty();
    return e;
  }
  if (metric > up) {
    const std::string above = now_text + " (above " + thresholdText(s, up) + ")";
    int cap = high;
    if (consumer) {
      if (usage.cpu_throttled >= options.throttled) {
        reset(clock);
        e.wants_cpu = true;
        e.reason = above + " and throttled in " + formatFixed(usage.cpu_throttled * 100, 0) +
                   "% of periods: more CPU per instance (a resize), not more instances";
        return e;
      }
      if (!usage.kafka_partitions) {
        reset(clock);
        e.reason = above + ", not throttled: its groups' partitions are not known, so no more instances";
        return e;
      }
      cap = std::min(cap, *usage.kafka_partitions);
      if (in.instances >= *usage.kafka_partitions) {
        reset(clock);
        e.reason = above + " with " + std::to_string(in.instances) + " instances on " +
                   std::to_string(*usage.kafka_partitions) +
                   " partitions, not throttled: more instances would idle; the bottleneck is elsewhere "
                   "(downstream, the brokers, the consumer's own work): nothing done";
        return e;
      }
    }
    if (in.instances >= cap) {
      reset(clock);
      e.reason = above + ", at its maximum of " + std::to_string(high) + " instances";
      return e;
    }
    e.direction = ScaleDirection::kOut;
    e.recommended = std::min(in.instances + s.step, cap);
    if (clock.direction != ScaleDirection::kOut || !clock.since || *clock.since > now) {
      clock.direction = ScaleDirection::kOut;
      clock.since = now;
    }
    const Duration lasted = now - *clock.since;
    e.reason = above + " for " + minutesText(lasted);
    if (lasted < options.sustain) {
      e.reason += ", scaling out after " + formatDuration(options.sustain) + " (--scale-sustain)";
    } else {
      e.reason += ": " + transition(in.instances, e.recommended) + too_soon;
      e.scale = too_soon.empty();
    }
    return e;
  }
  if (metric < down) {
    const std::string below = now_text + " (below " + thresholdText(s, down) + ")";
    if (in.instances <= low) {
      reset(clock);
      e.reason = below + ", at its minimum of " + std::to_string(low) + " instances";
      return e;
    }
    if ((consumer || in.kafka_consumer) && (usage.lag_growing || !usage.lag_reported)) {
      reset(clock);
      e.reason =
          below + ", but its consumer lag is " + (usage.lag_growing ? "not OK" : "not known") + ": not scaled in";
      return e;
    }
    const int fewer = std::max(in.instances - s.step, low);
    if (ahead && *ahead * in.instances / fewer > up) {
      // Fewer instances would be above `up` at the coming peak: held.
      reset(clock);
      e.reason = below + ", but " + std::to_string(fewer) + " instances would be above " + thresholdText(s, up) +
                 " at " + peak_text() + ": not scaled in";
      return e;
    }
    e.direction = ScaleDirection::kIn;
    e.recommended = fewer;
    if (clock.direction != ScaleDirection::kIn || !clock.since || *clock.since > now) {
      clock.direction = ScaleDirection::kIn;
      clock.since = now;
    }
    const Duration lasted = now - *clock.since;
    e.reason = below + " for " + minutesText(lasted);
    if (lasted < interval) {
      e.reason += ", scaling in after " + formatDuration(interval) + " (the interval)";
    } else {
      e.reason += ": " + transition(in.instances, e.recommended) + too_soon;
      e.scale = too_soon.empty();
    }
    return e;
  }
  reset(clock);
  e.reason = now_text + ", within " + thresholdText(s, down) + "-" + thresholdText(s, up);
  return e;
}

}  // namespace rightsize::sizing
