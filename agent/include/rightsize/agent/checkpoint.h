#pragma once

// The agent's checkpoint: the state of every container's tracker, written
// now and then to a store (Redis, see redis_checkpoint_store.h) and read
// once at start, so that a restarted agent keeps its windows (samples,
// percentile, peak), continues its moving averages on their time base and
// computes a first rate from the last counters it read, instead of starting
// every container afresh.
//
// The checkpoint is a convenience, never a dependency: a store that is down,
// slow or holds garbage costs the restarted agent its history, nothing more.
// Every failure is recorded in the ErrorSink under the source "redis".

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "rightsize/agent/container_tracker.h"
#include "rightsize/core/clock.h"
#include "rightsize/core/error_sink.h"
#include "rightsize/core/status.h"

namespace rightsize::agent {

// One container's entry.
struct TrackerCheckpoint {
  // The agent's clock when the container was last listed: an entry older
  // than the window is of no use to a restarted agent.
  TimePoint seen_at{};
  TrackerState state;

  bool operator==(const TrackerCheckpoint&) const = default;
};

// A JSON object (layout in docs/agent.md): times as integer Unix
// nanoseconds, figures as the shortest decimal that reads back to the same
// double, unset figures absent. Exact: decoding gives back every value to
// the bit.
std::string encodeTrackerCheckpoint(const TrackerCheckpoint& checkpoint);

// Reads an entry this agent (or an older one) wrote. `where` names the entry
// in messages ("rightsize:agent:host-1 field c-web"). Refused: what is not
// JSON (kMalformed), a missing version, time or counter (kMissingField), and
// what a tracker must not be fed (kInvalidValue): another version, a wrong
// type, a negative or non-finite figure, more cores than any host has, times
// out of order or after the last reading, more than 65,536 samples. Unknown
// members are ignored.
Expected<TrackerCheckpoint> decodeTrackerCheckpoint(std::string_view text, std::string_view where);

// Where the checkpoint of one agent (one host) lives: entries by container
// id, replaced together.
//
// Thread-safety: one caller at a time.
class CheckpointStore {
 public:
  virtual ~CheckpointStore() = default;
  // Every entry, encoded; empty when there is no checkpoint.
  virtual Expected<std::map<std::string, std::string>> load() = 0;
  // Replaces every entry by `entries` at once (none is kept from before),
  // all of them expiring `ttl` after this write unless written again.
  virtual Status replace(const std::map<std::string, std::string>& entries, Duration ttl) = 0;
  // Names the checkpoint in messages: "redis 127.0.0.1:6379 key rightsize:agent:host-1".
  virtual std::string describe() const = 0;
};

struct CheckpointOptions {
  Duration every = std::chrono::seconds(30);  // at most one checkpoint per this
  Duration window = std::chrono::minutes(5);  // the agent's --window: older entries are not restored
  Duration ttl = std::chrono::minutes(15);    // how long a checkpoint outlives its agent
};

// Loads the checkpoint once, takes one every `every` and writes it off the
// collection path.
//
// Thread-safety: load() before collection starts; due() and offer() from
// the collecting thread; writePending() from one thread at a time (a writer
// thread, or any once that one has stopped). offer() and writePending() may
// run concurrently: offer() never waits for the store.
class Checkpointer {
 public:
  // The `source` label of the errors recorded.
  static constexpr std::string_view kErrorSource = "redis";

  Checkpointer(CheckpointStore& store, const Clock& clock, ErrorSink& errors, CheckpointOptions options);

  // The entries that decode and whose container was seen within the window.
  // A store that fails is recorded and gives none; an entry that does not
  // decode is recorded and skipped.
  std::map<std::string, TrackerCheckpoint> load();

  // True when `every` has passed since the last offer() (or none was made).
  bool due() const;
  // Hands a checkpoint to the writer, replacing one not yet written.
  void offer(std::map<std::string, TrackerCheckpoint> entries);
  // Encodes and writes what was offered last, if anything: one attempt (a
  // failure is recorded, and the next offer brings fresh state anyway).
  // Returns the store's answer; success when there was nothing to write.
  Status writePending();

 private:
  CheckpointStore& store_;
  const Clock& clock_;
  ErrorSink& errors_;
  CheckpointOptions options_;
  std::optional<TimePoint> last_offer_;  // collecting thread only
  std::mutex pending_mutex_;
  std::optional<std::map<std::string, TrackerCheckpoint>> pending_;
};

}  // namespace rightsize::agent
