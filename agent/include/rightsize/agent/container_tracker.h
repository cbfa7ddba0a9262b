#pragma once

// Turns a container's successive raw readings into rates, moving averages and
// lying factors (reserved - used).
//
// Rates need two readings, so the first reading of a container yields memory
// figures but no CPU usage. A counter that goes backwards (a restarted
// container) or time that does not advance starts a new baseline and is
// reported; the averages are kept, since the app has not changed.

#include <cstdint>
#include <deque>
#include <optional>

#include "rightsize/agent/container_source.h"
#include "rightsize/core/stats.h"

namespace rightsize::agent {

struct TrackerOptions {
  Duration window = std::chrono::minutes(5);  // EWMA time constant and percentile window
  std::size_t max_window_samples = 4096;
  double p_quantile = 0.95;
};

// The figures published for one container, as in /v1/containers.
struct ContainerStats {
  ContainerIdentity identity;
  TimePoint last_sample{};
  std::uint64_t samples = 0;  // readings within the window
  std::optional<double> reserved_cores;
  std::optional<double> used_cores;          // over the last interval
  std::optional<double> used_cores_avg;      // EWMA
  std::optional<double> used_cores_p95;      // over the window
  std::optional<double> lying_factor_cores;  // EWMA of reserved - used
  std::optional<double> throttled_ratio;     // over the last interval
  std::optional<double> memory_reserved_bytes;
  std::optional<double> memory_used_bytes;
  std::optional<double> memory_used_bytes_peak;     // over the window
  std::optional<double> memory_lying_factor_bytes;  // EWMA of limit - used
};

// Not thread-safe.
class ContainerTracker {
 public:
  explicit ContainerTracker(const TrackerOptions& options);

  // Applies one reading. Returns an error (to be counted) when the reading
  // could not be used for rates: counter reset, clock going back, absurd
  // values. Memory figures of such a reading are still taken.
  Status update(const ContainerSample& sample);

  ContainerStats stats() const;
  TimePoint lastSeen() const { return last_seen_; }

 private:
  struct Baseline {
    TimePoint at;
    double cpu_seconds;
    std::optional<std::uint64_t> periods;
    std::optional<std::uint64_t> throttled;
  };
  void updateMemory(const ContainerSample& sample);

  TrackerOptions options_;
  ContainerIdentity identity_;
  std::optional<Baseline> baseline_;
  TimePoint last_seen_{};
  std::deque<TimePoint> sample_times_;
  std::optional<double> reserved_cores_;
  std::optional<double> used_cores_;
  std::optional<double> throttled_ratio_;
  std::optional<double> memory_limit_bytes_;
  std::optional<double> memory_used_bytes_;
  TimeEwma used_avg_;
  TimeEwma cpu_lying_avg_;
  TimeEwma memory_lying_avg_;
  SlidingWindow used_window_;
  SlidingWindow memory_window_;
};

}  // namespace rightsize::agent
