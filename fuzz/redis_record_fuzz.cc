// What the sizer reads back from Redis: app records (HGETALL of
// <prefix>app:<id>), decision entries (XREVRANGE of <prefix>decisions) and
// usage histories (GET of <prefix>history:<id>, the whole input).
// Redis is outside input too: another program, an older or newer sizer or an
// operator may have written anything there.
//
// The decoders are sizing/record_codec.h's and usage_history.h's. The input is the app id on the first line, then one
// "name=value" field per line; the same fields are decoded as an app record and as a decision.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"

#include "rightsize/sizing/record_codec.h"
#include "rightsize/sizing/usage_history.h"

namespace rightsize::sizing {
namespace {

using Fields = RecordFields;

Fields fieldsOf(std::string_view text) {
  Fields fields;
  while (!text.empty()) {
    const auto end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    const auto equals = line.find('=');
    fields.emplace_back(std::string(line.substr(0, equals)),
                        equals == std::string_view::npos ? std::string() : std::string(line.substr(equals + 1)));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return fields;
}

void checkNumber(const std::optional<double>& value) {
  if (value) FUZZ_CHECK(std::isfinite(*value));
}

void checkTime(const std::string& value) {
  const auto t = parseUnixSeconds(value);
  if (!t) return;
  // What the store writes for a time reads back as that time.
  FUZZ_CHECK(parseUnixSeconds(formatUnixSeconds(*t)) == t);
}

void checkRecord(const std::string& app_id, const Fields& fields) {
  const auto record = parseAppRecord(app_id, "fuzz:app", fields);
  // Read leniently (the store's way: a field that only delays the sizer is
  // forgotten), a record read strictly is the same with nothing forgotten,
  // and what is kept writes back to itself.
  std::vector<Error> forgotten;
  const auto lenient = parseAppRecord(app_id, "fuzz:app", fields, &forgotten);
  if (record) FUZZ_CHECK(lenient && *lenient == *record && forgotten.empty());
  if (lenient) {
    const auto kept = parseAppRecord(app_id, "fuzz:app", appRecordFields(*lenient));
    FUZZ_CHECK(kept && *kept == *lenient);
  }
  if (!record) return;
  FUZZ_CHECK(record->app_id == app_id);
  checkNumber(record->intent_cpus);
  checkNumber(record->intent_mem_mib);
  // A record the store writes back (saveApps) decodes to itself.
  const auto again = parseAppRecord(app_id, "fuzz:app", appRecordFields(*record));
  FUZZ_CHECK(again && *again == *record);
}

void checkDecision(const Fields& fields) {
  const auto decision = parseDecision("fuzz:decision", fields);
  if (!decision) return;
  for (const auto* value : {&decision->from_cpus, &decision->to_cpus, &decision->from_mem_mib, &decision->to_mem_mib}) {
    checkNumber(*value);
  }
  const auto again = parseDecision("fuzz:decision", decisionFields(*decision));
  FUZZ_CHECK(again && *again == *decision);
}

// The input whole, as a stored usage history (<prefix>history:<id>).
void checkHistory(std::string_view text) {
  auto history = UsageHistory::decode(text, HistoryOptions{});
  if (!history) return;
  // What the sizer writes back reads back the same.
  const std::string encoded = history->encode();
  auto again = UsageHistory::decode(encoded, HistoryOptions{});
  FUZZ_CHECK(again && again->encode() == encoded);
  if (history->empty()) return;
  AppUsage latest;
  latest.tasks = 1;
  latest.cpu_used_avg = 0.5;
  latest.mem_used_mib = 100;
  // (Only days, hours or a histogram: no bucket, no oldest.)
  const TimePoint now = history->oldest().value_or(fromUnixSeconds(1'700'000'000)) + std::chrono::hours(1);
  AppUsage summary = history->summarize(now, latest);
  FUZZ_CHECK(summary.cpu_used_avg && std::isfinite(*summary.cpu_used_avg));
  if (summary.cpu_used_p95) FUZZ_CHECK(std::isfinite(*summary.cpu_used_p95));
  if (summary.mem_peak_mib) FUZZ_CHECK(std::isfinite(*summary.mem_peak_mib));
  // Figures added on top of whatever was stored stay finite, forecasts too.
  history->add(now, latest);
  summary = history->summarize(now + std::chrono::minutes(5), latest);
  if (summary.anomaly_score) FUZZ_CHECK(std::isfinite(*summary.anomaly_score));
  if (summary.cpu_expected) FUZZ_CHECK(std::isfinite(*summary.cpu_expected));
}

void fuzzOne(std::string_view text) {
  checkHistory(text);
  const auto first_line = text.find('\n');
  const std::string app_id(text.substr(0, first_line));
  const Fields fields = first_line == std::string_view::npos ? Fields() : fieldsOf(text.substr(first_line + 1));
  checkRecord(app_id, fields);
  checkDecision(fields);
  for (const auto& [name, value] : fields) checkTime(value);
}

}  // namespace
}  // namespace rightsize::sizing

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rightsize::sizing::fuzzOne(rightsize::fuzz::asText(data, size));
  return 0;
}
