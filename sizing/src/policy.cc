#include "rightsize/sizing/policy.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>

#include "rightsize/core/text.h"

namespace rightsize::sizing {

std::string clockTime(TimePoint t) {
  const auto since_midnight = t.time_since_epoch() - std::chrono::floor<std::chrono::days>(t.time_since_epoch());
  const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(since_midnight).count();
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%02d:%02d UTC", static_cast<int>(minutes / 60), static_cast<int>(minutes % 60));
  return buffer;
}

namespace {

double clampTo(double value, double floor, std::optional<double> min, std::optional<double> max, double ceiling) {
  value = std::max(value, min.value_or(floor));
  if (max) value = std::min(value, *max);
  return std::min(value, ceiling);
}

// The decimals a step is written with: 2 for 0.05, 0 for 32.
int stepDecimals(double step) {
  for (int decimals = 0; decimals < 9; ++decimals) {
    const double scaled = step * std::pow(10.0, decimals);
    if (std::abs(scaled - std::round(scaled)) < 1e-9 * std::max(1.0, scaled)) return decimals;
  }
  return 9;
}

// The band as the operator wrote it: each edge in the fewest decimals that
// read back as the same number ("[-0.1, 0.6]", "[-64, 512]"), never rounded
// nor padded, whatever precision the caller shows the lying factor with.
std::string bandText(const Band& band, int /*lying_factor_decimals*/) {
  const auto exact = [](double value) {
    // The same few edges every call (an app's bands, evaluated at every
    // step of a replay): the last ones' texts are kept, by their bits
    // (0 and -0 are written apart).
    thread_local std::array<std::pair<std::uint64_t, std::string>, 8> known;
    thread_local std::size_t filled = 0, next = 0;
    const auto bits = std::bit_cast<std::uint64_t>(value);
    for (std::size_t i = 0; i < filled; ++i) {
      if (known[i].first == bits) return known[i].second;
    }
    std::string text;
    for (int decimals = 0; decimals <= 15 && text.empty(); ++decimals) {
      std::string candidate = formatFixed(value, decimals);
      if (parseDouble(candidate) == value) text = std::move(candidate);
    }
    if (text.empty()) {
      char buffer[32];
      std::snprintf(buffer, sizeof buffer, "%.17g", value);
      text = buffer;
    }
    known[next] = {bits, text};
    next = (next + 1) % known.size();
    filled = std::min(filled + 1, known.size());
    return text;
  };
  return "[" + exact(band.low) + ", " + exact(band.high) + "]";
}

std::string since(Duration d) {
  const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(d);
  return minutes.count() > 0 ? formatDuration(minutes)
                             : formatDuration(std::chrono::duration_cast<std::chrono::seconds>(d));
}

}  // namespace

bool moreThanHalfAStepAbove(double a, double b, double step) { return a - b > step / 2 * (1 + 1e-9); }

double roundUpToStep(double value, double step) {
  if (!(step > 0) || !std::isfinite(value)) return value;
  const double steps = std::ceil(value / step - 1e-9);
  // The same few (steps, step) pairs come back at every evaluation of an
  // app (a replay evaluates at every step): the last results are kept, by
  // their bits, in a small table, and the decimal text is only made for a
  // pair not seen lately.
  struct Rounded {
    std::uint64_t steps = 0, step = 0;
    double result = 0;
    bool known = false;
  };
  thread_local std::array<Rounded, 64> rounded{};
  const auto steps_bits = std::bit_cast<std::uint64_t>(steps);
  const auto step_bits = std::bit_cast<std::uint64_t>(step);
  const std::uint64_t mixed = (steps_bits ^ (step_bits * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;
  Rounded& slot = rounded[static_cast<std::size_t>(mixed >> 58)];
  if (slot.known && slot.steps == steps_bits && slot.step == step_bits) return slot.result;
  const double result = parseDouble(formatFixed(steps * step, stepDecimals(step))).value_or(steps * step);
  slot = {steps_bits, step_bits, result, true};
  return result;
}

double oomGrowth(double killed_mib, int streak, const PolicyOptions& options) {
  const int doublings = std::clamp(streak, 1, 31) - 1;
  const double ratio = std::min(1 + (options.oom_kill_ratio - 1) * std::ldexp(1.0, doublings),
                                std::max(options.oom_kill_ratio, options.oom_kill_max_ratio));
  return roundUpToStep(std::max(killed_mib + options.oom_kill_min_mib, killed_mib * ratio), options.mem_step_mib);
}

bool usesMoreCpuThanReserved(const AppUsage& usage, double cpus, const PolicyOptions& options) {
  return usage.cpu_used_avg && *usage.cpu_used_avg > (cpus + usage.cpu_overhead) * (1 + options.short_margin);
}

namespace {

// Memory held after an OOM kill, or after it reached its limit.
std::string memHoldText(const AppUsage& usage) {
  return "; memory held at " + formatFixed(usage.mem_hold_mib.value_or(0), 0) + " MiB after " +
         (usage.mem_hold_at_limit ? "it reached its limit" : "an OOM kill");
}

// A search back after a shrink proved wrong: " (at least 1312 MiB: ...)".
std::string undoneShrinkText(const std::optional<double>& back, bool all_the_way, int decimals, const char* unit) {
  if (!back) return {};
  return " (at least " + formatFixed(*back, decimals) + unit +
         (all_the_way ? ": all the way back to what its last shrink took away)"
                      : ": half way back, in ratio, to what its last shrink took away)");
}

std::string memUndoneText(const AppUsage& usage) {
  return undoneShrinkText(usage.shrink_undone_mem_mib, usage.shrink_undone_mem_all, 0, " MiB");
}

std::string cpuUndoneText(const AppUsage& usage) {
  return undoneShrinkText(usage.shrink_undone_cpus, usage.shrink_undone_cpus_all, 2, " cpus");
}

}  // namespace

Duration cooldownBefore(const Evaluation& evaluation, Duration cooldown) {
  return evaluation.hot && evaluation.direction == Direction::kUp ? cooldown / 5 : cooldown;
}

std::string_view directionName(Direction direction) {
  switch (direction) {
    case Direction::kUp:
      return "up";
    case Direction::kDown:
      return "down";
    case Direction::kNone:
      break;
  }
  return "";
}

Evaluation evaluate(const AppSettings& settings, const PolicyOptions& options, double cpus, double mem_mib,
                    const AppUsage& usage, PolicyState& state, TimePoint now) {
  Evaluation out;
  out.cpus = cpus;
  out.mem_mib = mem_mib;
  // An OOM kill since the current version: memory grows at once, by VPA's
  // rule at least, whatever the figures say (a restarted task's use starts
  // from zero) and even when the app is sick: it is the cure.
  std::optional<double> oom_mem;
  if (usage.oom_killed_mem_mib) {
    oom_mem = clampTo(std::max(oomGrowth(*usage.oom_killed_mem_mib, usage.oom_streak, options),
                               usage.shrink_undone_mem_mib.value_or(0)),
                      options.mem_floor_mib, settings.mem_min, settings.mem_max, options.mem_ceiling_mib);
  }
  if (usage.tasks == 0 || !usage.cpu_used_avg) {
    state = {};
    if (!oom_mem) {
      out.reason = "no figures from the agents";
      return out;
    }
    out.has_data = true;
    out.hot = true;
    out.mem_out_of_band = true;
    out.mem_mib = std::max(*oom_mem, mem_mib);
    out.direction = Direction::kUp;
    out.reason = "OOM-killed at " + formatFixed(*usage.oom_killed_mem_mib, 0) + " MiB" + memUndoneText(usage);
    // The shrink the kill proves wrong is searched back on both resources
    // here too: the relaunched task has no CPU figures yet, and the burst
    // that killed it mostly wants both.
    if (usage.shrink_undone_cpus) {
      out.cpus = std::max(cpus, clampTo(*usage.shrink_undone_cpus, options.cpu_floor, settings.cpu_min,
                                        settings.cpu_max, options.cpu_ceiling));
      out.cpu_out_of_band = moreThanHalfAStepAbove(out.cpus, cpus, options.cpu_step);
      if (out.cpu_out_of_band) out.reason += ", its cpus with it" + cpuUndoneText(usage);
    }
    if (moreThanHalfAStepAbove(out.mem_mib, mem_mib, options.mem_step_mib) || out.cpu_out_of_band) {
      out.resize = true;
    } else {
      out.reason += "; already at the recommended size or its limits";
    }
    return out;
  }
  out.has_data = true;

  // CPU.
  const double cpu_used = *usage.cpu_used_avg;
  const double cpu_p95 = usage.cpu_used_p95.value_or(cpu_used);
  out.cpu_lying = cpus + usage.cpu_overhead - cpu_used;
  const bool throttled = usage.cpu_throttled >= options.throttle_threshold;
  const double cpu_headroom = settings.cpu_headroom.value_or(options.cpu_p95_headroom);
  // Over a peak (PolicyOptions::peak_headroom_multiple): below where bursts throttle.
  const double peak_headroom = cpu_headroom * options.peak_headroom_multiple;
  // The time of day: a recurring peak within the forecast lead that would
  // leave the lying factor below the band grows the app ahead of it.
  const bool peak_ahead = usage.cpu_forecast_soon && !throttled && *out.cpu_lying >= settings.cpu_band.low &&
                          cpus + usage.cpu_overhead - *usage.cpu_forecast_soon < settings.cpu_band.low;
  // A container living above its whole limit (its mean above it, a hot spot,
  // and its p95 too: no blip) grows, though its lying factor is inside a band
  // whose low edge is below zero: under CPU shares it takes its neighbours'
  // cores all day (under a quota it is throttled instead).
  const bool above_limit =
      *out.cpu_lying < 0 && moreThanHalfAStepAbove(cpu_p95, cpus + usage.cpu_overhead, options.cpu_step);
  const bool cpu_low = *out.cpu_lying < settings.cpu_band.low || throttled || peak_ahead || above_limit;
  const bool cpu_high = *out.cpu_lying > settings.cpu_band.high && !throttled && !peak_ahead && !above_limit;
  bool held_by_forecast = false;
  out.cpu_out_of_band = cpu_low || cpu_high;
  if (out.cpu_out_of_band) {
    const double target =
        settings.cpu_band.low + options.target_in_band * (settings.cpu_band.high - settings.cpu_band.low);
    double wanted = std::max(cpu_used + target, cpu_p95 * (1 + cpu_headroom));
    if (peak_ahead) wanted = std::max(wanted, *usage.cpu_forecast_soon * (1 + peak_headroom));
    // Throttled: the demand is the limit plus what the quota held back,
    // where the agents measure it (throttled time). That is a mean over the
    // agent's last interval, and bursts within it reach the limit (a p95
    // would show them): it gets the peak's headroom. Unmeasured,
    // throttled in every period, the demand is likely twice the limit or
    // more.
    if (throttled) {
      const double limit = cpus + usage.cpu_overhead;
      if (usage.cpu_throttled_cores) {
        wanted = std::max(wanted, (limit + *usage.cpu_throttled_cores) * (1 + peak_headroom));
      } else {
        wanted = std::max(wanted, limit * std::max(options.throttle_bump, 1 + std::min(usage.cpu_throttled, 1.0)));
      }
    }
    out.cpus = clampTo(roundUpToStep(wanted - usage.cpu_overhead, options.cpu_step), options.cpu_floor,
                       settings.cpu_min, settings.cpu_max, options.cpu_ceiling);
    // Too much reserved never grows, too little never shrinks (the history's
    // p95 may ask for more than a lying factor above the band): such a
    // redeploy would not bring the lying factor back into the band.
    out.cpus = cpu_high ? std::min(out.cpus, cpus) : std::max(out.cpus, cpus);
    // A shrink holds through the next day: never below its forecast peak,
    // with the peak's headroom (a floor at 91 % of the limit would throttle
    // at the next peak a little higher, and grow it back).
    if (cpu_high && usage.cpu_forecast_peak) {
      const double day_peak =
          clampTo(roundUpToStep(*usage.cpu_forecast_peak * (1 + peak_headroom) - usage.cpu_overhead, options.cpu_step),
                  options.cpu_floor, settings.cpu_min, settings.cpu_max, options.cpu_ceiling);
      if (day_peak > out.cpus) {
        out.cpus = std::min(day_peak, cpus);
        held_by_forecast = true;
      }
    }
  }

  // Memory (only with figures: some sources have none).
  bool mem_low = false;
  bool mem_high = false;
  std::optional<double> mem_wanted;  // where a shrink stepped, what the figures wanted
  if (usage.mem_used_mib) {
    const double mem_used = *usage.mem_used_mib;
    const double mem_peak = std::max(usage.mem_peak_mib.value_or(mem_used), mem_used);
    out.mem_lying = mem_mib + usage.mem_overhead_mib - mem_used;
    mem_low = *out.mem_lying < settings.mem_band.low || usage.mem_near_limit || oom_mem.has_value();
    mem_high = *out.mem_lying > settings.mem_band.high && !usage.mem_near_limit && !oom_mem;
    out.mem_out_of_band = mem_low || mem_high;
    if (out.mem_out_of_band) {
      const double target =
          settings.mem_band.low + options.target_in_band * (settings.mem_band.high - settings.mem_band.low);
      double wanted =
          std::max(mem_used + target, mem_peak * (1 + settings.mem_headroom.value_or(options.mem_peak_headroom)));
      if (usage.mem_near_limit) wanted = std::max(wanted, (mem_mib + usage.mem_overhead_mib) * options.oom_bump);
      out.mem_mib = clampTo(roundUpToStep(wanted - usage.mem_overhead_mib, options.mem_step_mib), options.mem_floor_mib,
                            settings.mem_min, settings.mem_max, options.mem_ceiling_mib);
      // The same for memory: too much reserved never grows (the history's
      // peak plus margin may be above it with today's use far below), and it
      // never goes below that peak plus margin either.
      if (mem_high) out.mem_mib = std::min(out.mem_mib, mem_mib);
      // A memory shrink goes in steps (PolicyOptions::mem_shrink_reach),
      // each still worth a restart (the app's minimum change).
      if (mem_high && mem_mib > 0 && out.mem_mib > 0 && options.mem_shrink_reach < 1) {
        const double reach = roundUpToStep(
            std::pow(mem_mib, 1 - options.mem_shrink_reach) * std::pow(out.mem_mib, options.mem_shrink_reach),
            options.mem_step_mib);
        const double worth =
            std::floor(std::min(mem_mib * (1 - settings.min_change), mem_mib - settings.min_change_mem_mib) /
                       options.mem_step_mib) *
            options.mem_step_mib;
        const double stepped = clampTo(std::min(reach, worth), options.mem_floor_mib, settings.mem_min,
                                       settings.mem_max, options.mem_ceiling_mib);
        if (stepped > out.mem_mib) {
          mem_wanted = out.mem_mib;
          out.mem_mib = stepped;
        }
      }
    }
  }
  if (oom_mem) {
    out.mem_out_of_band = true;
    out.mem_mib = std::max({out.mem_mib, *oom_mem, mem_mib});
  }
  // At risk after a shrink of the sizer's: each resource it took goes back
  // at least to the search's (set only then; AppUsage::shrink_undone_*).
  if (usage.shrink_undone_cpus) {
    out.cpus = std::max(out.cpus, clampTo(*usage.shrink_undone_cpus, options.cpu_floor, settings.cpu_min,
                                          settings.cpu_max, options.cpu_ceiling));
  }
  if (usage.shrink_undone_mem_mib) {
    out.mem_mib = std::max(out.mem_mib, clampTo(*usage.shrink_undone_mem_mib, options.mem_floor_mib, settings.mem_min,
                                                settings.mem_max, options.mem_ceiling_mib));
  }
  // After an OOM kill memory is held at its growth for a while: a restarted
  // task's small use is no reason to shrink back to the limit that killed it.
  const bool held_by_oom = usage.mem_hold_mib && out.mem_mib < std::min(*usage.mem_hold_mib, mem_mib);
  if (usage.mem_hold_mib) out.mem_mib = std::max(out.mem_mib, std::min(*usage.mem_hold_mib, mem_mib));
  if (held_by_oom && !mem_low) {
    mem_high = false;
    out.mem_out_of_band = false;
  }

  out.hot = throttled || usage.mem_near_limit || oom_mem.has_value() || *out.cpu_lying < 0 ||
            (out.mem_lying && *out.mem_lying < 0);
  out.direction = cpu_low || mem_low ? Direction::kUp : (cpu_high || mem_high ? Direction::kDown : Direction::kNone);

  // Never take resources from a consumer that is falling behind, nor from
  // an app whose use collapsed against its time of day (an upstream outage
  // is no reason to shrink).
  const bool held_by_lag = usage.lag_growing && (out.cpus < cpus || out.mem_mib < mem_mib);
  // (Said also where another rule, the day's peak, holds the shrink too:
  // the collapse is what the operator must hear of.)
  const bool held_by_anomaly =
      usage.anomaly && (out.cpus < cpus || out.mem_mib < mem_mib || out.direction == Direction::kDown);
  if (usage.lag_growing || usage.anomaly) {
    out.cpus = std::max(out.cpus, cpus);
    out.mem_mib = std::max(out.mem_mib, mem_mib);
  }

  // A sick app keeps its reservation, but for memory after an OOM kill.
  if (!usage.sick.empty()) {
    out.cpus = cpus;
    if (!oom_mem) out.mem_mib = mem_mib;
  }

  if (out.direction == Direction::kNone) {
    state = {};
    if (!options.explain) return out;
    out.reason = "cpu lying factor " + formatFixed(*out.cpu_lying, 2) + " within " + bandText(settings.cpu_band, 2);
    if (out.mem_lying) {
      out.reason += ", memory " + formatFixed(*out.mem_lying, 0) + " MiB within " + bandText(settings.mem_band, 0);
    }
    if (held_by_oom) out.reason += memHoldText(usage);
    return out;
  }
  if (!state.out_of_band_since || state.direction != out.direction || now < *state.out_of_band_since) {
    state.out_of_band_since = now;
    state.direction = out.direction;
  }
  // Use that collapsed anomalously is no evidence for a shrink: the wait
  // starts over, so that as use returns (the mean sized on lags behind it)
  // a whole sustain passes before one.
  if (usage.anomaly && out.direction == Direction::kDown) state.out_of_band_since = now;
  const Duration outside = now - *state.out_of_band_since;
  const Duration shrink_history = std::max(options.min_history, options.sustain);
  Duration needed = options.sustain;
  // A container at its memory limit is being OOM-killed or is about to be:
  // one sample of it is evidence enough, like an alert. One using clearly
  // more CPU than it reserves is starving its neighbours or itself, and one
  // throttled in nearly every period (under a quota it cannot use more) is
  // starving: a fifth of the sustain. Throttled less, it waits the whole
  // sustain.
  const bool cpu_short =
      usesMoreCpuThanReserved(usage, cpus, options) || usage.cpu_throttled >= options.saturated_throttle;
  if (out.hot && out.direction == Direction::kUp) {
    if (usage.alerted || usage.mem_near_limit || oom_mem) {
      needed = Duration::zero();
    } else if (cpu_short) {
      needed = options.sustain / 5;
    }
  }

  // Say what is out of band, most telling first (when someone reads it).
  if (options.explain) {
    std::string what;
    if (throttled) {
      what =
          "cpu throttled in " + formatFixed(usage.cpu_throttled * 100, 0) + "% of periods" +
          (usage.cpu_throttled_cores ? " (" + formatFixed(*usage.cpu_throttled_cores, 2) + " cores of demand held back)"
                                     : std::string()) +
          cpuUndoneText(usage);
    } else if (peak_ahead) {
      what = "a daily cpu peak of " + formatFixed(*usage.cpu_forecast_soon, 2) + " cores expected at " +
             clockTime(usage.cpu_forecast_soon_at.value_or(now));
    } else if (above_limit && *out.cpu_lying >= settings.cpu_band.low) {
      what = "cpu used above all it reserves (" + formatFixed(cpu_used, 2) + " cores on average, " +
             formatFixed(cpu_p95, 2) + " at p95, of " + formatFixed(cpus + usage.cpu_overhead, 2) + ")";
    } else if (out.cpu_out_of_band) {
      what = "cpu lying factor " + formatFixed(*out.cpu_lying, 2) + (cpu_low ? " below" : " above") + " band " +
             bandText(settings.cpu_band, 2);
    }
    // Short of CPU without a quota (CPU shares): the search back is its own.
    const bool cpu_searched = usage.shrink_undone_cpus && !throttled && out.cpu_out_of_band && cpu_low;
    if (cpu_searched) what += cpuUndoneText(usage);
    if (oom_mem) {
      what += std::string(what.empty() ? "" : ", ") + "OOM-killed at " + formatFixed(*usage.oom_killed_mem_mib, 0) +
              " MiB" + memUndoneText(usage);
    } else if (usage.mem_near_limit) {
      what += std::string(what.empty() ? "" : ", ") + "memory at its limit" + memUndoneText(usage);
    } else if (out.mem_out_of_band) {
      what += std::string(what.empty() ? "" : ", ") + "memory lying factor " + formatFixed(*out.mem_lying, 0) + " MiB" +
              (mem_low ? " below" : " above") + " band " + bandText(settings.mem_band, 0);
    }
    // The other resource of a shrink proved wrong goes back with it.
    if (usage.shrink_undone_cpus && !throttled && !cpu_searched) {
      what += ", its cpus with it" + cpuUndoneText(usage);
    }
    if (usage.shrink_undone_mem_mib && !oom_mem && !usage.mem_near_limit) {
      what += ", its memory with it" + memUndoneText(usage);
    }
    // What the days the history remembers hold up (grow fast, shrink slowly).
    if (cpu_high && usage.cpu_p95_days) {
      what += ", its cpus sized on the days' p95 of " + formatFixed(*usage.cpu_p95_days, 2) +
              " cores (--cpu-half-life: a fall lowers it over days)";
    }
    if (mem_high && usage.mem_peak_days) {
      what += ", its memory on the daily peak of " + formatFixed(*usage.mem_peak_days, 0) + " MiB (--memory-days)";
    }
    out.reason = what + " for " + since(outside);
    if (usage.alerted) out.reason += " (alerted)";
  }

  // A grow that cannot wait (a hot spot, an OOM kill) shrinks nothing the
  // other resource has not shown long enough: one redeploy carries both
  // only when both are due.
  const bool shrink_due = outside >= options.sustain && (!usage.history || *usage.history >= shrink_history);
  if (out.direction == Direction::kUp && !shrink_due) {
    out.cpus = std::max(out.cpus, cpus);
    out.mem_mib = std::max(out.mem_mib, mem_mib);
  }
  // Half a step or less is the same size (an off-grid reservation and its
  // value on the grid), as the flow counts grows and shrinks.
  const bool differs = moreThanHalfAStepAbove(out.cpus, cpus, options.cpu_step) ||
                       moreThanHalfAStepAbove(cpus, out.cpus, options.cpu_step) ||
                       moreThanHalfAStepAbove(out.mem_mib, mem_mib, options.mem_step_mib) ||
                       moreThanHalfAStepAbove(mem_mib, out.mem_mib, options.mem_step_mib);
  if (!usage.sick.empty() && !(oom_mem && differs)) {
    if (options.explain) out.reason += "; held: the app is sick (" + usage.sick + ")";
  } else if (held_by_lag && !differs) {
    if (options.explain) out.reason += "; held: a Kafka consumer group of the app is falling behind";
  } else if (held_by_anomaly && !differs) {
    if (options.explain)
      out.reason += "; held: its use collapsed against its time of day (" + formatFixed(cpu_used, 2) + " cores, " +
                    formatFixed(usage.cpu_expected.value_or(0), 2) + " expected at this hour, " +
                    formatFixed(usage.anomaly_score.value_or(0), 1) + " sigma below): an outage is no reason to shrink";
  } else if (held_by_forecast && !differs) {
    if (options.explain)
      out.reason += "; held: the daily cpu peak of " + formatFixed(*usage.cpu_forecast_peak, 2) +
                    " cores expected at " + clockTime(*usage.cpu_forecast_at) + " needs it";
  } else if (held_by_oom && !differs) {
    if (options.explain) out.reason += memHoldText(usage);
  } else if (!differs) {
    if (options.explain) out.reason += "; already at the recommended size or its limits";
  } else if (outside < needed) {
    if (options.explain) out.reason += "; acting after " + since(needed);
  } else if (out.direction == Direction::kDown && usage.history && *usage.history < shrink_history) {
    if (options.explain)
      out.reason += "; acting after " + since(shrink_history) + " of history (has " + since(*usage.history) + ")";
  } else {
    out.resize = true;
    if (held_by_forecast && options.explain) {
      out.reason += "; cpu kept for the daily peak of " + formatFixed(*usage.cpu_forecast_peak, 2) +
                    " cores expected at " + clockTime(*usage.cpu_forecast_at);
    }
    if (mem_wanted && out.mem_mib < mem_mib && options.explain) {
      out.reason += "; memory steps down to " + formatFixed(out.mem_mib, 0) + " MiB of the " +
                    formatFixed(*mem_wanted, 0) + " MiB its figures want (a shrink goes part of the way)";
    }
  }
  return out;
}

}  // namespace rightsize::sizing

namespace rightsize::sizing {
namespace {

// "2.5 cpus" / "unlimited cpus", "3072 MiB" / "unlimited memory".
std::string cpusText(double cpus) { return unlimited(cpus) ? "unlimited cpus" : formatFixed(cpus, 2) + " cpus"; }
std::string memText(double mem_mib) {
  return unlimited(mem_mib) ? "unlimited memory" : formatFixed(mem_mib, 0) + " MiB";
}

// A non-burstable app's request stays within an existing numeric limit
// (Marathon refuses a request above its limit, and the sizer does not write
// limits for it).
void keepWithinLimits(const Resources& current, const PolicyOptions& options, Evaluation& out) {
  std::string capped;
  if (current.limits.cpus && !unlimited(*current.limits.cpus) && out.cpus > *current.limits.cpus) {
    out.cpus = std::max(*current.limits.cpus, current.cpus);
    capped = "cpus at its resourceLimits.cpus " + formatFixed(*current.limits.cpus, 2);
  }
  if (current.limits.mem_mib && !unlimited(*current.limits.mem_mib) && out.mem_mib > *current.limits.mem_mib) {
    out.mem_mib = std::max(*current.limits.mem_mib, current.mem_mib);
    capped += std::string(capped.empty() ? "" : ", ") + "mem at its resourceLimits.mem " +
              formatFixed(*current.limits.mem_mib, 0);
  }
  if (capped.empty()) return;
  out.reason += "; capped " + capped + " (the app is not burstable: its limits are not written)";
  const bool differs = moreThanHalfAStepAbove(out.cpus, current.cpus, options.cpu_step) ||
                       moreThanHalfAStepAbove(current.cpus, out.cpus, options.cpu_step) ||
                       moreThanHalfAStepAbove(out.mem_mib, current.mem_mib, options.mem_step_mib) ||
                       moreThanHalfAStepAbove(current.mem_mib, out.mem_mib, options.mem_step_mib);
  if (!differs) out.resize = false;
}

}  // namespace

Evaluation evaluateResources(const AppSettings& settings, const PolicyOptions& options, const Resources& current,
                             const AppUsage& usage, PolicyState& state, PolicyState& limit_state, TimePoint now) {
  if (!settings.burstable) {
    limit_state = {};
    Evaluation out = evaluate(settings, options, current.cpus, current.mem_mib, usage, state, now);
    // Written back as they are: Marathon drops the resourceLimits a PUT
    // leaves out.
    out.limits = current.limits;
    out.write_limits = !current.limits.empty();
    keepWithinLimits(current, options, out);
    return out;
  }
  // The request: sustained use alone. Bursts, throttling, the memory limit
  // and OOM kills are the limit's; so are the time of day's peaks.
  AppUsage sustained = usage;
  if (sustained.cpu_used_avg && usage.cpu_used_sustained) sustained.cpu_used_avg = usage.cpu_used_sustained;
  sustained.cpu_used_p95 = sustained.cpu_used_avg;
  sustained.cpu_throttled = 0;
  sustained.cpu_throttled_cores.reset();
  sustained.mem_peak_mib = sustained.mem_used_mib;
  sustained.mem_near_limit = false;
  sustained.alerted = false;
  sustained.oom_killed_mem_mib.reset();
  sustained.mem_hold_mib.reset();
  sustained.shrink_undone_cpus.reset();
  sustained.shrink_undone_mem_mib.reset();
  sustained.cpu_forecast_peak.reset();
  sustained.cpu_forecast_soon.reset();
  // A request below sustained use is no hot spot while the limit covers it:
  // it grows after the whole sustain, like any change not at risk.
  // Nor does its memory shrink in steps: the limit, not the request, is
  // what an OOM kill answers to.
  PolicyOptions lazy = options;
  lazy.short_margin = std::numeric_limits<double>::infinity();
  lazy.mem_shrink_reach = 1;
  const Evaluation request = evaluate(settings, lazy, current.cpus, current.mem_mib, sustained, state, now);

  // The limits: everything, as a reservation would be sized. One that is
  // unlimited now and is to be sized is evaluated from the ceiling down.
  const double cpu_limit = limitOr(current.limits.cpus, current.cpus);
  const double mem_limit = limitOr(current.limits.mem_mib, current.mem_mib);
  // Sized on the history's highest p95: a limit reserves nothing.
  AppUsage bursts = usage;
  if (usage.cpu_used_peak && usage.cpu_used_p95)
    bursts.cpu_used_p95 = std::max(*usage.cpu_used_p95, *usage.cpu_used_peak);
  // A limit is never lowered (below): nothing of it shrinks in steps either.
  PolicyOptions whole = options;
  whole.mem_shrink_reach = 1;
  const Evaluation limit =
      evaluate(settings, whole, unlimited(cpu_limit) ? options.cpu_ceiling : cpu_limit,
               unlimited(mem_limit) ? options.mem_ceiling_mib : mem_limit, bursts, limit_state, now);
  const bool grow_limit = limit.resize && limit.direction == Direction::kUp;

  Evaluation out = request;
  out.write_limits = true;
  // An OOM kill grows the limit even without figures (a killed task's).
  out.has_data = request.has_data || limit.has_data;
  if (!request.resize) {
    out.cpus = current.cpus;
    out.mem_mib = current.mem_mib;
  }
  // A limit only grows: it reserves nothing, so lowering it saves nothing
  // and risks the next burst (the app's reservation before it became
  // burstable is its first limit).
  double cpus_limit = cpu_limit;
  double mem_limit_mib = mem_limit;
  if (request.resize || grow_limit) {
    cpus_limit = std::max(limit.cpus, cpu_limit);
    mem_limit_mib = std::max(limit.mem_mib, mem_limit);
  }
  // A host with nothing to spare: a higher CPU limit would only take from
  // the neighbours (the request may still grow: it is what shares weigh).
  const bool hot_host = usage.host_busy && *usage.host_busy >= options.hot_host && cpus_limit > cpu_limit &&
                        !settings.cpu_limit_unlimited;
  if (hot_host) cpus_limit = cpu_limit;
  if (settings.cpu_limit_unlimited) cpus_limit = kUnlimited;
  if (settings.mem_limit_unlimited) mem_limit_mib = kUnlimited;
  out.limits.cpus = std::max(cpus_limit, out.cpus);
  out.limits.mem_mib = std::max(mem_limit_mib, out.mem_mib);
  // A restart only for what changes (a limit equal to what is in force, the
  // request when none is written, is no change).
  const auto moved = [](double a, double b, double step) {
    return !(a == b) && (moreThanHalfAStepAbove(a, b, step) || moreThanHalfAStepAbove(b, a, step));
  };
  const bool changes = moved(out.cpus, current.cpus, options.cpu_step) ||
                       moved(out.mem_mib, current.mem_mib, options.mem_step_mib) ||
                       moved(*out.limits.cpus, cpu_limit, options.cpu_step) ||
                       moved(*out.limits.mem_mib, mem_limit, options.mem_step_mib);
  out.resize = changes && (request.resize || (grow_limit && (!hot_host || mem_limit_mib > mem_limit)));
  out.hot = limit.hot;
  if (grow_limit || (request.direction != Direction::kUp && limit.direction == Direction::kUp)) {
    out.direction = Direction::kUp;
  }
  if (!options.explain) return out;
  if (limit.direction == Direction::kUp || (grow_limit && !request.resize)) {
    out.reason = (request.direction == Direction::kNone ? request.reason : "request: " + request.reason) +
                 "; limit: " + limit.reason;
  } else if (limit.direction == Direction::kDown && !request.resize) {
    out.reason += "; limits kept at " + cpusText(cpu_limit) + ", " + memText(mem_limit) +
                  ", above its bursts (a limit reserves nothing: never lowered, no restart for it)";
  }
  if (hot_host) {
    out.reason += "; cpu limit held at " + cpusText(cpu_limit) + ": its host uses " +
                  formatFixed(*usage.host_busy * 100, 0) + "% of its cores (--hot-host " +
                  formatFixed(options.hot_host * 100, 0) + "%), a higher limit would only take from its neighbours";
  }
  if (out.resize) {
    out.reason += "; limits " + cpusText(*out.limits.cpus) + ", " + memText(*out.limits.mem_mib);
  }
  return out;
}

}  // namespace rightsize::sizing
