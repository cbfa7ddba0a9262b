// Usage traces (the canonical CSV rightsize simulate and the demo replay).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "fuzz_check.h"

#include "rightsize/simulate/trace.h"

namespace rightsize::simulate {
namespace {

// Within the trace's documented limits (trace.h), which also rules out NaN.
void checkAmount(const std::optional<double>& value, double ceiling) {
  if (value) FUZZ_CHECK(*value >= 0 && *value <= ceiling);
}

// The lines `text` ends: each \n, and each \r not followed by a \n (a \r\n
// is one ending, a lone \r another), the last byte's included.
std::size_t lineEndings(std::string_view text) {
  std::size_t endings = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' || (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n'))) ++endings;
  }
  return endings;
}

// The input with a last line one byte beyond the limit, which inputs of the
// usual fuzzing sizes never reach: it fails as the input does, or when the
// input has no bad line, on that last line.
void checkLineLimit(std::string_view text, const Expected<Trace>& trace) {
  std::string stretched(text);
  const bool ended = !text.empty() && (text.back() == '\n' || text.back() == '\r');
  if (!text.empty() && !ended) stretched += '\n';
  const std::size_t lines = lineEndings(stretched);
  const char fill = text.empty() || ended ? 'x' : text.back();
  stretched.append(kMaxTraceLineBytes + 1, fill);
  const auto longer = parseTrace(stretched, "fuzz.csv");
  FUZZ_CHECK(!longer.ok());
  const std::string line_error =
      "fuzz.csv:" + std::to_string(lines + 1) + ": line longer than " + std::to_string(kMaxTraceLineBytes) + " bytes";
  // Errors of a whole trace ("fuzz.csv: no rows") come after every line.
  const bool bad_line = !trace.ok() && trace.error().message().starts_with("fuzz.csv:") &&
                        !trace.error().message().starts_with("fuzz.csv: ");
  FUZZ_CHECK(longer.error().message() == (bad_line ? trace.error().message() : line_error));
}

void checkTrace(const Trace& trace) {
  FUZZ_CHECK(!trace.apps.empty());
  FUZZ_CHECK(trace.start <= trace.end);
  FUZZ_CHECK(trace.start >= fromUnixSeconds(0) && trace.end <= fromUnixSeconds(kMaxTraceTimestampSeconds));
  std::size_t samples = 0;
  std::unordered_set<std::string_view> app_ids;
  for (const auto& app : trace.apps) {
    FUZZ_CHECK(!app.app_id.empty() && !app.points.empty());
    // Each app once: its rows are contiguous.
    FUZZ_CHECK(app_ids.insert(app.app_id).second);
    FUZZ_CHECK(app.points.front().at >= trace.start && app.points.back().at <= trace.end);
    for (std::size_t i = 0; i < app.points.size(); ++i) {
      const TracePoint& point = app.points[i];
      if (i > 0) FUZZ_CHECK(app.points[i - 1].at < point.at);
      checkAmount(point.cpu_reserved_cores, kMaxTraceCores);
      checkAmount(point.cpu_used_cores, kMaxTraceCores);
      checkAmount(point.memory_reserved_mib, kMaxTraceMemoryMib);
      checkAmount(point.memory_used_mib, kMaxTraceMemoryMib);
      FUZZ_CHECK(point.memory_reserved_mib.has_value() == point.memory_used_mib.has_value());
      FUZZ_CHECK(app.at(point.at) == &point);
    }
    FUZZ_CHECK(app.at(app.points.front().at - std::chrono::nanoseconds(1)) == nullptr);
    samples += app.points.size();
  }
  FUZZ_CHECK(samples == trace.samples);
}

void fuzzOne(std::string_view text) {
  const auto trace = parseTrace(text, "fuzz.csv");
  if (trace) checkTrace(*trace);
  checkLineLimit(text, trace);
}

}  // namespace
}  // namespace rightsize::simulate

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rightsize::simulate::fuzzOne(rightsize::fuzz::asText(data, size));
  return 0;
}
