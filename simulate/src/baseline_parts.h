#pragma once

// What the baseline policies share (internal to rightsize::simulate): the
// rounding of reservations, VPA's exponential buckets and decaying histogram
// (also Autopilot's), and a sliding maximum.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "rightsize/core/stats.h"
#include "rightsize/simulate/baselines.h"

namespace rightsize::simulate::baseline {

constexpr double kBytesPerMib = 1024.0 * 1024.0;
constexpr double kMinCores = 0.001;
constexpr double kMinMib = 1;

// Reservations are rounded up to 0.001 core and 1 MiB; a millionth of a step
// of float noise does not round up.
inline double roundUpCores(double cores) { return std::max(kMinCores, std::ceil(cores * 1000 - 1e-6) / 1000); }
inline double roundUpMib(double mib) { return std::max(kMinMib, std::ceil(mib - 1e-6)); }

inline bool hasMemory(const Observation& o) { return o.reserved.mem_mib.has_value() && o.mem_used_mib.has_value(); }

inline Duration atLeast(Duration d, Duration floor) { return std::max(d, floor); }

// Histogram buckets growing exponentially, as VPA's
// NewExponentialHistogramOptions (pkg/recommender/util/histogram_options.go):
// bucket 0 is [0, first), bucket n >= 1 starts at
// first * (ratio^n - 1) / (ratio - 1). Immutable, shared by all apps.
class ExponentialBuckets {
 public:
  ExponentialBuckets(double first, double ratio, int count)
      : first_(first), ratio_(ratio), log_ratio_(std::log(ratio)), starts_(static_cast<std::size_t>(count)) {
    for (int b = 1; b < count; ++b) starts_[b] = first * (std::pow(ratio, b) - 1) / (ratio - 1);
  }

  // Enough buckets for the last one to start at or above `max_value`.
  static int countFor(double max_value, double first, double ratio) {
    const double n = std::ceil(std::log(max_value * (ratio - 1) / first + 1) / std::log(ratio)) + 1;
    return static_cast<int>(std::clamp(n, 1.0, 100000.0));
  }

  int count() const { return static_cast<int>(starts_.size()); }

  // The bucket of `value`; values outside the range go to the first or last.
  int find(double value) const {
    if (!(value >= first_)) return 0;
    const double bucket = std::log(value * (ratio_ - 1) / first_ + 1) / log_ratio_;
    if (!(bucket < count() - 1)) return count() - 1;
    return static_cast<int>(bucket);
  }

  // The end of a bucket (the start of the next); the last bucket has no end
  // and answers its start, as VPA's Percentile does.
  double end(int bucket) const { return bucket + 1 < count() ? starts_[bucket + 1] : starts_[bucket]; }

 private:
  double first_;
  double ratio_;
  double log_ratio_;
  std::vector<double> starts_;
};

inline std::shared_ptr<const ExponentialBuckets> makeBuckets(double first, double growth, double max_value) {
  first = std::max(first, 1e-12);
  const double ratio = 1 + std::max(growth, 1e-6);
  return std::make_shared<const ExponentialBuckets>(
      first, ratio, ExponentialBuckets::countFor(std::max(max_value, first), first, ratio));
}

// VPA's decaying histogram (pkg/recommender/util/histogram.go and
// decaying_histogram.go): a sample added at time t weighs
// weight * 2^((t - reference) / half_life); only relative weights matter, so
// the reference moves forward (rescaling every bucket) when the exponent
// passes 100. A bucket lighter than epsilon counts as empty. Also keeps the
// weighted sum of the values themselves, for Autopilot's weighted average.
class DecayingHistogram {
 public:
  DecayingHistogram(std::shared_ptr<const ExponentialBuckets> buckets, Duration half_life, double epsilon)
      : buckets_(std::move(buckets)),
        half_life_(atLeast(half_life, std::chrono::seconds(1))),
        half_life_seconds_(toSeconds(half_life_)),
        epsilon_(epsilon),
        weights_(static_cast<std::size_t>(buckets_->count()), 0.0),
        min_(buckets_->count() - 1) {}

  void add(double value, double weight, TimePoint at) {
    const double w = weight * decayFactor(at);
    const int b = buckets_->find(value);
    weights_[b] += w;
    total_ += w;
    value_sum_ += w * value;
    if (b < min_ && weights_[b] >= epsilon_) min_ = b;
    if (b > max_ && weights_[b] >= epsilon_) max_ = b;
  }

  // Removes a sample added before with the same value, weight and time.
  void subtract(double value, double weight, TimePoint at) {
    double w = weight * decayFactor(at);
    const int b = buckets_->find(value);
    if (w > weights_[b] - epsilon_) w = weights_[b];
    weights_[b] -= w;
    total_ -= w;
    value_sum_ -= w * value;
    updateMinMax();
  }

  bool empty() const { return weights_[min_] < epsilon_; }

  // VPA's Percentile: the end of the first bucket at which the cumulative
  // weight reaches q of the total; 0 when empty.
  double percentile(double q) const {
    if (empty()) return 0;
    const double threshold = q * total_;
    double partial = 0;
    int b = min_;
    for (; b < max_; ++b) {
      partial += weights_[b];
      if (partial >= threshold) break;
    }
    return buckets_->end(b);
  }

  // The same over the load-adjusted histogram, each bucket's weight times
  // its value (Autopilot's S_p,j); 0 when empty.
  double loadAdjustedPercentile(double q) const {
    if (empty()) return 0;
    double total = 0;
    for (int b = min_; b <= max_; ++b) total += weights_[b] * buckets_->end(b);
    const double threshold = q * total;
    double partial = 0;
    int b = min_;
    for (; b < max_; ++b) {
      partial += weights_[b] * buckets_->end(b);
      if (partial >= threshold) break;
    }
    return buckets_->end(b);
  }

  // Weighted mean of the values added (exact values, not bucket ends).
  double mean() const { return total_ > 0 ? value_sum_ / total_ : 0; }

 private:
  static constexpr double kMaxDecayExponent = 100;

  double decayFactor(TimePoint at) {
    if (!reference_ || toSeconds(at - *reference_) > kMaxDecayExponent * half_life_seconds_) shiftReference(at);
    return std::exp2(toSeconds(at - *reference_) / half_life_seconds_);
  }

  // Moves the reference to `to` rounded to a whole number of half-lives
  // (halfway rounds up, as Go's Time.Round), rescaling the weights so that
  // relative weights stay.
  void shiftReference(TimePoint to) {
    const auto ns = to.time_since_epoch().count();
    const auto period = half_life_.count();
    auto remainder = ns % period;
    if (remainder < 0) remainder += period;
    const TimePoint rounded{Duration(remainder + remainder < period ? ns - remainder : ns + (period - remainder))};
    if (reference_) {
      const double exponent = std::floor(toSeconds(*reference_ - rounded) / half_life_seconds_ + 0.5);
      scale(std::ldexp(1.0, static_cast<int>(std::clamp(exponent, -2000.0, 2000.0))));
    }
    reference_ = rounded;
  }

  void scale(double factor) {
    for (int b = min_; b <= max_; ++b) weights_[b] *= factor;
    total_ *= factor;
    value_sum_ *= factor;
    updateMinMax();
  }

  void updateMinMax() {
    const int last = buckets_->count() - 1;
    while (weights_[min_] < epsilon_ && min_ < last) ++min_;
    while (weights_[max_] < epsilon_ && max_ > 0) --max_;
  }

  std::shared_ptr<const ExponentialBuckets> buckets_;
  Duration half_life_;
  double half_life_seconds_;
  double epsilon_;
  std::vector<double> weights_;
  double total_ = 0;
  double value_sum_ = 0;
  int min_;      // first non-empty bucket, or the last bucket when empty
  int max_ = 0;  // last non-empty bucket, or 0 when empty
  std::optional<TimePoint> reference_;
};

// The largest value added after a given time: a monotonic queue in a ring
// buffer that only grows (amortised O(1), no allocation once warm).
class SlidingMax {
 public:
  void add(TimePoint at, double value) {
    while (size_ > 0 && entry(size_ - 1).value <= value) --size_;
    if (size_ == ring_.size()) grow();
    entry(size_) = {at, value};
    ++size_;
  }

  // Drops what was added at or before `since`; the largest of the rest.
  std::optional<double> maxAfter(TimePoint since) {
    while (size_ > 0 && entry(0).at <= since) {
      head_ = (head_ + 1) & (ring_.size() - 1);
      --size_;
    }
    if (size_ == 0) return std::nullopt;
    return entry(0).value;
  }

 private:
  struct Entry {
    TimePoint at;
    double value = 0;
  };

  Entry& entry(std::size_t i) { return ring_[(head_ + i) & (ring_.size() - 1)]; }

  void grow() {
    std::vector<Entry> bigger(std::max<std::size_t>(16, ring_.size() * 2));
    for (std::size_t i = 0; i < size_; ++i) bigger[i] = entry(i);
    ring_.swap(bigger);
    head_ = 0;
  }

  std::vector<Entry> ring_;  // size is a power of two
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace rightsize::simulate::baseline
