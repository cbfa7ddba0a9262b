#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "baseline_parts.h"

#include "rightsize/core/stats.h"
#include "rightsize/simulate/baselines.h"

namespace rightsize::simulate {
namespace {

using namespace baseline;

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

}  // namespace

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

}  // namespace rightsize::simulate
