#pragma once

// Turns a container's successive raw readings into rates, moving averages and
// lying factors (reserved - used). What is reserved is the request: for a
// container whose limit is above its request (ContainerSample), the lying
// factors measure against the request, and the limit is published beside it.
//
// Rates need two readings, so the first reading of a container yields memory
// figures but no CPU usage. A counter that goes backwards (a restarted
// container) or time that does not advance starts a new baseline and is
// reported; the averages are kept, since the app has not changed.

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "rightsize/agent/container_source.h"
#include "rightsize/core/stats.h"
#include "rightsize/wire/containers_report.h"

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
  std::uint64_t samples = 0;                       // readings within the window
  std::optional<double> reserved_cores;            // the request
  std::optional<double> limit_cores;               // hard limit (CFS quota); none when unlimited
  std::optional<double> used_cores;                // over the last interval
  std::optional<double> used_cores_avg;            // EWMA
  std::optional<double> used_cores_p95;            // over the window
  std::optional<double> used_above_request_cores;  // max(used_cores_avg - reserved_cores, 0)
  std::optional<double> lying_factor_cores;        // EWMA of reserved - used
  std::optional<double> throttled_ratio;           // over the last interval
  // Throttled time per second over the last interval, summed over the CPUs:
  // about the cores of demand the CFS quota held back (a container whose
  // demand D runs on D CPUs under a quota of L cores is throttled on each
  // of them for 1 - L/D of every period: D - L in all).
  std::optional<double> throttled_cores;
  std::optional<double> memory_reserved_bytes;  // the request: the soft limit when below the hard one, else that
  std::optional<double> memory_limit_bytes;     // hard limit; none when unlimited
  std::optional<double> memory_used_bytes;
  std::optional<double> memory_used_bytes_peak;     // over the window
  std::optional<double> memory_lying_factor_bytes;  // EWMA of reserved - used
};

// Everything a tracker carries from one reading to the next except the
// identity, which every reading brings: what the agent's checkpoint keeps so
// that a restarted agent continues a container's rates, averages and
// windows. Times are the source's (Mesos' statistics timestamps, or the
// agent's clock for cgroups), as in the readings.
struct TrackerState {
  // The previous reading, from which the next rate is computed.
  struct Baseline {
    TimePoint at;
    double cpu_seconds = 0;
    std::optional<std::uint64_t> cfs_periods;
    std::optional<std::uint64_t> cfs_throttled_periods;
    std::optional<double> cfs_throttled_seconds;
    bool operator==(const Baseline&) const = default;
  };
  std::optional<Baseline> baseline;
  TimePoint last_seen{};
  std::vector<TimePoint> sample_times;  // readings within the window, oldest first
  // The figures of the last reading, published until the next one.
  std::optional<double> reserved_cores;
  std::optional<double> limit_cores;
  std::optional<double> used_cores;
  std::optional<double> throttled_ratio;
  std::optional<double> throttled_cores;
  std::optional<double> memory_limit_bytes;
  std::optional<double> memory_request_bytes;
  std::optional<double> memory_used_bytes;
  // Moving averages with their time bases; nullopt before a first value.
  std::optional<TimedValue> used_cores_avg;
  std::optional<TimedValue> lying_factor_cores_avg;
  std::optional<TimedValue> lying_factor_bytes_avg;
  // Samples of the percentile and the peak, oldest first.
  std::vector<TimedValue> used_cores_window;
  std::vector<TimedValue> memory_used_bytes_window;

  bool operator==(const TrackerState&) const = default;
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

  TrackerState state() const;
  // Continues from `state`, taken by state() of a tracker with the same
  // options or decoded from a checkpoint (which checks outside data: times
  // in order, finite figures). Samples older than the window before the
  // last reading, or beyond max_window_samples, are dropped. The identity
  // comes with the next reading.
  void restore(const TrackerState& state);

 private:
  void updateMemory(const ContainerSample& sample);
  // Drops readings older than the window before `now`, or beyond the limit.
  void expireSampleTimes(TimePoint now);
  // What the memory request and hard limit make reserved: the request when
  // below the limit (or without one), else the limit.
  std::optional<double> memoryReservedBytes() const;

  TrackerOptions options_;
  ContainerIdentity identity_;
  std::optional<TrackerState::Baseline> baseline_;
  TimePoint last_seen_{};
  std::deque<TimePoint> sample_times_;
  std::optional<double> reserved_cores_;
  std::optional<double> limit_cores_;
  std::optional<double> used_cores_;
  std::optional<double> throttled_ratio_;
  std::optional<double> throttled_cores_;
  std::optional<double> memory_limit_bytes_;
  std::optional<double> memory_request_bytes_;
  std::optional<double> memory_used_bytes_;
  TimeEwma used_avg_;
  TimeEwma cpu_lying_avg_;
  TimeEwma memory_lying_avg_;
  SlidingWindow used_window_;
  SlidingWindow memory_window_;
};

// A container's figures as /v1/containers carries them: what the agent
// serves and what `rightsize simulate` hands the sizer's summary.
wire::Container wireContainer(const ContainerStats& stats);

}  // namespace rightsize::agent
