#pragma once

// The boundary to Kafka. LagMonitor asks for everything it needs in batches
// (all groups, all partitions at once) and implementations decide how to
// spread the work over brokers; every call returns within its timeout, with
// per-item errors for what could not be answered in time (a partition whose
// leader is down is an error for that partition only).

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "rightsize/core/clock.h"
#include "rightsize/core/status.h"

namespace rightsize::lag {

struct TopicPartition {
  std::string topic;
  std::int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
};

std::string toString(const TopicPartition& tp);  // "topic[3]"

struct PartitionInfo {
  TopicPartition tp;
  std::int32_t leader = -1;  // broker id; -1 when the partition has no leader
};

struct ClusterMetadata {
  // Non-internal topics, each with all of its partitions.
  std::map<std::string, std::vector<PartitionInfo>> topics;
};

struct Watermarks {
  std::int64_t low = 0;   // first offset still in the log
  std::int64_t high = 0;  // offset the next message will get
};

// An offset whose message timestamp is wanted.
struct OffsetProbe {
  TopicPartition tp;
  std::int64_t offset = 0;
  auto operator<=>(const OffsetProbe&) const = default;
};

// Thread-safety: calls come from one thread at a time.
class KafkaClient {
 public:
  virtual ~KafkaClient() = default;

  virtual Expected<ClusterMetadata> metadata(Duration timeout) = 0;

  // For each group, its committed offset for each of `partitions` (nullopt:
  // nothing committed). A group whose coordinator did not answer in time is
  // an error (kUnavailable) for that group, as is one that could not even be
  // asked before the timeout ran out: the whole call returns within it.
  virtual std::map<std::string, Expected<std::map<TopicPartition, std::optional<std::int64_t>>>> committed(
      const std::map<std::string, std::vector<TopicPartition>>& partitions_by_group, Duration timeout) = 0;

  virtual std::map<TopicPartition, Expected<Watermarks>> watermarks(const std::vector<PartitionInfo>& partitions,
                                                                    Duration timeout) = 0;

  // Timestamp, in milliseconds since the epoch, of the first message at or
  // after each probe's offset (the message itself unless it was compacted
  // away or is a transaction marker). The result has an entry for every
  // probe and may have more: timestamps of other messages read on the way,
  // which callers may keep (a message's timestamp never changes).
  virtual std::map<OffsetProbe, Expected<std::int64_t>> timestamps(const std::vector<OffsetProbe>& probes,
                                                                   Duration timeout) = 0;
};

}  // namespace rightsize::lag
