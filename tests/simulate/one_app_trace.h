#pragma once

// A trace of one app "/app" for the replay tests: `cpu_used` per 5-minute
// step from 1,700,000,000 s, `cpu_reserved` cores and `mem_reserved` MiB
// reserved throughout, `mem_used` MiB used (no memory signal when absent).

#include <optional>
#include <vector>

#include "rightsize/simulate/trace.h"

namespace rightsize::simulate {

inline Trace oneAppTrace(const std::vector<double>& cpu_used, double cpu_reserved,
                         std::optional<double> mem_used = 512.0, double mem_reserved = 1024) {
  Trace trace;
  AppTrace app;
  app.app_id = "/app";
  const TimePoint start = fromUnixSeconds(1'700'000'000);
  for (std::size_t i = 0; i < cpu_used.size(); ++i) {
    TracePoint point;
    point.at = start + std::chrono::minutes(5) * static_cast<int>(i);
    point.cpu_reserved_cores = cpu_reserved;
    point.cpu_used_cores = cpu_used[i];
    if (mem_used) {
      point.memory_reserved_mib = mem_reserved;
      point.memory_used_mib = mem_used;
    }
    app.points.push_back(point);
  }
  trace.start = app.points.front().at;
  trace.end = app.points.back().at;
  trace.samples = app.points.size();
  trace.apps.push_back(std::move(app));
  return trace;
}

}  // namespace rightsize::simulate
