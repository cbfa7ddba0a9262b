#include "rightsize/sizing/app_settings.h"

#include <cmath>

#include "rightsize/core/text.h"

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
  for (auto [name, limit] : limits) {
    if (const auto* text = value(name)) {
      const auto parsed = parseDouble(*text);
      if (parsed && *parsed > 0) {
        *limit = *parsed;
      } else {
        report(name, "'" + *text + "' is not a positive number");
      }
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
  if (const auto* text = value("rightsize.cooldown")) {
    auto parsed = parseDuration(*text);
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
  return out;
}

}  // namespace rightsize::sizing
