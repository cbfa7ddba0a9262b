#include "rightsize/core/stats.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace rightsize {

void TimeEwma::update(TimePoint at, double value) {
  if (!value_) {
    value_ = value;
    last_ = at;
    return;
  }
  if (at <= last_) {
    if (at < last_) last_ = at;  // the clock went back: restart the time base, keep the average
    return;
  }
  const double dt = toSeconds(at - last_);
  const double keep = tau_seconds_ > 0 ? std::exp(-dt / tau_seconds_) : 0.0;
  *value_ = keep * *value_ + (1.0 - keep) * value;
  last_ = at;
}

std::optional<TimedValue> TimeEwma::state() const {
  if (!value_) return std::nullopt;
  return TimedValue{last_, *value_};
}

void TimeEwma::restore(TimedValue state) {
  value_ = state.value;
  last_ = state.at;
}

void SlidingWindow::restore(const std::vector<TimedValue>& samples) {
  samples_.clear();
  for (const auto& sample : samples) add(sample.at, sample.value);
}

void SlidingWindow::add(TimePoint at, double value) {
  samples_.push_back({at, value});
  while (samples_.size() > max_samples_) samples_.pop_front();
  expire(at);
}

void SlidingWindow::expire(TimePoint now) {
  const TimePoint cutoff = now - window_;
  while (!samples_.empty() && samples_.front().at < cutoff) samples_.pop_front();
}

std::optional<double> SlidingWindow::max() const {
  if (samples_.empty()) return std::nullopt;
  double best = samples_.front().value;
  for (const auto& sample : samples_) best = std::max(best, sample.value);
  return best;
}

std::optional<double> SlidingWindow::quantile(double q) const {
  if (samples_.empty()) return std::nullopt;
  std::vector<double> values;
  values.reserve(samples_.size());
  for (const auto& sample : samples_) values.push_back(sample.value);
  q = std::clamp(q, 0.0, 1.0);
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
  const std::size_t index = rank == 0 ? 0 : rank - 1;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(index), values.end());
  return values[index];
}

}  // namespace rightsize
