#include "rightsize/sizing/record_codec.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstdint>
#include <set>
#include <utility>

#include "rightsize/core/text.h"
#include "rightsize/sizing/app_settings.h"
#include "rightsize/sizing/resource_limits.h"

namespace rightsize::sizing {
namespace {

using Fields = RecordFields;

template <typename Number>
std::string formatNumber(Number value) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, end);
}

void addTime(Fields& fields, const char* name, const std::optional<TimePoint>& t) {
  if (t) fields.emplace_back(name, formatUnixSeconds(*t));
}
void addDouble(Fields& fields, const char* name, const std::optional<double>& value) {
  if (value) fields.emplace_back(name, formatNumber(*value));
}
// A limit: a number, or "unlimited".
void addLimit(Fields& fields, const char* name, const std::optional<double>& value) {
  if (value) fields.emplace_back(name, unlimited(*value) ? "unlimited" : formatNumber(*value));
}
void addString(Fields& fields, const char* name, const std::string& value) {
  if (!value.empty()) fields.emplace_back(name, value);
}

// Reads fields by name into a record; unknown names are left for a newer
// sizer. Fails on the first value that does not parse, naming its field.
class FieldReader {
 public:
  explicit FieldReader(std::string entry) : entry_(std::move(entry)) {}

  Status read(const std::string& name, const std::string& value, std::optional<TimePoint>& out) {
    out = sane(parseUnixSeconds(value));
    return out ? Status::success() : bad(name, value, kTimes);
  }
  Status read(const std::string& name, const std::string& value, TimePoint& out) {
    const auto t = sane(parseUnixSeconds(value));
    if (!t) return bad(name, value, kTimes);
    out = *t;
    return Status::success();
  }
  // Space-separated Unix seconds, in time order, at most kMaxDownsizes.
  Status read(const std::string& name, const std::string& value, std::vector<TimePoint>& out) {
    out.clear();
    for (const auto& word : splitList(value, ' ')) {
      const auto t = sane(parseUnixSeconds(word));
      if (!t || (!out.empty() && *t < out.back())) {
        return bad(name, value, "Unix seconds from 1970 to 2200 in time order, separated by spaces");
      }
      if (out.size() >= static_cast<std::size_t>(kMaxDownsizes)) {
        return bad(name, value, "a list of at most " + std::to_string(kMaxDownsizes) + " times (the largest budget)");
      }
      out.push_back(*t);
    }
    return Status::success();
  }
  Status read(const std::string& name, const std::string& value, std::optional<double>& out) {
    out = parseDouble(value);
    return out ? Status::success() : bad(name, value, "a finite number");
  }
  // A size: a finite number > 0.
  Status readSize(const std::string& name, const std::string& value, std::optional<double>& out) {
    out = parseDouble(value);
    return out && *out > 0 ? Status::success() : bad(name, value, "a number above 0");
  }
  // A limit: a finite number > 0, or "unlimited".
  Status readLimit(const std::string& name, const std::string& value, std::optional<double>& out) {
    out = value == "unlimited" ? std::optional(kUnlimited) : parseDouble(value);
    return out && *out > 0 ? Status::success() : bad(name, value, "a number above 0 or unlimited");
  }
  // Instances: a whole number Marathon can hold, 0 to kMaxInstances.
  Status readInstances(const std::string& name, const std::string& value, std::optional<int>& out) {
    const auto n = parseUint64(value);
    if (!n || value != trim(value) || *n > static_cast<std::uint64_t>(kMaxInstances)) {
      return bad(name, value, "a whole number of instances from 0 to " + std::to_string(kMaxInstances));
    }
    out = static_cast<int>(*n);
    return Status::success();
  }
  Status read(const std::string& name, const std::string& value, std::uint64_t& out) {
    const auto n = parseUint64(value);
    if (!n || value != trim(value)) return bad(name, value, "a non-negative integer");
    out = *n;
    return Status::success();
  }

 private:
  // A time this sizer writes: from 1970 to 2200 (as Marathon's are read),
  // so that differences of two never overflow the nanosecond clock.
  static constexpr std::string_view kTimes = "Unix seconds from 1970 to 2200";
  static std::optional<TimePoint> sane(std::optional<TimePoint> t) {
    if (t && (t->time_since_epoch().count() < 0 || *t > fromUnixSeconds(7'258'118'400))) return std::nullopt;
    return t;
  }
  Status bad(const std::string& name, const std::string& value, std::string_view expected) const {
    return Error(ErrorKind::kMalformed, entry_ + " field " + name + ": \"" + sanitizeUtf8(value.substr(0, 64)) +
                                            "\" is not " + std::string(expected));
  }
  std::string entry_;
};

}  // namespace

// Exact to the nanosecond (a double would lose the last digits at today's
// epoch), trailing zeros dropped: "1700000000.25".
std::string formatUnixSeconds(TimePoint t) {
  const std::int64_t ns = t.time_since_epoch().count();
  const std::uint64_t magnitude = ns < 0 ? 0 - static_cast<std::uint64_t>(ns) : static_cast<std::uint64_t>(ns);
  std::string out = ns < 0 ? "-" : "";
  out += formatNumber(magnitude / 1'000'000'000);
  std::uint64_t fraction = magnitude % 1'000'000'000;
  if (fraction == 0) return out;
  std::string digits = formatNumber(fraction);
  digits.insert(0, 9 - digits.size(), '0');
  digits.erase(digits.find_last_not_of('0') + 1);
  return out + "." + digits;
}

std::optional<TimePoint> parseUnixSeconds(std::string_view value) {
  const bool negative = value.starts_with('-');
  if (negative) value.remove_prefix(1);
  const auto dot = value.find('.');
  const std::string_view whole = value.substr(0, dot);
  const std::string_view fraction = dot == std::string_view::npos ? std::string_view() : value.substr(dot + 1);
  if (whole.empty() || (dot != std::string_view::npos && (fraction.empty() || fraction.size() > 9))) {
    return std::nullopt;
  }
  const bool all_digits = std::all_of(whole.begin(), whole.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
                          std::all_of(fraction.begin(), fraction.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!all_digits) return std::nullopt;
  const auto seconds = parseUint64(whole);
  std::uint64_t nanos = fraction.empty() ? 0 : *parseUint64(fraction);
  for (std::size_t i = fraction.size(); i < 9; ++i) nanos *= 10;
  constexpr std::uint64_t kMaxSeconds = INT64_MAX / 1'000'000'000 - 1;
  if (!seconds || *seconds > kMaxSeconds) return std::nullopt;
  const auto ns = static_cast<std::int64_t>(*seconds * 1'000'000'000 + nanos);
  return TimePoint(Duration(negative ? -ns : ns));
}

Fields appRecordFields(const AppRecord& r) {
  Fields fields;
  fields.emplace_back("app_id", r.app_id);
  if (r.state) fields.emplace_back("state", std::string(appStateName(*r.state)));
  addTime(fields, "out_of_band_since", r.out_of_band_since);
  addString(fields, "out_of_band_direction", r.out_of_band_direction);
  addTime(fields, "limit_out_of_band_since", r.limit_out_of_band_since);
  addString(fields, "limit_out_of_band_direction", r.limit_out_of_band_direction);
  addDouble(fields, "intent_cpus", r.intent_cpus);
  addDouble(fields, "intent_mem_mib", r.intent_mem_mib);
  addLimit(fields, "intent_cpus_limit", r.intent_cpus_limit);
  addLimit(fields, "intent_mem_limit_mib", r.intent_mem_limit_mib);
  if (r.intent_instances) fields.emplace_back("intent_instances", formatNumber(*r.intent_instances));
  addString(fields, "intent_id", r.intent_id);
  addString(fields, "deployment_id", r.deployment_id);
  addTime(fields, "intent_at", r.intent_at);
  addTime(fields, "last_change_at", r.last_change_at);
  addTime(fields, "cooldown_until", r.cooldown_until);
  fields.emplace_back("resizes", formatNumber(r.resizes));
  addString(fields, "refused_version", r.refused_version);
  addString(fields, "refusal", r.refusal);
  addTime(fields, "refused_until", r.refused_until);
  addString(fields, "oom_task_id", r.oom_task_id);
  addDouble(fields, "mem_hold_mib", r.mem_hold_mib);
  addTime(fields, "mem_hold_until", r.mem_hold_until);
  if (r.oom_streak > 0) fields.emplace_back("oom_streak", formatNumber(r.oom_streak));
  addDouble(fields, "shrunk_from_mem_mib", r.shrunk_from_mem_mib);
  addTime(fields, "mem_shrunk_at", r.mem_shrunk_at);
  addDouble(fields, "shrunk_from_cpus", r.shrunk_from_cpus);
  addTime(fields, "cpu_shrunk_at", r.cpu_shrunk_at);
  addString(fields, "failed_version", r.failed_version);
  addTime(fields, "failed_until", r.failed_until);
  if (!r.downsizes.empty()) {
    std::string times;
    for (const TimePoint t : r.downsizes) times += (times.empty() ? "" : " ") + formatUnixSeconds(t);
    fields.emplace_back("downsizes", std::move(times));
  }
  addTime(fields, "scale_since", r.scale_since);
  addString(fields, "scale_direction", r.scale_direction);
  addTime(fields, "last_scale_at", r.last_scale_at);
  if (r.scales > 0) fields.emplace_back("scales", formatNumber(r.scales));
  addTime(fields, "born_at", r.born_at);
  addTime(fields, "shrink_proved_wrong_at", r.shrink_proved_wrong_at);
  return fields;
}

// The names of /v1/decisions (docs/sizer.md): "timestamp", and "mem" in MiB
// as Marathon and /v1/apps call it.
Fields decisionFields(const Decision& d) {
  Fields fields;
  fields.emplace_back("timestamp", formatUnixSeconds(d.at));
  fields.emplace_back("app_id", d.app_id);
  fields.emplace_back("action", std::string(decisionActionName(d.action)));
  addDouble(fields, "from_cpus", d.from_cpus);
  addDouble(fields, "to_cpus", d.to_cpus);
  addDouble(fields, "from_mem", d.from_mem_mib);
  addDouble(fields, "to_mem", d.to_mem_mib);
  if (d.from_instances) fields.emplace_back("from_instances", formatNumber(*d.from_instances));
  if (d.to_instances) fields.emplace_back("to_instances", formatNumber(*d.to_instances));
  addString(fields, "reason", d.reason);
  addString(fields, "deployment_id", d.deployment_id);
  fields.emplace_back("fencing_token", formatNumber(d.fencing_token));
  return fields;
}

Expected<AppRecord> parseAppRecord(const std::string& app_id, const std::string& key, const Fields& fields,
                                   std::vector<Error>* forgotten) {
  if (fields.empty()) return Error(ErrorKind::kMissingField, key + " is listed in the set of apps but has no hash");
  AppRecord r;
  r.app_id = app_id;
  FieldReader reader(key);
  for (const auto& [name, value] : fields) {
    Status status;
    if (name == "app_id") {
      if (value != app_id) {
        return Error(ErrorKind::kMalformed, key + " field app_id: \"" + sanitizeUtf8(value) + "\" names another app");
      }
    } else if (name == "state") {
      r.state = parseAppState(value);  // shown, never decided on: an unknown name is no error
    } else if (name == "out_of_band_since") {
      status = reader.read(name, value, r.out_of_band_since);
    } else if (name == "out_of_band_direction") {
      r.out_of_band_direction = value;
    } else if (name == "limit_out_of_band_since") {
      status = reader.read(name, value, r.limit_out_of_band_since);
    } else if (name == "limit_out_of_band_direction") {
      r.limit_out_of_band_direction = value;
    } else if (name == "intent_cpus_limit") {
      status = reader.readLimit(name, value, r.intent_cpus_limit);
    } else if (name == "intent_mem_limit_mib") {
      status = reader.readLimit(name, value, r.intent_mem_limit_mib);
    } else if (name == "intent_cpus") {
      status = reader.read(name, value, r.intent_cpus);
    } else if (name == "intent_mem_mib") {
      status = reader.read(name, value, r.intent_mem_mib);
    } else if (name == "intent_id") {
      r.intent_id = value;
    } else if (name == "deployment_id") {
      r.deployment_id = value;
    } else if (name == "intent_at") {
      status = reader.read(name, value, r.intent_at);
    } else if (name == "last_change_at") {
      status = reader.read(name, value, r.last_change_at);
    } else if (name == "cooldown_until") {
      status = reader.read(name, value, r.cooldown_until);
    } else if (name == "resizes") {
      status = reader.read(name, value, r.resizes);
    } else if (name == "refused_version") {
      r.refused_version = value;
    } else if (name == "refusal") {
      r.refusal = value;
    } else if (name == "refused_until") {
      status = reader.read(name, value, r.refused_until);
    } else if (name == "oom_task_id") {
      r.oom_task_id = value;
    } else if (name == "mem_hold_mib") {
      status = reader.read(name, value, r.mem_hold_mib);
    } else if (name == "mem_hold_until") {
      status = reader.read(name, value, r.mem_hold_until);
    } else if (name == "oom_streak") {
      status = reader.read(name, value, r.oom_streak);
    } else if (name == "shrunk_from_mem_mib") {
      status = reader.readSize(name, value, r.shrunk_from_mem_mib);
    } else if (name == "mem_shrunk_at") {
      status = reader.read(name, value, r.mem_shrunk_at);
    } else if (name == "shrunk_from_cpus") {
      status = reader.readSize(name, value, r.shrunk_from_cpus);
    } else if (name == "cpu_shrunk_at") {
      status = reader.read(name, value, r.cpu_shrunk_at);
    } else if (name == "failed_version") {
      r.failed_version = value;
    } else if (name == "failed_until") {
      status = reader.read(name, value, r.failed_until);
    } else if (name == "downsizes") {
      status = reader.read(name, value, r.downsizes);
    } else if (name == "intent_instances") {
      status = reader.readInstances(name, value, r.intent_instances);
    } else if (name == "scale_since") {
      status = reader.read(name, value, r.scale_since);
    } else if (name == "scale_direction") {
      r.scale_direction = value;
    } else if (name == "last_scale_at") {
      status = reader.read(name, value, r.last_scale_at);
    } else if (name == "scales") {
      status = reader.read(name, value, r.scales);
    } else if (name == "born_at") {
      status = reader.read(name, value, r.born_at);
    } else if (name == "shrink_proved_wrong_at") {
      status = reader.read(name, value, r.shrink_proved_wrong_at);
    }
    if (status) continue;
    // Forgotten, it makes the sizer wait longer or count less, no sooner.
    static const std::set<std::string_view> forgettable = {
        "out_of_band_since", "limit_out_of_band_since", "scale_since", "last_change_at", "resizes", "scales"};
    if (forgotten == nullptr || !forgettable.contains(name)) return status.error();
    forgotten->push_back(
        Error(status.error().kind(), status.error().message() + "; forgotten, the rest of " + key + " kept"));
    if (name == "out_of_band_since") r.out_of_band_since.reset();
    if (name == "limit_out_of_band_since") r.limit_out_of_band_since.reset();
    if (name == "scale_since") r.scale_since.reset();
    if (name == "last_change_at") r.last_change_at.reset();
    if (name == "resizes") r.resizes = 0;
    if (name == "scales") r.scales = 0;
  }
  return r;
}

Expected<Decision> parseDecision(const std::string& entry, const Fields& fields) {
  Decision d;
  bool has_at = false;
  bool has_action = false;
  FieldReader reader(entry);
  for (const auto& [name, value] : fields) {
    Status status;
    // "at", "from_mem_mib" and "to_mem_mib": the names older sizers wrote,
    // still in their streams.
    if (name == "timestamp" || name == "at") {
      status = reader.read(name, value, d.at);
      has_at = true;
    } else if (name == "app_id") {
      d.app_id = value;
    } else if (name == "action") {
      auto action = parseDecisionAction(value);
      if (!action) {
        return Error(ErrorKind::kMalformed, entry + " field action: \"" + sanitizeUtf8(value.substr(0, 64)) +
                                                "\" is not an action this sizer knows");
      }
      d.action = *action;
      has_action = true;
    } else if (name == "from_cpus") {
      status = reader.read(name, value, d.from_cpus);
    } else if (name == "to_cpus") {
      status = reader.read(name, value, d.to_cpus);
    } else if (name == "from_mem" || name == "from_mem_mib") {
      status = reader.read(name, value, d.from_mem_mib);
    } else if (name == "to_mem" || name == "to_mem_mib") {
      status = reader.read(name, value, d.to_mem_mib);
    } else if (name == "from_instances") {
      status = reader.readInstances(name, value, d.from_instances);
    } else if (name == "to_instances") {
      status = reader.readInstances(name, value, d.to_instances);
    } else if (name == "reason") {
      d.reason = value;
    } else if (name == "deployment_id") {
      d.deployment_id = value;
    } else if (name == "fencing_token") {
      status = reader.read(name, value, d.fencing_token);
    }
    if (!status) return status.error();
  }
  if (!has_at) return Error(ErrorKind::kMissingField, entry + " has no field timestamp");
  if (!has_action) return Error(ErrorKind::kMissingField, entry + " has no field action");
  return d;
}

}  // namespace rightsize::sizing
