// The Mesos agent's answers: GET /monitor/statistics, GET /state, and the
// Marathon task ids found in them. Every input goes to both body parsers (the
// seed corpus holds both kinds of body).

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"

#include "rightsize/agent/container_source.h"
#include "rightsize/agent/mesos_json.h"
#include "rightsize/core/json.h"

namespace rightsize::agent {
namespace {

void checkAppId(std::string_view task_id) {
  const auto app_id = appIdFromMarathonTaskId(task_id);
  if (!app_id) return;
  // "/" + the part of the task id before ".<uuid>", '_' written as '/'.
  FUZZ_CHECK(app_id->size() >= 2 && app_id->size() + 36 <= task_id.size());
  FUZZ_CHECK(app_id->front() == '/');
  FUZZ_CHECK(app_id->find('_') == std::string::npos);
}

void checkStatistics(std::string_view body) {
  auto parsed = parseMonitorStatistics(body, "fuzz");
  if (!parsed) return;
  for (const auto& e : parsed->executors) {
    FUZZ_CHECK(e.timestamp_seconds >= 1e9 && e.timestamp_seconds < 1e10);
    FUZZ_CHECK(std::isfinite(e.cpu_seconds) && e.cpu_seconds >= 0);
    if (e.cpus_limit) FUZZ_CHECK(std::isfinite(*e.cpus_limit) && *e.cpus_limit >= 0);
    if (e.cpus_soft_limit) FUZZ_CHECK(std::isfinite(*e.cpus_soft_limit) && *e.cpus_soft_limit >= 0);
    if (e.memory_limit_bytes) FUZZ_CHECK(*e.memory_limit_bytes < (std::uint64_t{1} << 62));
    if (e.memory_soft_limit_bytes) {
      FUZZ_CHECK(*e.memory_soft_limit_bytes > 0 && *e.memory_soft_limit_bytes < (std::uint64_t{1} << 62));
    }
    // What the agent reserves is never above the hard limit.
    if (const auto reserved = reservedCores(e.cpus_soft_limit, e.cpus_limit); reserved && e.cpus_limit) {
      FUZZ_CHECK(*reserved <= *e.cpus_limit);
    }
  }
  FUZZ_CHECK(parsed->skipped.size() <= parsed->errors.size());
  // Every entry of the array is either kept or reported.
  auto document = json::parse(body, "fuzz");
  FUZZ_CHECK(document && document->IsArray());
  FUZZ_CHECK(parsed->executors.size() + parsed->errors.size() == document->Size());
  // With one entry, which is kept: memory used is at least its RSS.
  if (parsed->executors.size() != 1 || document->Size() != 1) return;
  const json::Value* rss = json::find(*json::find((*document)[0], "statistics"), "mem_rss_bytes");
  if (rss != nullptr && rss->IsNumber()) {
    FUZZ_CHECK(static_cast<double>(*parsed->executors[0].memory_used_bytes) >= std::round(rss->GetDouble()));
  }
}

void checkState(std::string_view body) {
  auto parsed = parseAgentState(body, "fuzz");
  if (!parsed) return;
  const auto& state = parsed->state;
  if (state.cpus) FUZZ_CHECK(std::isfinite(*state.cpus) && *state.cpus > 0);
  for (const auto& [name, value] : state.attributes) FUZZ_CHECK(!value.empty());
  for (const auto& executor : state.executors) {
    if (!executor.app_id.empty()) FUZZ_CHECK(appIdFromMarathonTaskId(executor.task_id) == executor.app_id);
    checkAppId(executor.task_id);
  }
}

void fuzzOne(std::string_view body) {
  checkStatistics(body);
  checkState(body);
  checkAppId(body);
}

}  // namespace
}  // namespace rightsize::agent

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rightsize::agent::fuzzOne(rightsize::fuzz::asText(data, size));
  return 0;
}
