#include "rightsize/testing/fake_kafka_cluster.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <optional>
#include <vector>

namespace rightsize::testing {
namespace {

Error failure(const std::string& what, rd_kafka_resp_err_t error) {
  return Error(ErrorKind::kUnavailable, what + ": " + rd_kafka_err2str(error));
}

Expected<rd_kafka_t*> newClient(rd_kafka_type_t type, const std::map<std::string, std::string>& properties) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  for (const auto& [key, value] : properties) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), error, sizeof error) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return Error(ErrorKind::kInvalidArgument, key + ": " + error);
    }
  }
  rd_kafka_t* rk = rd_kafka_new(type, conf, error, sizeof error);
  if (rk == nullptr) return Error(ErrorKind::kInternal, error);
  return rk;
}

}  // namespace

Expected<std::unique_ptr<FakeKafkaCluster>> FakeKafkaCluster::create(int brokers) {
  std::unique_ptr<FakeKafkaCluster> mock(new FakeKafkaCluster());
  // The mock's own handle: quiet, it only hosts the cluster.
  auto owner = newClient(RD_KAFKA_PRODUCER, {{"log_level", "0"}});
  if (!owner) return owner.error();
  mock->owner_ = *owner;
  mock->cluster_ = rd_kafka_mock_cluster_new(mock->owner_, brokers);
  if (mock->cluster_ == nullptr) return Error(ErrorKind::kInternal, "rd_kafka_mock_cluster_new failed");
  mock->bootstrap_ = rd_kafka_mock_cluster_bootstraps(mock->cluster_);
  auto producer = newClient(RD_KAFKA_PRODUCER, {{"bootstrap.servers", mock->bootstrap_},
                                                {"log_level", "0"},
                                                {"linger.ms", "0"},
                                                {"batch.num.messages", "1"},
                                                {"message.max.bytes", "10000000"}});
  if (!producer) return producer.error();
  mock->producer_ = *producer;
  return mock;
}

FakeKafkaCluster::~FakeKafkaCluster() {
  for (auto& [group, client] : group_clients_) rd_kafka_destroy_flags(client, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  if (producer_ != nullptr) rd_kafka_destroy(producer_);
  if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
  if (owner_ != nullptr) rd_kafka_destroy(owner_);
}

Status FakeKafkaCluster::createTopic(const std::string& topic, int partitions, int replication) {
  std::lock_guard lock(mutex_);
  const auto error = rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, replication);
  if (error != RD_KAFKA_RESP_ERR_NO_ERROR) return failure("create topic " + topic, error);
  return Status::success();
}

Status FakeKafkaCluster::produce(const std::string& topic, std::int32_t partition, int count,
                                 std::int64_t first_timestamp_ms, std::int64_t step_ms, std::size_t value_bytes) {
  std::lock_guard lock(mutex_);
  const std::vector<char> value(value_bytes, 'x');
  for (int i = 0; i < count; ++i) {
    // rd_kafka_produceva rather than the producev macros, which cast C-style.
    rd_kafka_vu_t fields[5] = {};
    fields[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    fields[0].u.cstr = topic.c_str();
    fields[1].vtype = RD_KAFKA_VTYPE_PARTITION;
    fields[1].u.i32 = partition;
    fields[2].vtype = RD_KAFKA_VTYPE_VALUE;
    fields[2].u.mem.ptr = const_cast<char*>(value.data());
    fields[2].u.mem.size = value.size();
    fields[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    fields[3].u.i = RD_KAFKA_MSG_F_COPY;
    fields[4].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
    fields[4].u.i64 = first_timestamp_ms + i * step_ms;
    rd_kafka_error_t* error = rd_kafka_produceva(producer_, fields, 5);
    if (error != nullptr) {
      const std::string reason = rd_kafka_error_string(error);
      rd_kafka_error_destroy(error);
      return Error(ErrorKind::kUnavailable, "produce to " + topic + ": " + reason);
    }
    rd_kafka_poll(producer_, 0);
  }
  const auto flushed = rd_kafka_flush(producer_, 30000);
  if (flushed != RD_KAFKA_RESP_ERR_NO_ERROR) return failure("flush to " + topic, flushed);
  return Status::success();
}

Status FakeKafkaCluster::produceToAll(const std::string& topic, int partitions, int count,
                                      std::int64_t first_timestamp_ms, std::int64_t step_ms) {
  std::lock_guard lock(mutex_);
  auto bulk = newClient(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap_},
                                            {"log_level", "0"},
                                            {"linger.ms", "50"},
                                            {"queue.buffering.max.messages", "2000000"}});
  if (!bulk) return bulk.error();
  char value[16] = {'x'};
  Status status;
  for (int i = 0; i < count && status; ++i) {
    for (int p = 0; p < partitions; ++p) {
      rd_kafka_vu_t fields[5] = {};
      fields[0].vtype = RD_KAFKA_VTYPE_TOPIC;
      fields[0].u.cstr = topic.c_str();
      fields[1].vtype = RD_KAFKA_VTYPE_PARTITION;
      fields[1].u.i32 = p;
      fields[2].vtype = RD_KAFKA_VTYPE_VALUE;
      fields[2].u.mem.ptr = value;
      fields[2].u.mem.size = sizeof value;
      fields[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
      fields[3].u.i = RD_KAFKA_MSG_F_COPY;
      fields[4].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
      fields[4].u.i64 = first_timestamp_ms + i * step_ms;
      if (rd_kafka_error_t* error = rd_kafka_produceva(*bulk, fields, 5)) {
        status = Error(ErrorKind::kUnavailable, "produce to " + topic + ": " + rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
        break;
      }
    }
  }
  if (status) {
    const auto flushed = rd_kafka_flush(*bulk, 120000);
    if (flushed != RD_KAFKA_RESP_ERR_NO_ERROR) status = failure("flush to " + topic, flushed);
  }
  rd_kafka_destroy(*bulk);
  return status;
}

Status FakeKafkaCluster::commitAll(const std::string& group, const std::string& topic, int partitions,
                                   std::int64_t offset) {
  std::lock_guard lock(mutex_);
  auto client = groupClient(group);
  if (!client) return client.error();
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = offset;
  const auto error = rd_kafka_commit(*client, list, 0);
  rd_kafka_topic_partition_list_destroy(list);
  if (error != RD_KAFKA_RESP_ERR_NO_ERROR) return failure("commit for group " + group, error);
  return Status::success();
}

Expected<rd_kafka_s*> FakeKafkaCluster::groupClient(const std::string& group) {
  auto it = group_clients_.find(group);
  if (it != group_clients_.end()) return it->second;
  auto client = newClient(
      RD_KAFKA_CONSUMER,
      {{"bootstrap.servers", bootstrap_}, {"group.id", group}, {"log_level", "0"}, {"enable.auto.commit", "false"}});
  if (!client) return client.error();
  group_clients_.emplace(group, *client);
  return *client;
}

Status FakeKafkaCluster::commit(const std::string& group, const std::string& topic, std::int32_t partition,
                                std::int64_t offset) {
  std::lock_guard lock(mutex_);
  auto client = groupClient(group);
  if (!client) return client.error();
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic.c_str(), partition)->offset = offset;
  const auto error = rd_kafka_commit(*client, list, 0);
  rd_kafka_topic_partition_list_destroy(list);
  if (error != RD_KAFKA_RESP_ERR_NO_ERROR) return failure("commit for group " + group, error);
  return Status::success();
}

Status FakeKafkaCluster::setBrokerDown(std::int32_t broker) {
  std::lock_guard lock(mutex_);
  const auto error = rd_kafka_mock_broker_set_down(cluster_, broker);
  if (error != RD_KAFKA_RESP_ERR_NO_ERROR) return failure("broker down", error);
  return Status::success();
}

Status FakeKafkaCluster::setBrokerUp(std::int32_t broker) {
  std::lock_guard lock(mutex_);
  const auto error = rd_kafka_mock_broker_set_up(cluster_, broker);
  if (error != RD_KAFKA_RESP_ERR_NO_ERROR) return failure("broker up", error);
  return Status::success();
}

Status FakeKafkaCluster::setRtt(std::int32_t broker, int rtt_ms) {
  std::lock_guard lock(mutex_);
  const auto error = rd_kafka_mock_broker_set_rtt(cluster_, broker, rtt_ms);
  if (error != RD_KAFKA_RESP_ERR_NO_ERROR) return failure("broker rtt", error);
  return Status::success();
}

Status FakeKafkaCluster::setLeader(const std::string& topic, std::int32_t partition, std::int32_t broker) {
  std::lock_guard lock(mutex_);
  const auto error = rd_kafka_mock_partition_set_leader(cluster_, topic.c_str(), partition, broker);
  if (error != RD_KAFKA_RESP_ERR_NO_ERROR) return failure("partition leader", error);
  return Status::success();
}

Status FakeKafkaCluster::setGroupCoordinator(const std::string& group, std::int32_t broker) {
  std::lock_guard lock(mutex_);
  const auto error = rd_kafka_mock_coordinator_set(cluster_, "group", group.c_str(), broker);
  if (error != RD_KAFKA_RESP_ERR_NO_ERROR) return failure("coordinator", error);
  return Status::success();
}

void FakeKafkaCluster::failRequests(std::int16_t api_key, int count, int error) {
  std::lock_guard lock(mutex_);
  const std::vector<rd_kafka_resp_err_t> errors(static_cast<std::size_t>(count),
                                                static_cast<rd_kafka_resp_err_t>(error));
  rd_kafka_mock_push_request_errors_array(cluster_, api_key, errors.size(), errors.data());
}

Expected<std::int32_t> FakeKafkaCluster::leaderOf(const std::string& topic, std::int32_t partition) {
  std::lock_guard lock(mutex_);
  rd_kafka_topic_t* handle = rd_kafka_topic_new(producer_, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* metadata = nullptr;
  const auto error = rd_kafka_metadata(producer_, 0, handle, &metadata, 5000);
  rd_kafka_topic_destroy(handle);
  if (error != RD_KAFKA_RESP_ERR_NO_ERROR) return failure("metadata", error);
  std::optional<std::int32_t> leader;
  for (int t = 0; t < metadata->topic_cnt; ++t) {
    for (int p = 0; p < metadata->topics[t].partition_cnt; ++p) {
      if (metadata->topics[t].partitions[p].id == partition) leader = metadata->topics[t].partitions[p].leader;
    }
  }
  rd_kafka_metadata_destroy(metadata);
  if (!leader) return Error(ErrorKind::kMissingField, topic + "[" + std::to_string(partition) + "]: no such partition");
  return *leader;
}

}  // namespace rightsize::testing
