// What the sizer reads from each agent: GET /v1/containers and GET /v1/lag.
// Every input goes to both parsers.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "fuzz_check.h"

#include "rightsize/core/json.h"
#include "rightsize/sizing/agent_reader.h"

namespace rightsize::sizing {
namespace {

// The number of entries of the array `name`, or nullopt when the body has
// no such array (then the parser must report exactly one error).
std::optional<std::size_t> entries(std::string_view body, const char* name) {
  auto document = json::parse(body, "fuzz");
  if (!document) return std::nullopt;
  const json::Value* array = json::find(*document, name);
  if (array == nullptr || !array->IsArray()) return std::nullopt;
  return array->Size();
}

void checkFigure(const std::optional<double>& figure) {
  if (figure) FUZZ_CHECK(std::isfinite(*figure) && *figure >= 0);
}

void fuzzOne(std::string_view body) {
  std::vector<Error> errors;
  const auto tasks = parseContainersReport(body, "fuzz", errors);
  for (const auto& task : tasks) {
    for (const auto* figure : {&task.cpu_reserved, &task.cpu_used_avg, &task.cpu_used_p95, &task.cpu_throttled,
                               &task.mem_reserved_bytes, &task.mem_used_bytes, &task.mem_peak_bytes}) {
      checkFigure(*figure);
    }
  }
  // Every entry is either kept or reported; a body without the array is one error.
  const auto containers = entries(body, "containers");
  FUZZ_CHECK(tasks.size() + errors.size() == containers.value_or(1));

  errors.clear();
  const auto groups = parseLagReport(body, "fuzz", errors);
  const auto lag_groups = entries(body, "groups");
  FUZZ_CHECK(groups.size() + errors.size() == lag_groups.value_or(1));
}

}  // namespace
}  // namespace rightsize::sizing

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rightsize::sizing::fuzzOne(rightsize::fuzz::asText(data, size));
  return 0;
}
