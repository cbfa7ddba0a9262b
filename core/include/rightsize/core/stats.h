#pragma once

// Moving statistics over irregularly spaced samples with an explicit time
// base. Nothing here reads a clock: every update carries its own timestamp,
// so the same code serves the agent, the sizer and trace replays.
//
// Not thread-safe; owners synchronise.

#include <cstddef>
#include <deque>
#include <optional>
#include <vector>

#include "rightsize/core/clock.h"

namespace rightsize {

// A value and the time it belongs to.
struct TimedValue {
  TimePoint at;
  double value = 0;
  bool operator==(const TimedValue&) const = default;
};

// Exponentially weighted moving average in continuous time: after a gap of dt
// the previous average keeps weight exp(-dt / tau). With regular samples this
// is the usual EWMA with alpha = 1 - exp(-interval / tau); with gaps, a sample
// that follows a long gap (and so stands for a long period) weighs more.
class TimeEwma {
 public:
  explicit TimeEwma(Duration tau) : tau_seconds_(toSeconds(tau)) {}

  // The first update sets the average. An update at the last timestamp is
  // ignored; one before it (the clock went back) is ignored too but restarts
  // the time base there, so the average does not freeze until the clock
  // catches up. Callers report clock problems.
  void update(TimePoint at, double value);
  std::optional<double> value() const { return value_; }
  void reset() { value_.reset(); }
  // Keeps the average but measures the next gap from `at` (after the clock
  // went back).
  void restartAt(TimePoint at) { last_ = at; }

  // The average and its time base (the time of the last update), to be
  // carried over to a new instance with restore(): what a checkpoint keeps.
  // nullopt before the first update.
  std::optional<TimedValue> state() const;
  void restore(TimedValue state);

 private:
  double tau_seconds_;
  std::optional<double> value_;
  TimePoint last_{};
};

// The samples of the last `window`, for percentiles and peaks. Holds at most
// `max_samples` (oldest dropped first) so memory stays bounded whatever the
// sampling rate.
class SlidingWindow {
 public:
  SlidingWindow(Duration window, std::size_t max_samples) : window_(window), max_samples_(max_samples) {}

  // Appends a sample and drops those older than `at - window`.
  void add(TimePoint at, double value);
  // Drops samples older than `now - window` without adding one.
  void expire(TimePoint now);

  std::size_t size() const { return samples_.size(); }
  bool empty() const { return samples_.empty(); }
  std::optional<double> max() const;
  // Nearest-rank percentile, q in [0, 1]: the smallest sample such that at
  // least q of the samples are less than or equal to it.
  std::optional<double> quantile(double q) const;
  void clear() { samples_.clear(); }

  // The samples held, oldest first, for a checkpoint.
  std::vector<TimedValue> samples() const { return {samples_.begin(), samples_.end()}; }
  // Replaces the samples by `samples` (oldest first), keeping those within
  // the window of the newest and at most max_samples.
  void restore(const std::vector<TimedValue>& samples);

 private:
  Duration window_;
  std::size_t max_samples_;
  std::deque<TimedValue> samples_;
};

}  // namespace rightsize
