#include "rightsize/sim/baselines.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "rightsize/core/stats.h"

namespace rightsize::sim {
namespace {

constexpr double kBytesPerMib = 1024.0 * 1024.0;
constexpr double kMinCores = 0.001;
constexpr double kMinMib = 1;

// Reservations are rounded up to 0.001 core and 1 MiB; a millionth of a step
// of float noise does not round up.
double roundUpCores(double cores) { return std::max(kMinCores, std::ceil(cores * 1000 - 1e-6) / 1000); }
double roundUpMib(double mib) { return std::max(kMinMib, std::ceil(mib - 1e-6)); }

bool hasMemory(const Observation& o) { return o.reserved.mem_mib.has_value() && o.mem_used_mib.has_value(); }

Duration atLeast(Duration d, Duration floor) { return std::max(d, floor); }

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

std::shared_ptr<const ExponentialBuckets> makeBuckets(double first, double growth, double max_value) {
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

class StaticPolicy final : public SimPolicy {
 public:
  Reservation observe(const Observation& observation, bool /*deployment_pending*/) override {
    return observation.reserved;
  }
};

// VPA keeps CPU in millicores and memory in bytes as int64
// (pkg/recommender/model/types.go); conversions truncate.
using ResourceAmount = std::int64_t;
constexpr double kMaxResourceAmount = 1e14;

ResourceAmount resourceAmountFromFloat(double amount) {
  if (!(amount >= 0)) return 0;  // negative, or NaN (0 x infinite confidence factor)
  if (amount > kMaxResourceAmount) return static_cast<ResourceAmount>(kMaxResourceAmount);
  return static_cast<ResourceAmount>(amount);
}

ResourceAmount scaleResource(ResourceAmount amount, double factor) {
  return resourceAmountFromFloat(static_cast<double>(amount) * factor);
}

struct VpaShared {
  VpaOptions options;
  std::shared_ptr<const ExponentialBuckets> cpu_buckets;
  std::shared_ptr<const ExponentialBuckets> memory_buckets;
};

struct VpaEstimate {
  ResourceAmount target = 0;
  ResourceAmount lower = 0;
  ResourceAmount upper = 0;
};

// One app under VPA: the recommender's AggregateContainerState and
// ContainerState (pkg/recommender/model), its estimators
// (pkg/recommender/logic) and the updater's eviction rules
// (pkg/updater/priority). The app is one container in one pod; a change of
// reservation is a new pod.
class VpaPolicy final : public SimPolicy {
 public:
  explicit VpaPolicy(std::shared_ptr<const VpaShared> shared)
      : shared_(std::move(shared)),
        options_(shared_->options),
        cpu_(shared_->cpu_buckets, options_.cpu_half_life, options_.epsilon),
        memory_peaks_(shared_->memory_buckets, options_.memory_half_life, options_.epsilon) {}

  Reservation observe(const Observation& o, bool deployment_pending) override {
    const bool memory = hasMemory(o);
    const TimePoint step_start = o.at - o.step;
    if (!last_reserved_ || *last_reserved_ != o.reserved) {
      pod_start_ = step_start;  // a new reservation is a new pod
      container_start_ = step_start;
    }
    last_reserved_ = o.reserved;

    const Duration interval = atLeast(options_.metrics_interval, std::chrono::seconds(1));
    const auto count = std::max<std::int64_t>(1, std::llround(toSeconds(o.step) / toSeconds(interval)));
    addCpuSample(step_start, o.cpu_used_cores, o.reserved.cpus, count, interval);
    bool quick_oom = false;
    if (memory) {
      addMemorySample(step_start, resourceAmountFromFloat(*o.mem_used_mib * kBytesPerMib), false);
      if (o.oom) {
        recordOom(o.at, resourceAmountFromFloat(*o.reserved.mem_mib * kBytesPerMib));
        quick_oom = o.at - container_start_ < options_.evict_after_oom_threshold;
        container_start_ = o.at;  // the killed container restarts
      }
    }
    recommend(memory);
    if (deployment_pending) return o.reserved;
    return update(o, memory, quick_oom);
  }

  const std::optional<VpaRecommendation>& recommendation() const { return recommendation_; }

 private:
  // AggregateContainerState.addCPUSample: weight max(request, 0.1 core); a
  // step stands for `count` samples of its mean, one per metrics interval.
  void addCpuSample(TimePoint start, double used_cores, double request_cores, std::int64_t count, Duration interval) {
    if (last_cpu_sample_start_ && start <= *last_cpu_sample_start_) return;  // duplicate or out of order
    const double usage = static_cast<double>(resourceAmountFromFloat(used_cores * 1000)) / 1000;
    const double request = static_cast<double>(resourceAmountFromFloat(request_cores * 1000)) / 1000;
    const double weight = std::max(request, options_.min_sample_weight_cores) * static_cast<double>(count);
    cpu_.add(usage, weight, start);
    const TimePoint last_start = start + (count - 1) * interval;
    last_cpu_sample_start_ = last_start;
    if (!first_sample_start_ || start < *first_sample_start_) first_sample_start_ = start;
    if (!last_sample_start_ || last_start > *last_sample_start_) last_sample_start_ = last_start;
    total_samples_ += count;
  }

  // ContainerState.addMemorySample: one peak per aggregation interval, the
  // interval's sample replaced whenever its peak grows.
  void addMemorySample(TimePoint start, ResourceAmount usage, bool oom) {
    if (!oom && start < last_memory_sample_start_) return;
    last_memory_sample_start_ = start;
    if (!window_end_) window_end_ = start;
    bool add_peak = false;
    if (start < *window_end_) {
      const ResourceAmount old_peak = std::max(memory_peak_, oom_peak_);
      if (old_peak != 0 && usage > old_peak) {
        memory_peaks_.subtract(static_cast<double>(old_peak), 1.0, *window_end_);
        add_peak = true;
      }
    } else {
      const Duration interval = atLeast(options_.memory_aggregation_interval, std::chrono::seconds(1));
      const Duration behind = start - *window_end_;
      *window_end_ += behind - behind % interval + interval;
      memory_peak_ = 0;
      oom_peak_ = 0;
      add_peak = true;
    }
    if (!add_peak) return;
    memory_peaks_.add(static_cast<double>(usage), 1.0, *window_end_);
    (oom ? oom_peak_ : memory_peak_) = usage;
  }

  // ContainerState.RecordOOM.
  void recordOom(TimePoint at, ResourceAmount request) {
    if (window_end_ && at < *window_end_ - options_.memory_aggregation_interval) return;  // too old
    const ResourceAmount used = std::max(request, memory_peak_);
    const ResourceAmount needed = std::max(used + resourceAmountFromFloat(options_.oom_min_bump_up_bytes),
                                           scaleResource(used, options_.oom_bump_up_ratio));
    addMemorySample(at, needed, true);
  }

  // logic/estimator.go getConfidence: history span and sample count (at one
  // a minute) in units of the confidence interval, whichever is less.
  double confidence() const {
    if (!first_sample_start_) return 0;
    const double interval = toSeconds(atLeast(options_.confidence_interval, std::chrono::seconds(1)));
    const double span = toSeconds(*last_sample_start_ - *first_sample_start_) / interval;
    const double samples = static_cast<double>(total_samples_) / (interval / 60);
    return std::min(span, samples);
  }

  // logic/recommender.go CreatePodResourceRecommender: percentile, then
  // margin, then the confidence multiplier (bounds), then the pod minimum.
  VpaEstimate estimate(const DecayingHistogram& histogram, double unit, ResourceAmount minimum, double target_q,
                       double lower_q, double upper_q, double confidence) const {
    const auto base = [&](double q) {
      const ResourceAmount amount = resourceAmountFromFloat(histogram.percentile(q) * unit);
      return amount + scaleResource(amount, options_.safety_margin_fraction);
    };
    const auto multiplier = [&](double m, double exponent) { return std::pow(1.0 + m / confidence, exponent); };
    VpaEstimate e;
    e.target = std::max(base(target_q), minimum);
    e.lower = std::max(scaleResource(base(lower_q), multiplier(options_.lower_bound_confidence_multiplier,
                                                               options_.lower_bound_confidence_exponent)),
                       minimum);
    e.upper = std::max(scaleResource(base(upper_q), multiplier(options_.upper_bound_confidence_multiplier,
                                                               options_.upper_bound_confidence_exponent)),
                       minimum);
    return e;
  }

  void recommend(bool memory) {
    const double c = confidence();
    cpu_estimate_ = estimate(cpu_, 1000, resourceAmountFromFloat(options_.pod_min_cpu_millicores * 0.001 * 1000),
                             options_.target_cpu_percentile, options_.lower_bound_cpu_percentile,
                             options_.upper_bound_cpu_percentile, c);
    if (memory) {
      memory_estimate_ = estimate(memory_peaks_, 1, resourceAmountFromFloat(options_.pod_min_memory_mib * kBytesPerMib),
                                  options_.target_memory_percentile, options_.lower_bound_memory_percentile,
                                  options_.upper_bound_memory_percentile, c);
    }
    const auto reservation = [&](ResourceAmount millicores, ResourceAmount bytes) {
      Reservation r{static_cast<double>(millicores) / 1000, std::nullopt};
      if (memory) r.mem_mib = std::ceil(static_cast<double>(bytes) / kBytesPerMib);
      return r;
    };
    recommendation_ = VpaRecommendation{reservation(cpu_estimate_.target, memory_estimate_.target),
                                        reservation(cpu_estimate_.lower, memory_estimate_.lower),
                                        reservation(cpu_estimate_.upper, memory_estimate_.upper)};
  }

  // UpdatePriorityCalculator.AddPod with the default priority processor.
  Reservation update(const Observation& o, bool memory, bool quick_oom) const {
    const auto compare = [](double request, const VpaEstimate& e, bool& outside, double& diff) {
      outside = outside || request < static_cast<double>(e.lower) || request > static_cast<double>(e.upper);
      diff += std::abs(request - static_cast<double>(e.target)) / std::max(request, 1.0);
    };
    bool outside = false;
    double diff = 0;
    compare(o.reserved.cpus * 1000, cpu_estimate_, outside, diff);
    if (memory) compare(*o.reserved.mem_mib * kBytesPerMib, memory_estimate_, outside, diff);
    if (!outside && !quick_oom) {
      if (o.at - pod_start_ < options_.pod_lifetime_update_threshold) return o.reserved;
      if (diff < options_.min_change_priority) return o.reserved;
    }
    if (quick_oom && diff == 0) return o.reserved;
    Reservation wish = o.reserved;
    wish.cpus = recommendation_->target.cpus;
    if (memory) wish.mem_mib = recommendation_->target.mem_mib;
    return wish;
  }

  std::shared_ptr<const VpaShared> shared_;
  const VpaOptions& options_;
  DecayingHistogram cpu_;
  DecayingHistogram memory_peaks_;
  std::optional<TimePoint> first_sample_start_;
  std::optional<TimePoint> last_sample_start_;
  std::optional<TimePoint> last_cpu_sample_start_;
  std::int64_t total_samples_ = 0;
  ResourceAmount memory_peak_ = 0;
  ResourceAmount oom_peak_ = 0;
  std::optional<TimePoint> window_end_;
  TimePoint last_memory_sample_start_{};
  std::optional<Reservation> last_reserved_;
  TimePoint pod_start_{};
  TimePoint container_start_{};
  VpaEstimate cpu_estimate_;
  VpaEstimate memory_estimate_;
  std::optional<VpaRecommendation> recommendation_;
};

struct AutopilotShared {
  AutopilotOptions options;
  std::shared_ptr<const ExponentialBuckets> cpu_buckets;
  std::shared_ptr<const ExponentialBuckets> memory_buckets;
};

// One resource's signal and moving-window recommender (paper section 3.2),
// with the rise-fast-fall-slowly stabilisation on top.
class AutopilotRecommender {
 public:
  AutopilotRecommender(const AutopilotResourceOptions& resource, const AutopilotOptions& options,
                       std::shared_ptr<const ExponentialBuckets> buckets)
      : resource_(resource),
        options_(options),
        buckets_(buckets),
        histogram_(std::move(buckets), resource.half_life, 1e-9) {}

  // CPU: each sample stands for its duration (the paper's per-window
  // histogram counts 1-second samples).
  void addUsage(TimePoint at, Duration step, double value) {
    histogram_.add(value, std::max(toSeconds(step), 1e-3), at);
    peaks_.add(at, value);
    last_value_ = value;
  }

  // Memory: one sample per aggregation window, its peak.
  void addPeak(TimePoint start, TimePoint at, double value) {
    const auto window = atLeast(options_.aggregation_window, std::chrono::seconds(1)).count();
    const auto ns = start.time_since_epoch().count();
    const auto index = ns / window - (ns % window < 0 ? 1 : 0);
    if (window_index_ && *window_index_ == index) {
      if (value > window_peak_) {
        histogram_.subtract(window_peak_, 1, window_time_);
        histogram_.add(value, 1, window_time_);
        window_peak_ = value;
      }
    } else {
      window_index_ = index;
      window_time_ = TimePoint(Duration((index + 1) * window));
      window_peak_ = value;
      histogram_.add(value, 1, window_time_);
    }
    peaks_.add(at, value);
    last_value_ = window_peak_;
  }

  // The recommendation now, rounded by `round`, and the highest of the last
  // `stabilization`.
  double recommend(TimePoint now, double (*round)(double)) {
    double statistic = 0;
    switch (resource_.statistic) {
      case AutopilotStatistic::kPeak:
        statistic = buckets_->end(
            buckets_->find(std::max(last_value_, peaks_.maxAfter(now - options_.peak_window).value_or(0))));
        break;
      case AutopilotStatistic::kWeightedAverage:
        statistic = histogram_.mean();
        break;
      case AutopilotStatistic::kPercentile:
        statistic = histogram_.loadAdjustedPercentile(resource_.percentile);
        break;
    }
    const double now_value = round(statistic * (1 + resource_.margin_fraction));
    recent_.add(now, now_value);
    return std::max(now_value, recent_.maxAfter(now - options_.stabilization).value_or(now_value));
  }

 private:
  const AutopilotResourceOptions& resource_;
  const AutopilotOptions& options_;
  std::shared_ptr<const ExponentialBuckets> buckets_;
  DecayingHistogram histogram_;
  SlidingMax peaks_;   // raw values, for S_max
  SlidingMax recent_;  // recommendations, for stabilisation
  std::optional<std::int64_t> window_index_;
  TimePoint window_time_{};
  double window_peak_ = 0;
  double last_value_ = 0;  // the latest sample (memory: its window's peak)
};

bool changedEnough(double wanted, double current, double min_fraction) {
  return wanted != current && std::abs(wanted - current) > min_fraction * std::abs(current);
}

class AutopilotPolicy final : public SimPolicy {
 public:
  explicit AutopilotPolicy(std::shared_ptr<const AutopilotShared> shared)
      : shared_(std::move(shared)),
        options_(shared_->options),
        cpu_(options_.cpu, options_, shared_->cpu_buckets),
        memory_(options_.memory, options_, shared_->memory_buckets) {}

  Reservation observe(const Observation& o, bool deployment_pending) override {
    const TimePoint step_start = o.at - o.step;
    if (!first_start_) first_start_ = step_start;
    cpu_.addUsage(o.at, o.step, o.cpu_used_cores);
    const double cpus = cpu_.recommend(o.at, roundUpCores);
    const bool memory = hasMemory(o);
    double mem_mib = 0;
    if (memory) {
      memory_.addPeak(step_start, o.at, *o.mem_used_mib);
      if (o.oom) {
        const double bumped = options_.oom_bump_ratio * std::max(*o.mem_used_mib, *o.reserved.mem_mib);
        memory_.addPeak(step_start, o.at, bumped);
      }
      mem_mib = memory_.recommend(o.at, roundUpMib);
    }
    if (deployment_pending || o.at - *first_start_ < options_.min_history) return o.reserved;
    Reservation wish = o.reserved;
    if (changedEnough(cpus, o.reserved.cpus, options_.min_change_fraction)) wish.cpus = cpus;
    if (memory && changedEnough(mem_mib, *o.reserved.mem_mib, options_.min_change_fraction)) wish.mem_mib = mem_mib;
    return wish;
  }

 private:
  std::shared_ptr<const AutopilotShared> shared_;
  const AutopilotOptions& options_;
  AutopilotRecommender cpu_;
  AutopilotRecommender memory_;
  std::optional<TimePoint> first_start_;
};

class BandPolicy final : public SimPolicy {
 public:
  explicit BandPolicy(const BandOptions& options)
      : options_(options), cpu_used_(options.window), mem_used_(options.window) {}

  Reservation observe(const Observation& o, bool deployment_pending) override {
    cpu_used_.update(o.at, o.cpu_used_cores);
    const bool memory = hasMemory(o);
    if (memory) mem_used_.update(o.at, *o.mem_used_mib);
    if (deployment_pending) return o.reserved;
    Reservation wish = o.reserved;
    const double cpu_avg = *cpu_used_.value();
    const double cpu_lying = o.reserved.cpus - cpu_avg;
    if (cpu_lying < options_.cpu_low_cores || cpu_lying > options_.cpu_high_cores) {
      wish.cpus = roundUpCores(cpu_avg + (options_.cpu_low_cores + options_.cpu_high_cores) / 2);
    }
    if (memory) {
      const double mem_avg = *mem_used_.value();
      const double mem_lying = *o.reserved.mem_mib - mem_avg;
      if (mem_lying < options_.memory_low_mib || mem_lying > options_.memory_high_mib) {
        wish.mem_mib = roundUpMib(mem_avg + (options_.memory_low_mib + options_.memory_high_mib) / 2);
      }
    }
    return wish;
  }

 private:
  BandOptions options_;
  TimeEwma cpu_used_;
  TimeEwma mem_used_;
};

}  // namespace

PolicySpec staticPolicy(const StaticOptions& /*options*/) {
  return {"static", [](const std::string&, const Reservation&) { return std::make_unique<StaticPolicy>(); }};
}

PolicySpec vpaPolicy(const VpaOptions& options) {
  auto shared = std::make_shared<VpaShared>();
  shared->options = options;
  shared->cpu_buckets = makeBuckets(options.cpu_first_bucket_cores, options.bucket_growth, options.cpu_max_cores);
  shared->memory_buckets =
      makeBuckets(options.memory_first_bucket_bytes, options.bucket_growth, options.memory_max_bytes);
  std::shared_ptr<const VpaShared> frozen = std::move(shared);
  return {"vpa", [frozen](const std::string&, const Reservation&) { return std::make_unique<VpaPolicy>(frozen); }};
}

std::optional<VpaRecommendation> vpaRecommendation(const SimPolicy& policy) {
  const auto* vpa = dynamic_cast<const VpaPolicy*>(&policy);
  if (vpa == nullptr) return std::nullopt;
  return vpa->recommendation();
}

PolicySpec autopilotPolicy(const AutopilotOptions& options) {
  auto shared = std::make_shared<AutopilotShared>();
  shared->options = options;
  shared->options.buckets = std::clamp(options.buckets, 1, 100000);
  const auto buckets = [&](double first) {
    first = std::max(first, 1e-12);
    const double ratio = 1 + std::max(options.bucket_growth, 1e-6);
    return std::make_shared<const ExponentialBuckets>(first, ratio, shared->options.buckets);
  };
  shared->cpu_buckets = buckets(options.cpu.first_bucket);
  shared->memory_buckets = buckets(options.memory.first_bucket);
  std::shared_ptr<const AutopilotShared> frozen = std::move(shared);
  return {"autopilot",
          [frozen](const std::string&, const Reservation&) { return std::make_unique<AutopilotPolicy>(frozen); }};
}

PolicySpec bandPolicy(const BandOptions& options) {
  return {"band", [options](const std::string&, const Reservation&) { return std::make_unique<BandPolicy>(options); }};
}

std::vector<PolicySpec> baselinePolicies() { return {staticPolicy(), vpaPolicy(), autopilotPolicy(), bandPolicy()}; }

}  // namespace rightsize::sim
