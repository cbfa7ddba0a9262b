// The kernel's files as the cgroup source reads them: single values
// (cpuacct.usage, cpu.shares, memory.limit_in_bytes, memory.max,
// memory.soft_limit_in_bytes, memory.low),
// cpu.cfs_quota_us, cpu.max, keyed files (cpu.stat, memory.stat),
// cgroup.procs and /proc/<pid>/environ. Every input goes to every parser.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "fuzz_check.h"

#include "rightsize/agent/cgroup_files.h"
#include "rightsize/agent/container_source.h"
#include "rightsize/core/text.h"

namespace rightsize::agent {
namespace {

// The obvious reading of "one unsigned decimal number, maybe surrounded by
// whitespace", against which parseSingleValue is compared.
std::optional<std::uint64_t> referenceUint64(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

void checkCores(double cores) { FUZZ_CHECK(std::isfinite(cores) && cores >= 0); }

void checkSingleValues(std::string_view text) {
  const auto reference = referenceUint64(text);
  const auto single = parseSingleValue(text);
  FUZZ_CHECK(single.ok() == reference.has_value());
  if (single) {
    FUZZ_CHECK(*single == *reference);
    checkCores(reservedCoresFromShares(*single));
    checkCores(reservedCoresFromWeight(*single));
    // What is reserved is the request or the limit, never above the limit.
    for (const auto& [request, tolerance] : {std::pair{reservedCoresFromShares(*single), kSharesToleranceCores},
                                             std::pair{reservedCoresFromWeight(*single), kWeightToleranceCores}}) {
      for (const double limit : {0.0, 0.5, request, 2 * request}) {
        const double reserved = *reservedCores(request, limit, tolerance);
        FUZZ_CHECK(reserved <= limit && (reserved == request || reserved == limit));
      }
    }
  }
  if (const auto limit = parseMemoryLimitV1(text); limit && *limit) {
    FUZZ_CHECK(**limit < (std::uint64_t{1} << 62));
  }
  if (const auto max = parseMemoryMaxV2(text); max && *max) FUZZ_CHECK(reference == **max);
  // Requests: none for the kernel's defaults (0, "unlimited", "max").
  if (const auto soft = parseMemorySoftLimitV1(text); soft && *soft) {
    FUZZ_CHECK(**soft > 0 && **soft < (std::uint64_t{1} << 62) && reference == **soft);
  }
  if (const auto low = parseMemoryLowV2(text); low && *low) FUZZ_CHECK(**low > 0 && reference == **low);
}

void checkCpuLimits(std::string_view text) {
  if (const auto quota = parseCfsQuota(text); quota && *quota) {
    FUZZ_CHECK(**quota <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
    checkCores(reservedCoresFromCfs(**quota, 100000));
  }
  if (const auto cpu_max = parseCpuMax(text)) {
    FUZZ_CHECK(cpu_max->period_us > 0);
    if (cpu_max->quota_us) checkCores(reservedCoresFromCfs(*cpu_max->quota_us, cpu_max->period_us));
  }
}

void checkKeyedValue(std::string_view text, std::string_view key) {
  const auto value = parseKeyedValue(text, key);
  if (!value || !*value) return;
  // Found only at the start of a line, followed by a space.
  const std::string line_start = std::string(key) + " ";
  FUZZ_CHECK(text.starts_with(line_start) || text.find("\n" + line_start) != std::string_view::npos);
}

void checkProcs(std::string_view text) {
  const auto pids = parseCgroupProcs(text);
  if (!pids) return;
  for (const int pid : *pids) FUZZ_CHECK(pid > 0);
}

void checkEnvironment(std::string_view environ) {
  const TaskEnvironment env = parseTaskEnvironment(environ);
  const std::pair<std::string_view, const std::string*> fields[] = {
      {"MARATHON_APP_ID=", &env.app_id},
      {"MESOS_TASK_ID=", &env.task_id},
      {"MARATHON_APP_LABEL_ENV=", &env.env},
      {"MARATHON_APP_LABEL_RIGHTSIZE_KAFKA_GROUPS=", &env.kafka_groups}};
  for (const auto& [prefix, value] : fields) {
    if (value->empty()) continue;
    // A whole entry: NUL-free, and found as such in the block.
    FUZZ_CHECK(value->find('\0') == std::string::npos);
    const std::string entry = std::string(prefix) + *value;
    FUZZ_CHECK(environ.starts_with(entry) || environ.find(std::string(1, '\0') + entry) != std::string_view::npos);
  }
}

void fuzzOne(std::string_view text) {
  checkSingleValues(text);
  checkCpuLimits(text);
  // The keys the cgroup source asks for (v1 and v2).
  for (const std::string_view key :
       {"nr_periods", "nr_throttled", "total_rss", "total_mapped_file", "usage_usec", "anon", "file_mapped"}) {
    checkKeyedValue(text, key);
  }
  checkProcs(text);
  checkEnvironment(text);
}

}  // namespace
}  // namespace rightsize::agent

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rightsize::agent::fuzzOne(rightsize::fuzz::asText(data, size));
  return 0;
}
