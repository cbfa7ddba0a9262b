#pragma once

// The requests a double holds for a delay fault (private to testing/): each
// waits until its delay has passed on the double's injected clock, or until
// the double releases it (clearing the fault) or stops, so that a test on a
// ManualClock decides when it is served and stopping never waits a delay
// out. The double's own mutex guards it: every call is made holding it.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "rightsize/core/clock.h"

namespace rightsize::testing {

class HeldRequests {
 public:
  explicit HeldRequests(const Clock& clock) : clock_(clock) {}

  // Waits, `lock` held on entry and on return (released while waiting).
  void hold(std::unique_lock<std::mutex>& lock, Duration delay) {
    const TimePoint until = clock_.now() + delay;
    const std::uint64_t generation = generation_;
    while (!stopping_ && generation_ == generation) {
      const Duration left = until - clock_.now();
      if (left <= Duration::zero()) return;
      // A clock cannot signal: a held request looks at it this often.
      released_.wait_for(lock, std::min<Duration>(left, std::chrono::milliseconds(2)));
    }
  }
  // Lets the requests held now go on.
  void releaseAll() {
    ++generation_;
    released_.notify_all();
  }
  // Lets them go on, and holds none from now on.
  void stop() {
    stopping_ = true;
    releaseAll();
  }

 private:
  const Clock& clock_;
  std::condition_variable released_;
  std::uint64_t generation_ = 0;
  bool stopping_ = false;
};

}  // namespace rightsize::testing
