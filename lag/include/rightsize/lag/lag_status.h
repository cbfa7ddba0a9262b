#pragma once

// Consumer status in the manner of Burrow, from a window of observations of
// one partition's committed offset and lag.
//
// Burrow reads every commit from __consumer_offsets; rightsize only sees the
// committed offset when it asks (OffsetFetch), so "a commit" here is an
// observed change of the committed offset, and a consumer that keeps
// committing the same offset cannot be told from one that stopped
// committing. The rules, in order:
//   NO_COMMIT  nothing committed: lag unknown (never "the whole log")
//   OK         the lag was 0 at some observation in the window
//   REWIND     the committed offset went back within the window
//   STOP       the committed offset has not moved for the whole window
//   STALL      it has not moved for half the window, with a backlog
//   WARN       it moves, but the lag grew over the window
//   OK         otherwise
// A group's status is the worst of its partitions' (OK < WARN < REWIND <
// STALL < STOP); NO_COMMIT only when no partition has a commit.

#include <cstdint>
#include <deque>
#include <optional>

#include "rightsize/core/clock.h"
#include "rightsize/wire/lag_status.h"

namespace rightsize::lag {

// The statuses are those /v1/lag carries: one definition for the agent and
// the sizer.
using wire::LagStatus;
using wire::lagStatusName;  // "OK", "NO_COMMIT", ...

// Severity order for a group's status.
int lagStatusSeverity(LagStatus status);

// Not thread-safe.
class PartitionWindow {
 public:
  explicit PartitionWindow(Duration window) : window_(window) {}

  // One observation: the committed offset (nullopt: none) and the lag in
  // messages at `at`. Observations older than the window are dropped.
  void observe(TimePoint at, std::optional<std::int64_t> committed, std::int64_t lag_messages);
  LagStatus status(TimePoint now) const;

 private:
  struct Observation {
    TimePoint at;
    std::int64_t committed;
    std::int64_t lag;
  };
  Duration window_;
  std::deque<Observation> observations_;
  bool committed_ = false;
  std::optional<std::int64_t> last_offset_;
  TimePoint last_change_{};
};

}  // namespace rightsize::lag
