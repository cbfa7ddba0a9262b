// Per-app settings from Marathon labels (rightsize.cpu.band=-0.1:0.6, ...).
// The input is a label set, one "key=value" per line (a line without '='
// is a key with an empty value); the value of rightsize.cpu.band also goes
// to parseBand alone.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "fuzz_check.h"

#include "rightsize/core/text.h"
#include "rightsize/sizing/app_settings.h"

namespace rightsize::sizing {
namespace {

std::map<std::string, std::string> labelsOf(std::string_view text) {
  std::map<std::string, std::string> labels;
  while (!text.empty()) {
    const auto end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    const auto equals = line.find('=');
    labels[std::string(line.substr(0, equals))] =
        equals == std::string_view::npos ? std::string() : std::string(line.substr(equals + 1));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return labels;
}

void checkBand(const Band& band) {
  FUZZ_CHECK(std::isfinite(band.low) && std::isfinite(band.high));
  FUZZ_CHECK(band.low < band.high);
}

void checkLimits(const std::optional<double>& min, const std::optional<double>& max) {
  for (const auto& limit : {min, max}) {
    if (limit) FUZZ_CHECK(std::isfinite(*limit) && *limit > 0);
  }
  if (min && max) FUZZ_CHECK(*min <= *max);
}

void fuzzOne(std::string_view text) {
  const auto labels = labelsOf(text);
  if (const auto it = labels.find("rightsize.cpu.band"); it != labels.end()) {
    if (const auto band = parseBand(it->second)) checkBand(*band);
  }
  const AppSettings defaults;
  const ParsedSettings parsed = parseAppLabels(labels, defaults);
  const AppSettings& s = parsed.settings;
  FUZZ_CHECK(!(s.enabled && s.disabled));
  checkBand(s.cpu_band);
  checkBand(s.mem_band);
  checkLimits(s.cpu_min, s.cpu_max);
  checkLimits(s.mem_min, s.mem_max);
  FUZZ_CHECK(s.cooldown > Duration::zero());
  for (const auto& group : s.kafka_groups) FUZZ_CHECK(!group.empty() && group == trim(group));
  // Reported per bad label, in text fit for JSON.
  FUZZ_CHECK(parsed.errors.size() <= labels.size());
  for (const auto& error : parsed.errors) {
    FUZZ_CHECK(error.starts_with("rightsize."));
    FUZZ_CHECK(isValidUtf8(error));
  }
}

}  // namespace
}  // namespace rightsize::sizing

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rightsize::sizing::fuzzOne(rightsize::fuzz::asText(data, size));
  return 0;
}
