#pragma once

// Usage traces in the project's canonical CSV (see data/traces/README.md and
// shared/traces/README.md):
//
//   app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb
//
// one row per app per step, rows of one app contiguous and in time order; an
// empty mem_* cell means the trace has no memory signal. Parsing is strict:
// the first bad row fails the whole trace with "file:line: what", or
// "file:line: column: what" for a value out of the limits below. Traces come
// from outside: the limits keep a hostile one from exhausting memory (one
// endless line) or overflowing the nanosecond TimePoint (a time of 1e300 s).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rightsize/core/clock.h"
#include "rightsize/core/status.h"

namespace rightsize::simulate {

// A line (without its newline) may hold at most this many bytes; a row of
// six fields needs well under a hundred.
inline constexpr std::size_t kMaxTraceLineBytes = std::size_t{64} * 1024;
// timestamp_s lies in [0, this]: 1970-01-01 to 2200-01-01 (UTC). Any two
// instants in that span are less than 2^63 ns apart, and 2200 is still 62
// years short of TimePoint's end, so durations between trace points, and
// instants some deploy delays or windows on, cannot overflow.
inline constexpr double kMaxTraceTimestampSeconds = 7'258'118'400;
// A trace's times span at most this (50 years of 365 days): the replay and the sizing
// flow add and subtract a few such spans (a first sample's step reaches
// back as far as the second sample is ahead, a task started then is aged at
// the last sample), and five of them still fit the nanosecond clock.
inline constexpr Duration kMaxTraceSpan = std::chrono::hours(24 * 365 * 50);
// cpu_*_cores lie in [0, this]: no machine has a million cores.
inline constexpr double kMaxTraceCores = 1e6;
// mem_*_mb (MiB) lie in [0, this]: 1 PiB.
inline constexpr double kMaxTraceMemoryMib = 1024.0 * 1024 * 1024;

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
  // The app's usual step: the median spacing of its points (5 minutes for a
  // lone point).
  Duration usualStep() const;
  // The longest step a point stands for: twice the usual step (at most two
  // years). A longer one
  // is a gap in the trace, whose use is unknown (the replays and the demo's
  // cluster count the reservations through it, the use only this long).
  Duration longestObserved() const;
  // Whether the app was there when the trace began: its first point comes
  // less than longestObserved() after `trace_start` (an offset in sampling,
  // a first sample missing); a later one was born during the trace.
  bool beganWithTrace(TimePoint trace_start) const;
};

struct Trace {
  std::vector<AppTrace> apps;
  TimePoint start{};  // earliest point of any app
  TimePoint end{};    // latest point of any app
  std::size_t samples = 0;
};

// `file` names the source in error messages. Linear in the size of `text`.
Expected<Trace> parseTrace(std::string_view text, std::string_view file);

// Reads a trace file, gunzipping it when it is gzip (whatever its name).
// Reads as it parses: memory grows with the trace parsed, never with a line
// beyond kMaxTraceLineBytes.
Expected<Trace> readTrace(const std::string& path);

}  // namespace rightsize::simulate
