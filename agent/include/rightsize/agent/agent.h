#pragma once

// The agent's collection cycle: read a source, update one tracker per
// container, publish an immutable snapshot for the HTTP endpoints.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "rightsize/agent/checkpoint.h"
#include "rightsize/agent/container_source.h"
#include "rightsize/agent/container_tracker.h"
#include "rightsize/core/error_sink.h"

namespace rightsize::agent {

struct AgentOptions {
  std::string host;  // value of the `host` label
  TrackerOptions tracker;
};

// What the endpoints serve; immutable once published.
struct AgentSnapshot {
  std::string host;
  TimePoint timestamp{};  // when the cycle that produced it ended
  Duration window{};
  std::vector<ContainerStats> containers;  // those read in the last cycle, sorted by container id
  std::optional<double> host_used_cores;   // sum over top-level containers with a rate
  std::optional<double> host_capacity_cores;
  std::optional<double> host_capacity_bytes;
  wire::HostPlace host_place;
  bool source_ok = false;  // the last read listed the containers
  std::uint64_t cycles = 0;
  std::uint64_t consecutive_source_failures = 0;
};

// Thread-safety: collectOnce(), restore() and checkpoint() from one thread at
// a time; snapshot() from any thread, concurrently with collectOnce().
class Agent {
 public:
  Agent(ContainerSource& source, const Clock& clock, ErrorSink& errors, AgentOptions options);

  // One cycle. Errors met are recorded in the ErrorSink; the cycle never
  // fails as a whole: what could be read is published.
  void collectOnce();

  // The latest published snapshot (an empty one before the first cycle).
  std::shared_ptr<const AgentSnapshot> snapshot() const;

  // Trackers to continue rather than start afresh (from a checkpoint taken
  // by an earlier agent): a container the agent has not tracked yet takes
  // its entry when it is first read, if the entry was seen within the
  // window. Entries no container claims are dropped at the first complete
  // listing, or once older than the window.
  void restore(std::map<std::string, TrackerCheckpoint> entries);

  // What a checkpoint keeps: every tracked container's state, seen now (or,
  // after a failed listing, when last listed), and the restored entries not
  // yet claimed, with their own times.
  std::map<std::string, TrackerCheckpoint> checkpoint() const;

 private:
  ContainerSource& source_;
  const Clock& clock_;
  ErrorSink& errors_;
  AgentOptions options_;
  struct Tracked {
    ContainerTracker tracker;
    TimePoint seen_at;  // agent clock
  };
  std::unordered_map<std::string, Tracked> trackers_;
  std::map<std::string, TrackerCheckpoint> restorable_;
  std::uint64_t cycles_ = 0;
  std::uint64_t consecutive_failures_ = 0;
  mutable std::mutex snapshot_mutex_;
  std::shared_ptr<const AgentSnapshot> snapshot_;
};

}  // namespace rightsize::agent
