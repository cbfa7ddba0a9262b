#pragma once

// Usage traces in the project's canonical CSV (see data/traces/README.md and
// shared/traces/README.md):
//
//   app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb
//
// one row per app per step, rows of one app contiguous and in time order; an
// empty mem_* cell means the trace has no memory signal. Parsing is strict:
// the first bad row fails the whole trace with "file:line: what".

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rightsize/core/clock.h"
#include "rightsize/core/status.h"

namespace rightsize::sim {

struct TracePoint {
  TimePoint at;
  double cpu_reserved_cores = 0;
  double cpu_used_cores = 0;
  std::optional<double> memory_reserved_mib;
  std::optional<double> memory_used_mib;
};

struct AppTrace {
  std::string app_id;
  std::vector<TracePoint> points;  // in time order

  // The point in force at `at` (the last one at or before it), or nullptr
  // before the first point.
  const TracePoint* at(TimePoint at) const;

  // How long point `i` stands for: the step that ends at it (the first point
  // takes the step after it; a lone point 5 minutes).
  Duration stepOf(std::size_t i) const;
};

struct Trace {
  std::vector<AppTrace> apps;
  TimePoint start{};  // earliest point of any app
  TimePoint end{};    // latest point of any app
  std::size_t samples = 0;
};

// `file` names the source in error messages.
Expected<Trace> parseTrace(std::string_view text, std::string_view file);

// Reads a trace file, gunzipping it when its name ends in ".gz".
Expected<Trace> readTrace(const std::string& path);

}  // namespace rightsize::sim
