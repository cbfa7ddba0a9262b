#pragma once

// KafkaClient on librdkafka (Debian's 2.0.2), designed around two of its
// traps:
//  - rd_kafka_query_watermark_offsets() ignores its timeout while a
//    partition's leader is down, so watermarks come from
//    rd_kafka_offsets_for_times() (ListOffsets at timestamps -2 and -1), one
//    call per leader broker, in parallel: a down leader times out its own
//    partitions only.
//  - the Admin API's consumer-group calls can abort the process against
//    brokers that lack the request (DescribeConsumerGroups) or when a
//    coordinator comes back after a timed-out request
//    (ListConsumerGroupOffsets asserts in rd_kafka_enq_once), so committed
//    offsets come from rd_kafka_committed() on one never-joining,
//    never-committing consumer handle per group, up to max_parallel_groups
//    at a time; each call may use only the time left before the deadline,
//    and a group whose turn comes after it is not asked.
// Message timestamps come from consumers that assign the probed offsets
// (fetches batched per broker by librdkafka), take the first message of
// each, and seek to the next probe of the same partition.
//
// librdkafka's per-handle work grows faster than linearly with the number of
// partitions a handle knows, so watermarks and timestamps are spread over
// `shards` handles by topic, queried in parallel: at 25,000 partitions this
// is the difference between tens of seconds and about one.
//
// Nothing here commits offsets or joins a group.

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "rightsize/lag/kafka_client.h"

struct rd_kafka_s;

namespace rightsize::lag {

struct RdKafkaClientOptions {
  std::string brokers;  // bootstrap.servers
  // Extra librdkafka properties (security.protocol, sasl.*, ...).
  std::map<std::string, std::string> properties;
  std::size_t max_parallel_groups = 32;
  std::size_t shards = 8;  // handles for watermarks and timestamps, created as needed
};

// Thread-safety: one caller at a time (see KafkaClient).
class RdKafkaClient final : public KafkaClient {
 public:
  // A call's deadline is its timeout from `clock.steadyNow()`; librdkafka is
  // given the time left before it. librdkafka waits in real time, so that
  // reading must advance with it (SystemClock; ManualWallClock in tests): on
  // a clock that stands still a call waiting for a message would never end.
  // `clock` must outlive the client.
  static Expected<std::unique_ptr<RdKafkaClient>> create(RdKafkaClientOptions options, const Clock& clock);
  ~RdKafkaClient() override;
  RdKafkaClient(const RdKafkaClient&) = delete;
  RdKafkaClient& operator=(const RdKafkaClient&) = delete;

  Expected<ClusterMetadata> metadata(Duration timeout) override;
  std::map<std::string, Expected<std::map<TopicPartition, std::optional<std::int64_t>>>> committed(
      const std::map<std::string, std::vector<TopicPartition>>& partitions_by_group, Duration timeout) override;
  std::map<TopicPartition, Expected<Watermarks>> watermarks(const std::vector<PartitionInfo>& partitions,
                                                            Duration timeout) override;
  std::map<OffsetProbe, Expected<std::int64_t>> timestamps(const std::vector<OffsetProbe>& probes,
                                                           Duration timeout) override;

  // Forgets the handles of groups not in `groups` (their threads and sockets).
  void retainGroups(const std::vector<std::string>& groups);

 private:
  using Handle = std::unique_ptr<rd_kafka_s, void (*)(rd_kafka_s*)>;
  RdKafkaClient(RdKafkaClientOptions options, const Clock& clock);
  Expected<Handle> newHandle(bool consumer, const std::string& group_id) const;
  Expected<rd_kafka_s*> groupHandle(const std::string& group);
  std::size_t shardOf(const std::string& topic) const;
  Expected<rd_kafka_s*> shardHandle(std::size_t shard);
  std::map<OffsetProbe, Expected<std::int64_t>> timestampsOfShard(rd_kafka_s* rk,
                                                                  const std::vector<OffsetProbe>& probes,
                                                                  Duration timeout);

  RdKafkaClientOptions options_;
  const Clock& clock_;
  Handle main_;  // metadata
  std::mutex shards_mutex_;
  std::vector<Handle> shards_;  // watermarks and timestamps, by shardOf(topic)
  std::mutex groups_mutex_;
  std::map<std::string, Handle> groups_;
};

}  // namespace rightsize::lag
