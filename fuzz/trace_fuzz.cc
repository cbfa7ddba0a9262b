// Usage traces (the canonical CSV rightsize simulate and the demo replay).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "fuzz_check.h"

#include "rightsize/sim/trace.h"

namespace rightsize::sim {
namespace {

void checkAmount(const std::optional<double>& value) {
  if (value) FUZZ_CHECK(std::isfinite(*value) && *value >= 0);
}

void fuzzOne(std::string_view text) {
  const auto trace = parseTrace(text, "fuzz.csv");
  if (!trace) return;
  FUZZ_CHECK(!trace->apps.empty());
  FUZZ_CHECK(trace->start <= trace->end);
  std::size_t samples = 0;
  for (const auto& app : trace->apps) {
    FUZZ_CHECK(!app.app_id.empty() && !app.points.empty());
    // Each app once: its rows are contiguous.
    FUZZ_CHECK(std::count_if(trace->apps.begin(), trace->apps.end(),
                             [&](const AppTrace& other) { return other.app_id == app.app_id; }) == 1);
    FUZZ_CHECK(app.points.front().at >= trace->start && app.points.back().at <= trace->end);
    for (std::size_t i = 0; i < app.points.size(); ++i) {
      const TracePoint& point = app.points[i];
      if (i > 0) FUZZ_CHECK(app.points[i - 1].at < point.at);
      checkAmount(point.cpu_reserved_cores);
      checkAmount(point.cpu_used_cores);
      checkAmount(point.memory_reserved_mib);
      checkAmount(point.memory_used_mib);
      FUZZ_CHECK(point.memory_reserved_mib.has_value() == point.memory_used_mib.has_value());
      FUZZ_CHECK(app.at(point.at) == &point);
    }
    FUZZ_CHECK(app.at(app.points.front().at - std::chrono::nanoseconds(1)) == nullptr);
    samples += app.points.size();
  }
  FUZZ_CHECK(samples == trace->samples);
}

}  // namespace
}  // namespace rightsize::sim

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rightsize::sim::fuzzOne(rightsize::fuzz::asText(data, size));
  return 0;
}
