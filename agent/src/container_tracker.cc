#include "rightsize/agent/container_tracker.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace rightsize::agent {
namespace {

// No container uses more cores than this; a larger rate means corrupt input.
constexpr double kMaxPlausibleCores = 8192;

}  // namespace

ContainerTracker::ContainerTracker(const TrackerOptions& options)
    : options_(options),
      used_avg_(options.window),
      cpu_lying_avg_(options.window),
      memory_lying_avg_(options.window),
      used_window_(options.window, options.max_window_samples),
      memory_window_(options.window, options.max_window_samples) {}

std::optional<double> ContainerTracker::memoryReservedBytes() const {
  if (memory_request_bytes_ && (!memory_limit_bytes_ || *memory_request_bytes_ < *memory_limit_bytes_)) {
    return memory_request_bytes_;
  }
  return memory_limit_bytes_;
}

void ContainerTracker::updateMemory(const ContainerSample& sample) {
  memory_limit_bytes_.reset();
  if (sample.memory_limit_bytes) memory_limit_bytes_ = static_cast<double>(*sample.memory_limit_bytes);
  memory_request_bytes_.reset();
  if (sample.memory_request_bytes) memory_request_bytes_ = static_cast<double>(*sample.memory_request_bytes);
  memory_used_bytes_.reset();
  if (!sample.memory_used_bytes) return;
  const double used = static_cast<double>(*sample.memory_used_bytes);
  memory_used_bytes_ = used;
  memory_window_.add(sample.at, used);
  if (const auto reserved = memoryReservedBytes()) memory_lying_avg_.update(sample.at, *reserved - used);
}

void ContainerTracker::expireSampleTimes(TimePoint now) {
  while (sample_times_.size() > options_.max_window_samples ||
         (!sample_times_.empty() && sample_times_.front() < now - options_.window)) {
    sample_times_.pop_front();
  }
}

Status ContainerTracker::update(const ContainerSample& sample) {
  const std::string& id = sample.identity.container_id;
  identity_ = sample.identity;
  const auto absurd_cores = [](const std::optional<double>& cores) {
    return cores && (!std::isfinite(*cores) || *cores < 0 || *cores > kMaxPlausibleCores);
  };
  if (!std::isfinite(sample.cpu_seconds) || sample.cpu_seconds < 0 || absurd_cores(sample.reserved_cores) ||
      absurd_cores(sample.limit_cores)) {
    return Error(ErrorKind::kInvalidValue, "container " + id + ": CPU figures not finite, negative or absurd");
  }
  if (baseline_ && sample.at == baseline_->at) return Status::success();  // same snapshot served twice

  reserved_cores_ = sample.reserved_cores;
  limit_cores_ = sample.limit_cores;
  used_cores_.reset();
  throttled_ratio_.reset();
  throttled_cores_.reset();

  Status status;
  if (baseline_ && sample.at < baseline_->at) {
    status = Error(ErrorKind::kClockJump, "container " + id + ": sample time went back by " +
                                              std::to_string(toSeconds(baseline_->at - sample.at)) + "s");
    // Windowed samples now lie in the future and would never expire; the
    // averages keep their values but measure time from here.
    sample_times_.clear();
    used_window_.clear();
    memory_window_.clear();
    used_avg_.restartAt(sample.at);
    cpu_lying_avg_.restartAt(sample.at);
    memory_lying_avg_.restartAt(sample.at);
  } else if (baseline_ && sample.cpu_seconds < baseline_->cpu_seconds) {
    status = Error(ErrorKind::kCounterReset, "container " + id + ": CPU time went back from " +
                                                 std::to_string(baseline_->cpu_seconds) + "s to " +
                                                 std::to_string(sample.cpu_seconds) + "s");
  } else if (baseline_) {
    const double dt = toSeconds(sample.at - baseline_->at);
    const double used = (sample.cpu_seconds - baseline_->cpu_seconds) / dt;
    if (!std::isfinite(used) || used > kMaxPlausibleCores) {
      status = Error(ErrorKind::kInvalidValue,
                     "container " + id + ": implausible CPU usage of " + std::to_string(used) + " cores");
    } else {
      used_cores_ = used;
      used_avg_.update(sample.at, used);
      used_window_.add(sample.at, used);
      if (reserved_cores_) cpu_lying_avg_.update(sample.at, *reserved_cores_ - used);
      if (sample.cfs_periods && sample.cfs_throttled_periods && baseline_->cfs_periods &&
          baseline_->cfs_throttled_periods && *sample.cfs_periods >= *baseline_->cfs_periods &&
          *sample.cfs_throttled_periods >= *baseline_->cfs_throttled_periods) {
        const auto periods = *sample.cfs_periods - *baseline_->cfs_periods;
        const auto throttled = *sample.cfs_throttled_periods - *baseline_->cfs_throttled_periods;
        throttled_ratio_ =
            periods == 0 ? 0.0 : std::min(1.0, static_cast<double>(throttled) / static_cast<double>(periods));
      }
      // Throttled time per second, summed over the CPUs: about the cores of
      // demand the quota held back. A counter that went back, or a rate no
      // host has, gives no figure this interval and is counted, as CPU
      // time's are.
      if (sample.cfs_throttled_seconds && baseline_->cfs_throttled_seconds) {
        const double waiting = (*sample.cfs_throttled_seconds - *baseline_->cfs_throttled_seconds) / dt;
        if (waiting < 0) {
          status = Error(ErrorKind::kCounterReset, "container " + id + ": throttled time went back from " +
                                                       std::to_string(*baseline_->cfs_throttled_seconds) + "s to " +
                                                       std::to_string(*sample.cfs_throttled_seconds) + "s");
        } else if (!std::isfinite(waiting) || waiting > kMaxPlausibleCores) {
          status = Error(ErrorKind::kInvalidValue,
                         "container " + id + ": implausible throttled time of " + std::to_string(waiting) + " cores");
        } else {
          throttled_cores_ = waiting;
        }
      }
    }
  }
  baseline_ = TrackerState::Baseline{sample.at, sample.cpu_seconds, sample.cfs_periods, sample.cfs_throttled_periods,
                                     sample.cfs_throttled_seconds};
  last_seen_ = sample.at;
  sample_times_.push_back(sample.at);
  expireSampleTimes(sample.at);
  used_window_.expire(sample.at);
  updateMemory(sample);
  return status;
}

ContainerStats ContainerTracker::stats() const {
  ContainerStats out;
  out.identity = identity_;
  out.last_sample = last_seen_;
  out.samples = sample_times_.size();
  out.reserved_cores = reserved_cores_;
  out.limit_cores = limit_cores_;
  out.used_cores = used_cores_;
  out.used_cores_avg = used_avg_.value();
  out.used_cores_p95 = used_window_.quantile(options_.p_quantile);
  if (out.used_cores_avg && reserved_cores_) {
    out.used_above_request_cores = std::max(*out.used_cores_avg - *reserved_cores_, 0.0);
  }
  out.lying_factor_cores = reserved_cores_ ? cpu_lying_avg_.value() : std::nullopt;
  out.throttled_ratio = throttled_ratio_;
  out.throttled_cores = throttled_cores_;
  out.memory_reserved_bytes = memoryReservedBytes();
  out.memory_limit_bytes = memory_limit_bytes_;
  out.memory_used_bytes = memory_used_bytes_;
  out.memory_used_bytes_peak = memory_window_.max();
  out.memory_lying_factor_bytes = out.memory_reserved_bytes ? memory_lying_avg_.value() : std::nullopt;
  return out;
}

TrackerState ContainerTracker::state() const {
  TrackerState out;
  out.baseline = baseline_;
  out.last_seen = last_seen_;
  out.sample_times.assign(sample_times_.begin(), sample_times_.end());
  out.reserved_cores = reserved_cores_;
  out.limit_cores = limit_cores_;
  out.used_cores = used_cores_;
  out.throttled_ratio = throttled_ratio_;
  out.throttled_cores = throttled_cores_;
  out.memory_limit_bytes = memory_limit_bytes_;
  out.memory_request_bytes = memory_request_bytes_;
  out.memory_used_bytes = memory_used_bytes_;
  out.used_cores_avg = used_avg_.state();
  out.lying_factor_cores_avg = cpu_lying_avg_.state();
  out.lying_factor_bytes_avg = memory_lying_avg_.state();
  out.used_cores_window = used_window_.samples();
  out.memory_used_bytes_window = memory_window_.samples();
  return out;
}

void ContainerTracker::restore(const TrackerState& state) {
  baseline_ = state.baseline;
  last_seen_ = state.last_seen;
  sample_times_.assign(state.sample_times.begin(), state.sample_times.end());
  expireSampleTimes(last_seen_);
  reserved_cores_ = state.reserved_cores;
  limit_cores_ = state.limit_cores;
  used_cores_ = state.used_cores;
  throttled_ratio_ = state.throttled_ratio;
  throttled_cores_ = state.throttled_cores;
  memory_limit_bytes_ = state.memory_limit_bytes;
  memory_request_bytes_ = state.memory_request_bytes;
  memory_used_bytes_ = state.memory_used_bytes;
  const auto restore_average = [](TimeEwma& average, const std::optional<TimedValue>& saved) {
    average.reset();
    if (saved) average.restore(*saved);
  };
  restore_average(used_avg_, state.used_cores_avg);
  restore_average(cpu_lying_avg_, state.lying_factor_cores_avg);
  restore_average(memory_lying_avg_, state.lying_factor_bytes_avg);
  used_window_.restore(state.used_cores_window);
  used_window_.expire(last_seen_);
  memory_window_.restore(state.memory_used_bytes_window);
}

wire::Container wireContainer(const ContainerStats& c) {
  return {.container_id = c.identity.container_id,
          .app_id = c.identity.app_id,
          .task_id = c.identity.task_id,
          .env = c.identity.env,
          .instance_type = c.identity.instance_type,
          .samples = c.samples,
          .cpu = {.reserved_cores = c.reserved_cores,
                  .limit_cores = c.limit_cores,
                  .used_cores = c.used_cores,
                  .used_cores_avg = c.used_cores_avg,
                  .used_cores_p95 = c.used_cores_p95,
                  .used_above_request_cores = c.used_above_request_cores,
                  .lying_factor_cores = c.lying_factor_cores,
                  .throttled_ratio = c.throttled_ratio,
                  .throttled_cores = c.throttled_cores},
          .mem = {.reserved_bytes = c.memory_reserved_bytes,
                  .limit_bytes = c.memory_limit_bytes,
                  .limit_reported = true,
                  .used_bytes = c.memory_used_bytes,
                  .used_bytes_peak = c.memory_used_bytes_peak,
                  .lying_factor_bytes = c.memory_lying_factor_bytes}};
}

}  // namespace rightsize::agent
