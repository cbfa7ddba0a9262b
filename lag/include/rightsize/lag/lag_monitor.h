#pragma once

// One lag cycle for the consumer groups of the apps on this host: committed
// offsets, watermarks, lag in messages and in seconds, and a Burrow-style
// status per partition and group. Everything is asked of Kafka in batches
// through KafkaClient, within a deadline: what cannot be answered in time is
// published as stale (null) for this cycle, the rest as usual.

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "rightsize/core/error_sink.h"
#include "rightsize/lag/kafka_client.h"
#include "rightsize/lag/lag_status.h"

namespace rightsize::lag {

struct LagOptions {
  Duration window = std::chrono::minutes(10);  // span of the status window
  Duration timeout = std::chrono::seconds(5);  // a whole cycle, on the clock's steadyNow()
  // How often the topics a group has commits for are looked for again among
  // all topics of the cluster (new groups: at once). A pass asks about at
  // most `discovery_budget` partitions per cycle (shared by the groups being
  // discovered), so a large cluster is covered over several cycles.
  Duration topic_rediscovery = std::chrono::minutes(5);
  std::size_t discovery_budget = 20000;
};

// A consumer group to watch, and who it belongs to.
struct GroupRequest {
  std::string group;
  std::string app_id;  // "" for groups given by flag
  std::string env;
  auto operator<=>(const GroupRequest&) const = default;
};

struct PartitionLag {
  TopicPartition tp;
  std::optional<std::int64_t> committed_offset;
  std::optional<std::int64_t> low_watermark;
  std::optional<std::int64_t> high_watermark;
  std::optional<std::int64_t> lag_messages;
  std::optional<double> lag_seconds;
  std::optional<LagStatus> status;  // nullopt when stale
  // The committed offset fell below the low watermark (retention deleted
  // messages the group never read): lag is counted from the low watermark.
  bool below_low_watermark = false;
  bool stale = false;  // something could not be read this cycle
  std::string error;
};

struct GroupLag {
  GroupRequest request;
  std::optional<LagStatus> status;       // nullopt when nothing is known
  std::vector<PartitionLag> partitions;  // sorted by topic, partition
  std::string error;
};

struct LagSnapshot {
  TimePoint timestamp{};
  std::vector<GroupLag> groups;  // sorted by group
  std::uint64_t cycles = 0;
  Duration last_cycle{};
  // Metadata could be read in the last cycle (else the previous metadata
  // was used, or nothing could be measured).
  bool kafka_ok = false;
};

// Thread-safety: collectOnce() from one thread at a time; snapshot() from any.
class LagMonitor {
 public:
  // `clock` dates the snapshot and the status windows (now()) and budgets the
  // cycle (steadyNow()): each phase is given a share of the time left before
  // `options.timeout` runs out, which `kafka` is asked to keep to.
  LagMonitor(KafkaClient& kafka, const Clock& clock, ErrorSink& errors, LagOptions options);

  void collectOnce(const std::vector<GroupRequest>& groups);
  std::shared_ptr<const LagSnapshot> snapshot() const;

 private:
  struct GroupState {
    std::set<std::string> topics;  // topics the group has commits for
    // Discovery pass: where it started, the last topic examined, whether done.
    std::optional<TimePoint> pass_started;
    std::string cursor;
    bool pass_done = false;
  };
  using WindowKey = std::pair<std::string, TopicPartition>;  // (group, partition)

  const Clock& clock_;
  KafkaClient& kafka_;
  ErrorSink& errors_;
  LagOptions options_;
  std::map<std::string, GroupState> groups_;
  std::map<WindowKey, PartitionWindow> windows_;
  std::optional<std::int64_t> cachedTimestamp(const OffsetProbe& probe) const;
  void pruneTimestamps(const std::set<OffsetProbe>& probes);

  // Message timestamps by partition and offset (bounded: see pruneTimestamps).
  std::map<TopicPartition, std::map<std::int64_t, std::int64_t>> timestamp_cache_;
  std::optional<ClusterMetadata> last_metadata_;
  std::uint64_t cycles_ = 0;
  mutable std::mutex snapshot_mutex_;
  std::shared_ptr<const LagSnapshot> snapshot_;
};

}  // namespace rightsize::lag
