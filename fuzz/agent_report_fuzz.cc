// What the sizer reads from each agent, GET /v1/containers and GET /v1/lag,
// through wire/'s decoders; every input goes to both. A decoded report must
// also survive the trip the agent's own reports make: encoded, it decodes
// without error to the same entries.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"

#include "rightsize/core/json.h"
#include "rightsize/core/text.h"
#include "rightsize/wire/containers_report.h"
#include "rightsize/wire/lag_report.h"

namespace rightsize::wire {
namespace {

// The number of entries of the array `name`, or nullopt when the body has
// no such array (then the decoder must report exactly one error).
std::optional<std::size_t> entries(std::string_view body, const char* name) {
  auto document = json::parse(body, "fuzz");
  if (!document) return std::nullopt;
  const json::Value* array = json::find(*document, name);
  if (array == nullptr || !array->IsArray()) return std::nullopt;
  return array->Size();
}

void checkErrors(const std::vector<Error>& errors) {
  for (const auto& error : errors) FUZZ_CHECK(error.message().find("fuzz") != std::string::npos);
}

// What the sizer relies on: unknown, or finite and >= 0.
void checkFigure(const std::optional<double>& figure) {
  if (figure) FUZZ_CHECK(std::isfinite(*figure) && *figure >= 0);
}

// Read back after encoding: the same number, within the last digits that
// rapidjson's default (fast) number parsing may get wrong.
bool near(const std::optional<double>& a, const std::optional<double>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || std::abs(*a - *b) <= 1e-12 * std::max(1.0, std::abs(*a));
}

// Strings are written as valid UTF-8 (invalid sequences replaced).
bool sameText(const std::string& decoded, const std::string& again) { return sanitizeUtf8(decoded) == again; }

void fuzzContainers(std::string_view body) {
  std::vector<Error> errors;
  const ContainersReport report = decodeContainersReport(body, "fuzz", errors);
  checkErrors(errors);
  for (const auto& c : report.containers) {
    for (const auto* figure : {&c.cpu.reserved_cores, &c.cpu.limit_cores, &c.cpu.used_cores_avg, &c.cpu.used_cores_p95,
                               &c.cpu.used_above_request_cores, &c.cpu.throttled_ratio, &c.mem.reserved_bytes,
                               &c.mem.limit_bytes, &c.mem.used_bytes, &c.mem.used_bytes_peak}) {
      checkFigure(*figure);
    }
  }
  // Every entry is either kept or reported; a body without the array is one error.
  FUZZ_CHECK(report.containers.size() + errors.size() == entries(body, "containers").value_or(1));

  std::vector<Error> again_errors;
  const ContainersReport again = decodeContainersReport(encodeContainersReport(report), "fuzz", again_errors);
  FUZZ_CHECK(again_errors.empty());
  FUZZ_CHECK(sameText(report.host, again.host));
  FUZZ_CHECK(again.containers.size() == report.containers.size());
  for (std::size_t i = 0; i < report.containers.size(); ++i) {
    const Container& a = report.containers[i];
    const Container& b = again.containers[i];
    FUZZ_CHECK(sameText(a.container_id, b.container_id) && sameText(a.app_id, b.app_id) &&
               sameText(a.task_id, b.task_id) && sameText(a.env, b.env) && sameText(a.instance_type, b.instance_type));
    FUZZ_CHECK(a.samples == b.samples);
    FUZZ_CHECK(near(a.cpu.reserved_cores, b.cpu.reserved_cores) && near(a.cpu.limit_cores, b.cpu.limit_cores) &&
               near(a.cpu.used_cores, b.cpu.used_cores) && near(a.cpu.used_cores_avg, b.cpu.used_cores_avg) &&
               near(a.cpu.used_cores_p95, b.cpu.used_cores_p95) &&
               near(a.cpu.used_above_request_cores, b.cpu.used_above_request_cores) &&
               near(a.cpu.lying_factor_cores, b.cpu.lying_factor_cores) &&
               near(a.cpu.throttled_ratio, b.cpu.throttled_ratio));
    FUZZ_CHECK(near(a.mem.reserved_bytes, b.mem.reserved_bytes) && near(a.mem.limit_bytes, b.mem.limit_bytes) &&
               near(a.mem.used_bytes, b.mem.used_bytes) && near(a.mem.used_bytes_peak, b.mem.used_bytes_peak) &&
               near(a.mem.lying_factor_bytes, b.mem.lying_factor_bytes));
  }
}

void fuzzLag(std::string_view body) {
  std::vector<Error> errors;
  const LagReport report = decodeLagReport(body, "fuzz", errors);
  checkErrors(errors);
  FUZZ_CHECK(report.groups.size() + errors.size() == entries(body, "groups").value_or(1));

  std::vector<Error> again_errors;
  const LagReport again = decodeLagReport(encodeLagReport(report), "fuzz", again_errors);
  FUZZ_CHECK(again_errors.empty());
  FUZZ_CHECK(again.groups.size() == report.groups.size());
  for (std::size_t i = 0; i < report.groups.size(); ++i) {
    const LagGroup& a = report.groups[i];
    const LagGroup& b = again.groups[i];
    FUZZ_CHECK(sameText(a.group, b.group) && sameText(a.app_id, b.app_id) && sameText(a.env, b.env) &&
               sameText(a.error, b.error));
    FUZZ_CHECK(a.status == b.status);
    FUZZ_CHECK(a.partitions.size() == b.partitions.size());
    for (std::size_t j = 0; j < a.partitions.size(); ++j) {
      const LagPartition& p = a.partitions[j];
      const LagPartition& q = b.partitions[j];
      FUZZ_CHECK(sameText(p.topic, q.topic) && sameText(p.error, q.error));
      FUZZ_CHECK(p.partition == q.partition && p.committed_offset == q.committed_offset &&
                 p.low_watermark == q.low_watermark && p.high_watermark == q.high_watermark &&
                 p.lag_messages == q.lag_messages && near(p.lag_seconds, q.lag_seconds));
      FUZZ_CHECK(p.status == q.status && p.stale == q.stale && p.below_low_watermark == q.below_low_watermark);
    }
  }
}

}  // namespace
}  // namespace rightsize::wire

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = rightsize::fuzz::asText(data, size);
  rightsize::wire::fuzzContainers(body);
  rightsize::wire::fuzzLag(body);
  return 0;
}
