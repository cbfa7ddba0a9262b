// Prometheus' answers to rightsize report (report/prometheus_client.h):
// query and query_range bodies, errors and warnings.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"

#include "rightsize/report/prometheus_client.h"

namespace rightsize::report {
namespace {

void fuzzOne(std::string_view body) {
  auto result = parseQueryResponse(body, "fuzz");
  if (!result) {
    FUZZ_CHECK(!result.error().message().empty());
    return;
  }
  for (const Series& series : result->series) {
    for (const Point& point : series.points) {
      // What reaches a trace: finite values at times from 1970 to 2200.
      FUZZ_CHECK(std::isfinite(point.value));
      const double seconds = toUnixSeconds(point.at);
      FUZZ_CHECK(seconds >= 0 && seconds <= 7'258'118'400.0);
    }
  }
}

}  // namespace
}  // namespace rightsize::report

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rightsize::report::fuzzOne(rightsize::fuzz::asText(data, size));
  return 0;
}
