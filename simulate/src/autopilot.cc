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

}  // namespace

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

}  // namespace rightsize::simulate
