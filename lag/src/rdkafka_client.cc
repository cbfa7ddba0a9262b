#include "rightsize/lag/rdkafka_client.h"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <set>
#include <thread>

namespace rightsize::lag {
namespace {

// The least time one committed-offsets call may wait for its coordinator,
// however many groups share the cycle: a healthy one answers in milliseconds.
constexpr Duration kMinCallShare = std::chrono::milliseconds(100);

// Rounded up, so that a call given the time left before a deadline returns
// at or after it, not a fraction of a millisecond before.
int timeoutMs(Duration timeout) {
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
  return static_cast<int>(std::clamp<long long>(ms, 1, 3'600'000));
}

void destroyHandle(rd_kafka_s* rk) {
  // Never leave a group or commit on the way out: these handles never joined.
  if (rk != nullptr) rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
}

void logCallback(const rd_kafka_t*, int level, const char* facility, const char* message) {
  // librdkafka is chatty about unreachable brokers; what matters reaches the
  // agent's metrics as errors, so its own log is kept at debug level.
  if (level <= 2) {
    spdlog::warn("librdkafka {}: {}", facility, message);
  } else {
    spdlog::debug("librdkafka {}: {}", facility, message);
  }
}

void errorCallback(rd_kafka_t*, int error, const char* reason, void*) {
  spdlog::debug("librdkafka error {}: {}", rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(error)), reason);
}

Error kafkaError(rd_kafka_resp_err_t error, const std::string& what) {
  const bool unavailable =
      error == RD_KAFKA_RESP_ERR__TIMED_OUT || error == RD_KAFKA_RESP_ERR__TRANSPORT ||
      error == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || error == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ||
      error == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION || error == RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE ||
      error == RD_KAFKA_RESP_ERR_NOT_COORDINATOR;
  return Error(unavailable ? ErrorKind::kUnavailable : ErrorKind::kInvalidValue, what + ": " + rd_kafka_err2str(error));
}

using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, void (*)(rd_kafka_topic_partition_list_t*)>;

PartitionList newList(std::size_t size) {
  return PartitionList(rd_kafka_topic_partition_list_new(static_cast<int>(std::max<std::size_t>(size, 1))),
                       rd_kafka_topic_partition_list_destroy);
}

}  // namespace

RdKafkaClient::RdKafkaClient(RdKafkaClientOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock), main_(nullptr, destroyHandle) {
  options_.shards = std::max<std::size_t>(1, options_.shards);
  for (std::size_t i = 0; i < options_.shards; ++i) shards_.emplace_back(nullptr, destroyHandle);
}

RdKafkaClient::~RdKafkaClient() = default;

Expected<RdKafkaClient::Handle> RdKafkaClient::newHandle(bool consumer, const std::string& group_id) const {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  std::map<std::string, std::string> properties = {
      {"bootstrap.servers", options_.brokers},
      {"client.id", "rightsize-agent"},
      {"log_level", "6"},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "false"},
      {"isolation.level", "read_uncommitted"},
      // Only the first message of each probed offset is wanted.
      {"fetch.wait.max.ms", "10"},
      {"fetch.error.backoff.ms", "50"},
      {"max.partition.fetch.bytes", "16384"},
      {"fetch.max.bytes", "1048576"},
      {"queued.max.messages.kbytes", "4096"},
      {"reconnect.backoff.max.ms", "2000"},
  };
  if (!consumer) {
    for (const char* key : {"enable.auto.commit", "enable.auto.offset.store", "enable.partition.eof", "isolation.level",
                            "fetch.wait.max.ms", "fetch.error.backoff.ms", "max.partition.fetch.bytes",
                            "fetch.max.bytes", "queued.max.messages.kbytes"}) {
      properties.erase(key);
    }
  }
  if (!group_id.empty()) properties["group.id"] = group_id;
  for (const auto& [key, value] : options_.properties) properties[key] = value;
  for (const auto& [key, value] : properties) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), error, sizeof error) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return Error(ErrorKind::kInvalidArgument, "Kafka property " + key + ": " + error);
    }
  }
  rd_kafka_conf_set_log_cb(conf, logCallback);
  rd_kafka_conf_set_error_cb(conf, errorCallback);
  rd_kafka_t* rk = rd_kafka_new(consumer ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (rk == nullptr) return Error(ErrorKind::kInvalidArgument, std::string("Kafka client: ") + error);
  return Handle(rk, destroyHandle);
}

Expected<std::unique_ptr<RdKafkaClient>> RdKafkaClient::create(RdKafkaClientOptions options, const Clock& clock) {
  if (options.brokers.empty()) return Error(ErrorKind::kInvalidArgument, "no Kafka brokers given");
  std::unique_ptr<RdKafkaClient> client(new RdKafkaClient(std::move(options), clock));
  auto main = client->newHandle(false, "");
  if (!main) return main.error();
  client->main_ = std::move(*main);
  return client;
}

Expected<ClusterMetadata> RdKafkaClient::metadata(Duration timeout) {
  const rd_kafka_metadata_t* raw = nullptr;
  const rd_kafka_resp_err_t error = rd_kafka_metadata(main_.get(), 1, nullptr, &raw, timeoutMs(timeout));
  if (error != RD_KAFKA_RESP_ERR_NO_ERROR) return kafkaError(error, "Kafka metadata from " + options_.brokers);
  ClusterMetadata out;
  for (int t = 0; t < raw->topic_cnt; ++t) {
    const auto& topic = raw->topics[t];
    const std::string name = topic.topic;
    // Internal topics (__consumer_offsets, __transaction_state) are not consumed.
    if (name.starts_with("__") || topic.err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    auto& partitions = out.topics[name];
    for (int p = 0; p < topic.partition_cnt; ++p) {
      partitions.push_back({{name, topic.partitions[p].id}, topic.partitions[p].leader});
    }
    std::sort(partitions.begin(), partitions.end(),
              [](const PartitionInfo& a, const PartitionInfo& b) { return a.tp < b.tp; });
  }
  rd_kafka_metadata_destroy(raw);
  return out;
}

Expected<rd_kafka_s*> RdKafkaClient::groupHandle(const std::string& group) {
  std::lock_guard lock(groups_mutex_);
  auto it = groups_.find(group);
  if (it != groups_.end()) return it->second.get();
  auto handle = newHandle(true, group);
  if (!handle) return handle.error();
  rd_kafka_s* raw = handle->get();
  groups_.emplace(group, std::move(*handle));
  return raw;
}

std::size_t RdKafkaClient::shardOf(const std::string& topic) const {
  return std::hash<std::string>{}(topic) % options_.shards;
}

Expected<rd_kafka_s*> RdKafkaClient::shardHandle(std::size_t shard) {
  std::lock_guard lock(shards_mutex_);
  if (!shards_[shard]) {
    // librdkafka wants a group.id before assign(); this one never joins,
    // subscribes or commits.
    auto handle = newHandle(true, "rightsize-lag-probe");
    if (!handle) return handle.error();
    shards_[shard] = std::move(*handle);
  }
  return shards_[shard].get();
}

void RdKafkaClient::retainGroups(const std::vector<std::string>& groups) {
  const std::set<std::string> keep(groups.begin(), groups.end());
  std::lock_guard lock(groups_mutex_);
  std::erase_if(groups_, [&](const auto& entry) { return !keep.contains(entry.first); });
}

std::map<std::string, Expected<std::map<TopicPartition, std::optional<std::int64_t>>>> RdKafkaClient::committed(
    const std::map<std::string, std::vector<TopicPartition>>& partitions_by_group, Duration timeout) {
  using Result = Expected<std::map<TopicPartition, std::optional<std::int64_t>>>;
  std::vector<std::pair<std::string, const std::vector<TopicPartition>*>> work;
  for (const auto& [group, partitions] : partitions_by_group) work.emplace_back(group, &partitions);
  struct Outcome {
    std::optional<Error> error;
    std::map<TopicPartition, std::optional<std::int64_t>> offsets;
  };
  std::vector<Outcome> outcomes(work.size());
  // Each group's OffsetFetch goes to its own coordinator and blocks its
  // thread until answered or timed out; run them side by side.
  const std::size_t threads = std::min(work.size(), std::max<std::size_t>(1, options_.max_parallel_groups));
  // With more groups than threads, calls wait for a free thread. Each may
  // wait at most its share of the time: the time split over the waves of
  // calls the threads make, one share kept spare (at least kMinCallShare),
  // and never past the deadline. Without the share, as many calls to dead
  // coordinators as threads would hold every thread until the deadline and
  // the healthy groups queued behind them would not be asked at all; a call
  // that cannot start before the deadline is not made.
  const std::size_t waves = threads == 0 ? 1 : (work.size() + threads - 1) / threads;
  const Duration call_share = std::max<Duration>(timeout / static_cast<Duration::rep>(waves + 1), kMinCallShare);
  const MonotonicTime deadline = clock_.steadyNow() + timeout;
  auto left = [&] { return deadline - clock_.steadyNow(); };
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < work.size(); i = next++) {
      const auto& [group, partitions] = work[i];
      Outcome& outcome = outcomes[i];
      if (partitions->empty()) continue;
      if (left() <= Duration::zero()) {
        outcome.error = Error(ErrorKind::kUnavailable,
                              "committed offsets of group " + group + ": not asked, the deadline came first");
        continue;
      }
      auto handle = groupHandle(group);
      if (!handle) {
        outcome.error = handle.error();
        continue;
      }
      PartitionList list = newList(partitions->size());
      for (const auto& tp : *partitions) rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition);
      const rd_kafka_resp_err_t error =
          rd_kafka_committed(*handle, list.get(), timeoutMs(std::min(left(), call_share)));
      if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
        outcome.error = kafkaError(error, "committed offsets of group " + group);
        continue;
      }
      for (int e = 0; e < list->cnt; ++e) {
        const auto& element = list->elems[e];
        std::optional<std::int64_t> offset;
        if (element.err == RD_KAFKA_RESP_ERR_NO_ERROR && element.offset >= 0) offset = element.offset;
        outcome.offsets[{element.topic, element.partition}] = offset;
      }
    }
  };
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (auto& thread : pool) thread.join();
  std::map<std::string, Result> out;
  for (std::size_t i = 0; i < work.size(); ++i) {
    if (outcomes[i].error) {
      out.emplace(work[i].first, *outcomes[i].error);
    } else {
      out.emplace(work[i].first, std::move(outcomes[i].offsets));
    }
  }
  return out;
}

std::map<TopicPartition, Expected<Watermarks>> RdKafkaClient::watermarks(const std::vector<PartitionInfo>& partitions,
                                                                         Duration timeout) {
  std::map<TopicPartition, Expected<Watermarks>> out;
  std::map<std::pair<std::size_t, std::int32_t>, std::vector<TopicPartition>> by_leader;  // (shard, leader)
  for (const auto& info : partitions) {
    if (info.leader < 0) {
      out.emplace(info.tp, Error(ErrorKind::kUnavailable, toString(info.tp) + ": no leader"));
    } else {
      by_leader[{shardOf(info.tp.topic), info.leader}].push_back(info.tp);
    }
  }
  // One ListOffsets per leader and end (earliest, latest), all in parallel.
  struct Query {
    std::size_t shard;
    std::int32_t leader;
    std::int64_t which;  // -2 earliest, -1 latest
    const std::vector<TopicPartition>* tps;
    std::optional<Error> failure;
    std::map<TopicPartition, std::int64_t> offsets;
    std::map<TopicPartition, Error> errors;
  };
  std::vector<Query> queries;
  for (const auto& [key, tps] : by_leader) {
    queries.push_back({key.first, key.second, -2, &tps, {}, {}, {}});
    queries.push_back({key.first, key.second, -1, &tps, {}, {}, {}});
  }
  const int timeout_ms = timeoutMs(timeout);
  auto run = [&](Query& query) {
    auto handle = shardHandle(query.shard);
    if (!handle) {
      query.failure = handle.error();
      return;
    }
    PartitionList list = newList(query.tps->size());
    for (const auto& tp : *query.tps) {
      rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset = query.which;
    }
    const rd_kafka_resp_err_t error = rd_kafka_offsets_for_times(*handle, list.get(), timeout_ms);
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
      query.failure = kafkaError(error, "watermarks from broker " + std::to_string(query.leader));
      return;
    }
    for (int e = 0; e < list->cnt; ++e) {
      const auto& element = list->elems[e];
      const TopicPartition tp{element.topic, element.partition};
      if (element.err != RD_KAFKA_RESP_ERR_NO_ERROR || element.offset < 0) {
        query.errors.emplace(
            tp, kafkaError(element.err != RD_KAFKA_RESP_ERR_NO_ERROR ? element.err : RD_KAFKA_RESP_ERR__BAD_MSG,
                           "watermarks of " + toString(tp)));
      } else {
        query.offsets.emplace(tp, element.offset);
      }
    }
  };
  std::vector<std::thread> threads;
  for (auto& query : queries) threads.emplace_back(run, std::ref(query));
  for (auto& thread : threads) thread.join();
  for (std::size_t q = 0; q + 1 < queries.size(); q += 2) {
    const Query& earliest = queries[q];
    const Query& latest = queries[q + 1];
    for (const auto& tp : *earliest.tps) {
      if (earliest.failure || latest.failure) {
        out.emplace(tp, earliest.failure ? *earliest.failure : *latest.failure);
      } else if (auto e = earliest.errors.find(tp); e != earliest.errors.end()) {
        out.emplace(tp, e->second);
      } else if (auto l = latest.errors.find(tp); l != latest.errors.end()) {
        out.emplace(tp, l->second);
      } else {
        const auto low = earliest.offsets.find(tp);
        const auto high = latest.offsets.find(tp);
        if (low != earliest.offsets.end() && high != latest.offsets.end()) {
          out.emplace(tp, Watermarks{low->second, high->second});
        } else {
          out.emplace(tp, Error(ErrorKind::kMissingField, "watermarks of " + toString(tp) + ": not in the answer"));
        }
      }
    }
  }
  return out;
}

std::map<OffsetProbe, Expected<std::int64_t>> RdKafkaClient::timestamps(const std::vector<OffsetProbe>& probes,
                                                                        Duration timeout) {
  std::map<OffsetProbe, Expected<std::int64_t>> out;
  std::vector<std::vector<OffsetProbe>> by_shard(options_.shards);
  for (const auto& probe : probes) by_shard[shardOf(probe.tp.topic)].push_back(probe);
  std::vector<std::map<OffsetProbe, Expected<std::int64_t>>> answers(options_.shards);
  std::vector<std::thread> threads;
  for (std::size_t shard = 0; shard < options_.shards; ++shard) {
    if (by_shard[shard].empty()) continue;
    threads.emplace_back([&, shard] {
      auto handle = shardHandle(shard);
      if (!handle) {
        for (const auto& probe : by_shard[shard]) answers[shard].emplace(probe, handle.error());
        return;
      }
      answers[shard] = timestampsOfShard(*handle, by_shard[shard], timeout);
    });
  }
  for (auto& thread : threads) thread.join();
  for (auto& answer : answers) out.merge(answer);
  return out;
}

std::map<OffsetProbe, Expected<std::int64_t>> RdKafkaClient::timestampsOfShard(rd_kafka_s* rk,
                                                                               const std::vector<OffsetProbe>& probes,
                                                                               Duration timeout) {
  std::map<OffsetProbe, Expected<std::int64_t>> out;
  if (probes.empty()) return out;
  const MonotonicTime deadline = clock_.steadyNow() + timeout;
  // Per partition: the wanted offsets in order, and the next one to answer.
  struct Wanted {
    std::vector<std::int64_t> offsets;
    std::size_t next = 0;
  };
  std::map<TopicPartition, Wanted> wanted;
  for (const auto& probe : probes) wanted[probe.tp].offsets.push_back(probe.offset);
  PartitionList assignment = newList(wanted.size());
  for (auto& [tp, w] : wanted) {
    std::sort(w.offsets.begin(), w.offsets.end());
    w.offsets.erase(std::unique(w.offsets.begin(), w.offsets.end()), w.offsets.end());
    rd_kafka_topic_partition_list_add(assignment.get(), tp.topic.c_str(), tp.partition)->offset = w.offsets.front();
  }
  if (rd_kafka_resp_err_t error = rd_kafka_assign(rk, assignment.get()); error != RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (const auto& probe : probes) out.emplace(probe, kafkaError(error, "assigning probes"));
    return out;
  }
  // No pause/resume per finished partition: librdkafka handles each as an op
  // on its main thread (~0.1 ms apiece), which at 10,000 partitions costs
  // more than reading and dropping the rest of their fetched batches.
  rd_kafka_queue_t* queue = rd_kafka_queue_get_consumer(rk);
  PartitionList to_seek = newList(64);
  std::size_t remaining = wanted.size();
  constexpr std::size_t kBatch = 1024;
  // Timestamps of messages just past a probe are kept too (callers cache
  // them): the next cycle's committed offset is often among them.
  constexpr std::int64_t kKeepAfter = 64;
  rd_kafka_message_t* batch[kBatch];
  while (remaining > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_.steadyNow());
    if (left.count() <= 0) break;
    const ssize_t count =
        rd_kafka_consume_batch_queue(queue, static_cast<int>(std::min<long long>(left.count(), 20)), batch, kBatch);
    for (ssize_t i = 0; i < count; ++i) {
      rd_kafka_message_t* message = batch[i];
      if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR && message->rkt != nullptr) {
        const TopicPartition tp{rd_kafka_topic_name(message->rkt), message->partition};
        auto it = wanted.find(tp);
        if (it != wanted.end()) {
          Wanted& w = it->second;
          const std::int64_t timestamp = rd_kafka_message_timestamp(message, nullptr);
          const std::size_t before = w.next;
          // A message at or past a wanted offset answers every probe it
          // passed (the wanted one was compacted away or is a marker).
          while (w.next < w.offsets.size() && w.offsets[w.next] <= message->offset) {
            const OffsetProbe probe{tp, w.offsets[w.next++]};
            if (timestamp >= 0) {
              out.insert_or_assign(probe, timestamp);
            } else {
              out.insert_or_assign(
                  probe, Error(ErrorKind::kMissingField,
                               toString(tp) + "@" + std::to_string(probe.offset) + ": message without a timestamp"));
            }
          }
          if (timestamp >= 0 && message->offset > w.offsets.front() &&
              message->offset < w.offsets.front() + kKeepAfter) {
            out.try_emplace(OffsetProbe{tp, message->offset}, timestamp);
          }
          if (w.next != before) {
            if (w.next < w.offsets.size()) {
              rd_kafka_topic_partition_list_add(to_seek.get(), tp.topic.c_str(), tp.partition)->offset =
                  w.offsets[w.next];
            } else {
              --remaining;
            }
          }
        }
      }
      rd_kafka_message_destroy(message);
    }
    if (to_seek->cnt > 0 && (count < static_cast<ssize_t>(kBatch) || to_seek->cnt >= 256)) {
      if (rd_kafka_error_t* error = rd_kafka_seek_partitions(rk, to_seek.get(), 0)) rd_kafka_error_destroy(error);
      to_seek = newList(64);
    }
  }
  rd_kafka_assign(rk, nullptr);
  // Drop what was fetched for the old assignment now, not at the next call.
  while (true) {
    const ssize_t count = rd_kafka_consume_batch_queue(queue, 0, batch, kBatch);
    if (count <= 0) break;
    for (ssize_t i = 0; i < count; ++i) rd_kafka_message_destroy(batch[i]);
  }
  rd_kafka_queue_destroy(queue);
  for (const auto& probe : probes) {
    if (!out.contains(probe)) {
      out.emplace(probe, Error(ErrorKind::kUnavailable, toString(probe.tp) + "@" + std::to_string(probe.offset) +
                                                            ": no message fetched in time"));
    }
  }
  return out;
}

}  // namespace rightsize::lag
