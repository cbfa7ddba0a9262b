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
//    never-committing consumer handle per group, all groups in parallel.
// Message timestamps come from one consumer that assigns the probed offsets
// (fetches batched per broker by librdkafka), takes the first message of
// each, seeks to the next probe of the same partition, and pauses a partition
// once done.
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
};

// Thread-safety: one caller at a time (see KafkaClient).
class RdKafkaClient final : public KafkaClient {
 public:
  static Expected<std::unique_ptr<RdKafkaClient>> create(RdKafkaClientOptions options);
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
  explicit RdKafkaClient(RdKafkaClientOptions options);
  Expected<Handle> newHandle(bool consumer, const std::string& group_id) const;
  Expected<rd_kafka_s*> groupHandle(const std::string& group);

  RdKafkaClientOptions options_;
  Handle main_;   // metadata and watermarks
  Handle probe_;  // timestamps
  std::mutex groups_mutex_;
  std::map<std::string, Handle> groups_;
};

}  // namespace rightsize::lag
