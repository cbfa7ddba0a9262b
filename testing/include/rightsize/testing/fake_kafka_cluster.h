#pragma once

// librdkafka's mock cluster (rdkafka_mock.h: a real implementation of the
// Kafka wire protocol, in process, on loopback) with the few operations tests,
// benchmarks and the rightsize-fake-kafka tool need: topics, messages with
// chosen timestamps, committed offsets for a group, brokers down and up,
// round-trip delays, injected request errors.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "rightsize/core/status.h"

struct rd_kafka_s;
struct rd_kafka_mock_cluster_s;

namespace rightsize::testing {

// Thread-safety: all methods may be called from any thread, one at a time.
class FakeKafkaCluster {
 public:
  static Expected<std::unique_ptr<FakeKafkaCluster>> create(int brokers);
  ~FakeKafkaCluster();
  FakeKafkaCluster(const FakeKafkaCluster&) = delete;
  FakeKafkaCluster& operator=(const FakeKafkaCluster&) = delete;

  // "127.0.0.1:port,..." for bootstrap.servers.
  const std::string& bootstrap() const { return bootstrap_; }

  [[nodiscard]] Status createTopic(const std::string& topic, int partitions, int replication = 1);
  // Appends `count` messages of `value_bytes` bytes each to a partition, the
  // i-th with timestamp first_timestamp_ms + i * step_ms, and waits until
  // the cluster has them. Each message is its own batch, so that log
  // retention (5 MB per partition in the mock) can drop the oldest.
  [[nodiscard]] Status produce(const std::string& topic, std::int32_t partition, int count,
                               std::int64_t first_timestamp_ms, std::int64_t step_ms, std::size_t value_bytes = 16);
  // Appends `count` small messages to every partition of `topic` through a
  // batching producer (fast, for large set-ups), timestamps as produce().
  [[nodiscard]] Status produceToAll(const std::string& topic, int partitions, int count,
                                    std::int64_t first_timestamp_ms, std::int64_t step_ms);
  // Commits `offset` on partitions 0..partitions-1 of `topic` in one request.
  [[nodiscard]] Status commitAll(const std::string& group, const std::string& topic, int partitions,
                                 std::int64_t offset);
  // Commits `offset` for `group` on a partition, as a consumer would.
  [[nodiscard]] Status commit(const std::string& group, const std::string& topic, std::int32_t partition,
                              std::int64_t offset);
  [[nodiscard]] Status setBrokerDown(std::int32_t broker);
  [[nodiscard]] Status setBrokerUp(std::int32_t broker);
  // Delay added to every response of a broker (-1: all brokers).
  [[nodiscard]] Status setRtt(std::int32_t broker, int rtt_ms);
  [[nodiscard]] Status setLeader(const std::string& topic, std::int32_t partition, std::int32_t broker);
  [[nodiscard]] Status setGroupCoordinator(const std::string& group, std::int32_t broker);
  // The next `count` requests of Kafka API `api_key` fail with `error`
  // (an rd_kafka_resp_err_t value).
  void failRequests(std::int16_t api_key, int count, int error);
  // The leader of a partition as the cluster's metadata says.
  Expected<std::int32_t> leaderOf(const std::string& topic, std::int32_t partition);

 private:
  FakeKafkaCluster() = default;
  Expected<rd_kafka_s*> groupClient(const std::string& group);

  std::mutex mutex_;
  rd_kafka_s* owner_ = nullptr;  // the handle the mock cluster lives in
  rd_kafka_mock_cluster_s* cluster_ = nullptr;
  rd_kafka_s* producer_ = nullptr;
  std::map<std::string, rd_kafka_s*> group_clients_;
  std::string bootstrap_;
};

}  // namespace rightsize::testing
