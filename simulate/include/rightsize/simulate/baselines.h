#pragma once

// The baseline policies `rightsize simulate` compares the product with
// (docs/simulate.md), each as faithful to its published definition as a
// replay of trace samples allows. docs/baselines.md gives every parameter's
// value and source (file or paper section) and lists the deviations.
//
//   static     never changes the reservation
//   vpa        the Kubernetes Vertical Pod Autoscaler: recommender + updater
//   autopilot  Google Autopilot's moving-window recommenders (EuroSys 2020)
//   band       the plain lying-factor band, as first described in the talks
//
// Every policy sizes memory the way it sizes CPU when the app has a memory
// signal (Reservation::mem_mib and Observation::mem_used_mib present) and
// leaves memory alone (absent) otherwise. Units are those of Reservation:
// cores and MiB. Requested reservations are rounded up to 0.001 core and
// 1 MiB (or coarser where the published policy is coarser).
//
// Thread-safety: PolicySpec::make may be called from several threads at once
// (what the specs share is immutable); each SimPolicy it makes is used by one
// thread at a time. Policies never allocate per sample once warmed up.

#include <optional>
#include <vector>

#include "rightsize/core/clock.h"
#include "rightsize/simulate/replay.h"

namespace rightsize::simulate {

struct StaticOptions {};  // nothing to tune

PolicySpec staticPolicy(const StaticOptions& options = {});

// Defaults are the recommender's and updater's published defaults
// (kubernetes/autoscaler, vertical-pod-autoscaler/pkg/recommender/model,
// .../recommender/logic, .../recommender/util, .../updater/priority).

struct VpaOptions {
  // Histograms (model/aggregations_config.go): exponential buckets, the first
  // [0, first) and each next one `bucket_growth` wider.
  double cpu_first_bucket_cores = 0.01;
  double cpu_max_cores = 1000;
  double memory_first_bucket_bytes = 1e7;
  double memory_max_bytes = 1e12;
  double bucket_growth = 0.05;
  double epsilon = 0.001 * 0.1;  // smallest weight of a non-empty bucket
  Duration cpu_half_life = std::chrono::hours(24);
  Duration memory_half_life = std::chrono::hours(24);
  // One memory peak per interval enters the histogram (model/container.go).
  Duration memory_aggregation_interval = std::chrono::hours(24);
  // CPU samples weigh max(request, this) (model/aggregate_container_state.go).
  double min_sample_weight_cores = 0.1;
  // The recommender sees one sample per metrics interval (--recommender-interval);
  // a trace step stands for step / interval samples of the step's mean.
  Duration metrics_interval = std::chrono::minutes(1);

  // Estimators (logic/recommender.go, logic/estimator.go).
  double target_cpu_percentile = 0.9;
  double lower_bound_cpu_percentile = 0.5;
  double upper_bound_cpu_percentile = 0.95;
  double target_memory_percentile = 0.9;
  double lower_bound_memory_percentile = 0.5;
  double upper_bound_memory_percentile = 0.95;
  double safety_margin_fraction = 0.15;
  double pod_min_cpu_millicores = 25;
  double pod_min_memory_mib = 250;  // --pod-recommendation-min-memory-mb, times 1024 * 1024
  // Bounds are scaled by (1 + multiplier / confidence)^exponent, confidence =
  // min(history span, samples at one a minute) in units of the interval.
  Duration confidence_interval = std::chrono::hours(24);
  double upper_bound_confidence_multiplier = 1.0;
  double upper_bound_confidence_exponent = 1.0;
  double lower_bound_confidence_multiplier = 0.001;
  double lower_bound_confidence_exponent = -2.0;

  // OOM (model/aggregations_config.go, model/container.go RecordOOM): a memory
  // sample of max(m + min_bump, m * ratio), m = max(request, interval's peak).
  double oom_bump_up_ratio = 1.2;
  double oom_min_bump_up_bytes = 100.0 * 1024 * 1024;

  // Updater (updater/priority/update_priority_calculator.go): evict when the
  // request is outside [lower, upper], or after `pod_lifetime_update_threshold`
  // when the relative difference to the target (summed over resources) is at
  // least `min_change_priority`, or after an OOM within
  // `evict_after_oom_threshold` of the container's start.
  double min_change_priority = 0.1;
  Duration pod_lifetime_update_threshold = std::chrono::hours(12);
  Duration evict_after_oom_threshold = std::chrono::minutes(10);
};

PolicySpec vpaPolicy(const VpaOptions& options = {});

// What a vpa policy recommended at its last observation (VPA's status:
// target, lowerBound, upperBound), for tests and reports; nullopt for a
// policy not made by vpaPolicy() or before its first observation. Bounds can
// be huge (up to 1e11 cores) while confidence is low.
struct VpaRecommendation {
  Reservation target;
  Reservation lower_bound;
  Reservation upper_bound;
};
std::optional<VpaRecommendation> vpaRecommendation(const SimPolicy& policy);

// Rzadca et al., "Autopilot: workload autoscaling at Google", EuroSys 2020,
// section 3 (signals aggregated per 5-minute window, exponentially decaying
// weights, moving-window recommenders). Values the paper does not give are
// marked in docs/baselines.md.

enum class AutopilotStatistic {
  kPeak,             // S_max: the highest bucket used in the last `peak_window`
  kWeightedAverage,  // S_avg: time-decayed mean of use
  kPercentile,       // S_p,j: j-th percentile of the decayed load-adjusted histogram
};

struct AutopilotResourceOptions {
  AutopilotStatistic statistic = AutopilotStatistic::kPercentile;
  double percentile = 0.95;  // j, for kPercentile
  Duration half_life = std::chrono::hours(12);
  double first_bucket = 0.001;  // cores or MiB
  double margin_fraction = 0;   // added to the statistic
};

struct AutopilotOptions {
  AutopilotResourceOptions cpu{AutopilotStatistic::kPercentile, 0.95, std::chrono::hours(12), 0.001, 0};
  AutopilotResourceOptions memory{AutopilotStatistic::kPeak, 0.98, std::chrono::hours(48), 1.0, 0};
  Duration aggregation_window = std::chrono::minutes(5);  // s[t]: one memory peak per window
  int buckets = 400;                                      // histogram buckets per resource
  double bucket_growth = 0.025;                           // each bucket this much wider than the previous
  Duration peak_window = std::chrono::hours(24);          // N of S_max
  // Rise fast, fall slowly: what is applied is the highest recommendation of
  // the last `stabilization` (a rise at once, a fall once it has lasted).
  Duration stabilization = std::chrono::hours(1);
  // After an OOM the memory signal gets a sample of ratio x max(use, limit).
  double oom_bump_ratio = 1.2;
  Duration min_history = std::chrono::hours(1);  // no change before this much history
  double min_change_fraction = 0;                // ignore smaller relative changes
};

PolicySpec autopilotPolicy(const AutopilotOptions& options = {});

// The lying factor (reserved - used) of the talks: a moving average of use is
// kept; when reserved - average leaves the band, the resource is resized to
// average + the band's middle. No sustain, no headroom, no floors beyond the
// rounding step.

struct BandOptions {
  double cpu_low_cores = -0.1;
  double cpu_high_cores = 0.6;
  double memory_low_mib = -64;
  double memory_high_mib = 512;
  // Time constant of the moving average (continuous-time EWMA, as the agent's
  // --window; the talks give no number).
  Duration window = std::chrono::minutes(5);
};

PolicySpec bandPolicy(const BandOptions& options = {});

// The four baselines with their defaults: static, vpa, autopilot, band.
std::vector<PolicySpec> baselinePolicies();

}  // namespace rightsize::simulate
