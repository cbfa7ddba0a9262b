#include "rightsize/core/clock.h"

#include <cmath>

namespace rightsize {

double toUnixSeconds(TimePoint t) { return std::chrono::duration<double>(t.time_since_epoch()).count(); }

TimePoint fromUnixSeconds(double seconds) {
  return TimePoint(std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds)));
}

double toSeconds(Duration d) { return std::chrono::duration<double>(d).count(); }

TimePoint SystemClock::now() const { return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now()); }

}  // namespace rightsize
