#include "rightsize/sizing/app_settings.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <tuple>

#include "rightsize/core/text.h"
#include "rightsize/sizing/policy.h"

namespace rightsize::sizing {

Expected<Band> parseBand(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    return Error(ErrorKind::kInvalidValue, "'" + std::string(text) + "' is not LOW:HIGH, e.g. -0.1:0.6");
  }
  const auto low = parseDouble(text.substr(0, colon));
  const auto high = parseDouble(text.substr(colon + 1));
  if (!low || !high)
    return Error(ErrorKind::kInvalidValue, "'" + std::string(text) + "' is not LOW:HIGH, e.g. -0.1:0.6");
  if (*low >= *high) return Error(ErrorKind::kInvalidValue, "'" + std::string(text) + "': LOW must be below HIGH");
  return Band{*low, *high};
}

std::string_view scaleMetricName(ScaleMetric metric) {
  return metric == ScaleMetric::kCpu ? "cpu" : "kafka_lag_seconds";
}

// The defaults: out above 80 % of the reservation, in below 30 % (the mean
// at 30 % over n instances is at most 30 % x n / (n - 1) on one fewer: 60 %
// from 2 to 1, below 80 %, so no flapping); a consumer out a minute behind,
// in under 5 seconds.
double ScaleSettings::upThreshold() const { return up.value_or(metric == ScaleMetric::kCpu ? 0.8 : 60); }
double ScaleSettings::downThreshold() const { return down.value_or(metric == ScaleMetric::kCpu ? 0.3 : 5); }

namespace {

// The scaling labels (docs/scaling.md), into `s`; bad values reported and
// left at their defaults.
void parseScaleLabels(const std::map<std::string, std::string>& labels, ScaleSettings& s,
                      const std::function<void(const std::string&, const std::string&)>& report) {
  auto value = [&](const char* name) -> const std::string* {
    auto it = labels.find(name);
    return it == labels.end() ? nullptr : &it->second;
  };
  auto whole = [&](const char* name, int low, int high) -> std::optional<int> {
    const std::string* text = value(name);
    if (text == nullptr) return std::nullopt;
    const auto parsed = parseUint64(*text);
    if (parsed && *text == trim(*text) && *parsed >= static_cast<std::uint64_t>(low) &&
        *parsed <= static_cast<std::uint64_t>(high)) {
      return static_cast<int>(*parsed);
    }
    report(name, "'" + *text + "' is not a whole number from " + std::to_string(low) + " to " + std::to_string(high));
    return std::nullopt;
  };
  s.min_instances = whole("rightsize.instances.min", 1, kMaxInstances);
  s.max_instances = whole("rightsize.instances.max", 1, kMaxInstances);
  if (s.min_instances && s.max_instances && *s.min_instances > *s.max_instances) {
    report("rightsize.instances.min", "above rightsize.instances.max; scaling is off");
    s.min_instances.reset();
    s.max_instances.reset();
  }
  if ((s.min_instances.has_value() != s.max_instances.has_value()) &&
      (value("rightsize.instances.min") == nullptr || value("rightsize.instances.max") == nullptr)) {
    report(s.min_instances ? "rightsize.instances.max" : "rightsize.instances.min",
           "missing: scaling needs both rightsize.instances.min and rightsize.instances.max; scaling is off");
  }
  if (!s.min_instances || !s.max_instances) {
    s.min_instances.reset();
    s.max_instances.reset();
  }
  if (const auto* text = value("rightsize.scale.metric")) {
    if (*text == "cpu" || *text == "kafka_lag_seconds") {
      s.metric = *text == "cpu" ? ScaleMetric::kCpu : ScaleMetric::kKafkaLagSeconds;
    } else {
      report("rightsize.scale.metric", "'" + *text + "' is neither cpu nor kafka_lag_seconds");
    }
  }
  // A share of the reservation up to 10 (CPU shares let a task use more
  // than it reserves), or seconds of lag up to a week.
  const double highest = s.metric == ScaleMetric::kCpu ? 10 : 7 * 24 * 3600;
  const std::string what = s.metric == ScaleMetric::kCpu ? "a share of the reservation above 0, up to 10, e.g. 0.8"
                                                         : "seconds of lag above 0, up to 604800, e.g. 60";
  for (auto [name, threshold] : {std::pair{"rightsize.scale.up", &s.up}, {"rightsize.scale.down", &s.down}}) {
    if (const auto* text = value(name)) {
      const auto parsed = parseDouble(*text);
      if (parsed && *parsed > 0 && *parsed <= highest) {
        *threshold = *parsed;
      } else {
        report(name, "'" + *text + "' is not " + what);
      }
    }
  }
  if (s.downThreshold() >= s.upThreshold()) {
    report(s.down ? "rightsize.scale.down" : "rightsize.scale.up",
           "rightsize.scale.down " + formatFixed(s.downThreshold(), 2) + " must be below rightsize.scale.up " +
               formatFixed(s.upThreshold(), 2) + "; both thresholds are the metric's defaults");
    s.up.reset();
    s.down.reset();
  }
  if (auto step = whole("rightsize.scale.step", 1, kMaxScaleStep)) s.step = *step;
  if (const auto* text = value("rightsize.scale.interval")) {
    auto parsed = parseWait(*text);
    if (parsed && *parsed > Duration::zero()) {
      s.interval = *parsed;
    } else {
      report("rightsize.scale.interval", parsed ? "must be longer than 0" : parsed.error().message());
    }
  }
}

}  // namespace

ParsedSettings parseAppLabels(const std::map<std::string, std::string>& labels, const AppSettings& defaults) {
  ParsedSettings out;
  out.settings = defaults;
  AppSettings& s = out.settings;
  auto report = [&](const std::string& label, const std::string& why) {
    out.errors.push_back(label + ": " + sanitizeUtf8(why));
  };
  auto value = [&](const char* name) -> const std::string* {
    auto it = labels.find(name);
    return it == labels.end() ? nullptr : &it->second;
  };
  if (const auto* enabled = value("rightsize.enabled")) {
    if (*enabled == "true") {
      s.enabled = true;
    } else if (*enabled == "false") {
      s.enabled = false;
      s.disabled = true;
    } else {
      report("rightsize.enabled", "'" + *enabled + "' is neither true nor false");
    }
  }
  for (auto [name, band] : {std::pair{"rightsize.cpu.band", &s.cpu_band}, {"rightsize.mem.band", &s.mem_band}}) {
    if (const auto* text = value(name)) {
      auto parsed = parseBand(*text);
      if (parsed) {
        *band = *parsed;
      } else {
        report(name, parsed.error().message());
      }
    }
  }
  const std::pair<const char*, std::optional<double>*> limits[] = {{"rightsize.cpu.min", &s.cpu_min},
                                                                   {"rightsize.cpu.max", &s.cpu_max},
                                                                   {"rightsize.mem.min", &s.mem_min},
                                                                   {"rightsize.mem.max", &s.mem_max}};
  const PolicyOptions sizes;
  for (auto [name, limit] : limits) {
    if (const auto* text = value(name)) {
      const auto parsed = parseDouble(*text);
      if (!parsed || !(*parsed > 0)) {
        report(name, "'" + *text + "' is not a positive number");
        continue;
      }
      const bool cpu = std::string_view(name).starts_with("rightsize.cpu.");
      const double floor = cpu ? sizes.cpu_floor : sizes.mem_floor_mib;
      if (*parsed < floor) {
        report(name, "'" + *text + "' is below the smallest size, " + formatFixed(floor, cpu ? 2 : 0) +
                         (cpu ? " cores" : " MiB") + "; ignored");
        continue;
      }
      *limit = *parsed;
    }
  }
  if (s.cpu_min && s.cpu_max && *s.cpu_min > *s.cpu_max) {
    report("rightsize.cpu.min", "above rightsize.cpu.max; both ignored");
    s.cpu_min = defaults.cpu_min;
    s.cpu_max = defaults.cpu_max;
  }
  if (s.mem_min && s.mem_max && *s.mem_min > *s.mem_max) {
    report("rightsize.mem.min", "above rightsize.mem.max; both ignored");
    s.mem_min = defaults.mem_min;
    s.mem_max = defaults.mem_max;
  }
  // On the sizer's steps (what is sent to Marathon is on them): a bound
  // between two steps is taken to the one inside it (a min up, a max down).
  // Where no step lies between a min and a max (a pin off the step, 1000 MiB
  // to 1000), both are kept as written: the operator's pin holds.
  const auto onStep = [&](const char* min_name, std::optional<double>& min, const char* max_name,
                          std::optional<double>& max, double step, const char* unit, int decimals) {
    // (A size too large for its steps to be counted, 1e308, is kept as
    // written: the sizer's ceilings bound it anyway.)
    const auto snapped = [step](double size, bool up) {
      const double steps = size / step;
      const double on_step = roundUpToStep((up ? std::ceil(steps - 1e-9) : std::floor(steps + 1e-9)) * step, step);
      return std::isfinite(on_step) && on_step > 0 ? on_step : size;
    };
    const std::optional<double> new_min = min ? std::optional(snapped(*min, true)) : std::nullopt;
    const std::optional<double> new_max = max ? std::optional(snapped(*max, false)) : std::nullopt;
    if (new_min && new_max && *new_min > *new_max) {
      report(min_name, "no " + formatFixed(step, decimals) + unit + " step lies between it and " + max_name + " (" +
                           formatExact(*min) + " to " + formatExact(*max) + "): both kept as written");
      return;
    }
    const std::pair<const char*, std::pair<std::optional<double>*, std::optional<double>>> bounds[] = {
        {min_name, {&min, new_min}}, {max_name, {&max, new_max}}};
    for (const auto& [name, bound] : bounds) {
      auto& [label, on_step] = bound;
      if (!*label || std::abs(*on_step - **label) <= 1e-9 * std::max(1.0, **label)) continue;
      report(name, "'" + formatExact(**label) + "' is not on the " + formatFixed(step, decimals) + unit + " step; " +
                       formatFixed(*on_step, decimals) + " used");
      *label = on_step;
    }
  };
  onStep("rightsize.cpu.min", s.cpu_min, "rightsize.cpu.max", s.cpu_max, sizes.cpu_step, " cores", 2);
  onStep("rightsize.mem.min", s.mem_min, "rightsize.mem.max", s.mem_max, sizes.mem_step_mib, " MiB", 0);
  if (const auto* text = value("rightsize.cooldown")) {
    auto parsed = parseWait(*text);
    if (parsed && *parsed > Duration::zero()) {
      s.cooldown = *parsed;
    } else {
      report("rightsize.cooldown", parsed ? "must be longer than 0" : parsed.error().message());
    }
  }
  if (const auto* text = value("rightsize.max-downsizes-per-day")) {
    const auto parsed = parseUint64(*text);
    if (parsed && *parsed <= kMaxDownsizes && *text == trim(*text)) {
      s.max_downsizes = static_cast<int>(*parsed);
    } else {
      report("rightsize.max-downsizes-per-day",
             "'" + *text + "' is not a whole number from 0 to " + std::to_string(kMaxDownsizes));
    }
  }
  if (const auto* text = value("rightsize.min-change")) {
    const auto parsed = parseDouble(*text);
    if (parsed && *parsed >= 0 && *parsed < 1) {
      s.min_change = *parsed;
    } else {
      report("rightsize.min-change", "'" + *text + "' is not a share from 0 to below 1, e.g. 0.1");
    }
  }
  for (auto [name, amount, most, unit, example] :
       {std::tuple{"rightsize.cpu.min-change", &s.min_change_cpus, kMaxMinChangeCpus, "cores", "0.25"},
        {"rightsize.mem.min-change", &s.min_change_mem_mib, kMaxMinChangeMemMib, "MiB", "512"}}) {
    if (const auto* text = value(name)) {
      const auto parsed = parseDouble(*text);
      if (parsed && *parsed >= 0 && *parsed <= most) {
        *amount = *parsed;
      } else {
        report(name, "'" + *text + "' is not a number of " + unit + " from 0 to " + formatFixed(most, 0) + ", e.g. " +
                         example);
      }
    }
  }
  if (const auto* text = value("rightsize.allow-single-instance")) {
    if (*text == "true" || *text == "false") {
      s.allow_single_instance = *text == "true";
    } else {
      report("rightsize.allow-single-instance", "'" + *text + "' is neither true nor false");
    }
  }
  for (auto [name, percentile] :
       {std::pair{"rightsize.cpu.percentile", &s.cpu_percentile}, {"rightsize.mem.percentile", &s.mem_percentile}}) {
    if (const auto* text = value(name)) {
      const auto parsed = parseDouble(*text);
      if (parsed && *parsed >= 50 && *parsed <= 100) {
        *percentile = *parsed / 100;
      } else {
        report(name, "'" + *text + "' is not a percentile from 50 to 100, e.g. 95");
      }
    }
  }
  for (auto [name, headroom] :
       {std::pair{"rightsize.cpu.headroom", &s.cpu_headroom}, {"rightsize.mem.headroom", &s.mem_headroom}}) {
    if (const auto* text = value(name)) {
      const auto parsed = parseDouble(*text);
      if (parsed && *parsed >= 0 && *parsed <= 10) {
        *headroom = *parsed;
      } else {
        report(name, "'" + *text + "' is not a share from 0 to 10, e.g. 0.15 for 15 % above");
      }
    }
  }
  if (const auto* text = value("rightsize.limits")) {
    if (*text == "burstable" || *text == "none") {
      s.burstable = *text == "burstable";
    } else {
      report("rightsize.limits", "'" + *text + "' is neither burstable nor none");
    }
  }
  for (auto [name, unlimited] :
       {std::pair{"rightsize.cpu.limit", &s.cpu_limit_unlimited}, {"rightsize.mem.limit", &s.mem_limit_unlimited}}) {
    if (const auto* text = value(name)) {
      if (*text == "unlimited" || *text == "sized") {
        *unlimited = *text == "unlimited";
      } else {
        report(name, "'" + *text + "' is neither unlimited nor sized");
      }
    }
  }
  if (const auto* text = value("rightsize.kafka.groups")) s.kafka_groups = splitList(*text, ',');
  parseScaleLabels(labels, s.scale, report);
  for (const auto& [name, text] : labels) {
    if (!name.starts_with("rightsize.") ||
        std::find(kAppLabels.begin(), kAppLabels.end(), std::string_view(name)) != kAppLabels.end()) {
      continue;
    }
    report(sanitizeUtf8(name.substr(0, 100)),
           "not a label rightsize reads, ignored (misspelt? docs/sizer.md lists them)");
  }
  return out;
}

}  // namespace rightsize::sizing
