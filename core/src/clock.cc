#include "rightsize/core/clock.h"

#include <algorithm>
#include <cmath>

namespace rightsize {

double toUnixSeconds(TimePoint t) { return std::chrono::duration<double>(t.time_since_epoch()).count(); }

TimePoint fromUnixSeconds(double seconds) {
  // Nanoseconds in 64 bits span about ±292 years around 1970; clamp rather
  // than overflow (callers validate ranges of outside values themselves).
  constexpr double kLimit = 9.0e9;
  if (!std::isfinite(seconds)) seconds = 0;
  seconds = std::clamp(seconds, -kLimit, kLimit);
  return TimePoint(std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds)));
}

TimePoint SystemClock::now() const { return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now()); }

MonotonicTime SystemClock::steadyNow() const {
  return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
}

TimePoint ScaledClock::now() const {
  const auto elapsed = std::chrono::duration<double, std::nano>(base_.now() - origin_) * speed_;
  return origin_ + std::chrono::duration_cast<Duration>(elapsed);
}

MonotonicTime ScaledClock::steadyNow() const {
  const auto elapsed = std::chrono::duration<double, std::nano>(base_.steadyNow() - steady_origin_) * speed_;
  return steady_origin_ + std::chrono::duration_cast<Duration>(elapsed);
}

}  // namespace rightsize
