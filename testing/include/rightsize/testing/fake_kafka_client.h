#pragma once

// A stateful KafkaClient for LagMonitor tests that need a cluster the mock
// cannot be made into (a deleted topic whose commits remain, a client that
// answers more than it was asked). It keeps topics, each partition's log as
// watermarks and per-offset timestamps, and the groups' committed offsets,
// and records what it was asked.
//
// Thread-safety: none; LagMonitor calls it from one thread.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "rightsize/lag/kafka_client.h"

namespace rightsize::lag {

class FakeKafkaClient final : public KafkaClient {
 public:
  void createTopic(const std::string& topic, int partitions, std::int32_t leader = 1) {
    auto& infos = topics_[topic];
    infos.clear();
    for (int p = 0; p < partitions; ++p) infos.push_back({{topic, p}, leader});
    for (int p = 0; p < partitions; ++p) logs_[{topic, p}] = Log{};
  }
  // Deletes a topic and its log. Committed offsets stay, as in Kafka, until
  // they expire (offsets.retention.minutes).
  void deleteTopic(const std::string& topic) {
    topics_.erase(topic);
    std::erase_if(logs_, [&](const auto& entry) { return entry.first.topic == topic; });
  }
  // Messages at offsets [low, high), the one at offset o with timestamp
  // first_timestamp_ms + (o - low) * step_ms.
  void setLog(const TopicPartition& tp, std::int64_t low, std::int64_t high, std::int64_t first_timestamp_ms,
              std::int64_t step_ms) {
    logs_[tp] = Log{low, high, first_timestamp_ms, step_ms};
  }
  void commit(const std::string& group, const TopicPartition& tp, std::int64_t offset) { commits_[group][tp] = offset; }
  // Answer committed() with every commit of each group asked about, asked
  // for or not, as OffsetFetch's "all topics" form would.
  void answerUnaskedCommits(bool on) { answer_unasked_ = on; }

  // Topics whose watermarks or timestamps were asked for since the last
  // forgetRequests().
  const std::set<std::string>& topicsProbed() const { return probed_; }
  void forgetRequests() { probed_.clear(); }

  Expected<ClusterMetadata> metadata(Duration) override {
    ClusterMetadata out;
    out.topics = topics_;
    return out;
  }

  std::map<std::string, Expected<std::map<TopicPartition, std::optional<std::int64_t>>>> committed(
      const std::map<std::string, std::vector<TopicPartition>>& partitions_by_group, Duration) override {
    std::map<std::string, Expected<std::map<TopicPartition, std::optional<std::int64_t>>>> out;
    for (const auto& [group, partitions] : partitions_by_group) {
      std::map<TopicPartition, std::optional<std::int64_t>> offsets;
      const auto commits = commits_.find(group);
      for (const auto& tp : partitions) {
        std::optional<std::int64_t> offset;
        if (commits != commits_.end()) {
          if (auto it = commits->second.find(tp); it != commits->second.end()) offset = it->second;
        }
        offsets[tp] = offset;
      }
      if (answer_unasked_ && commits != commits_.end()) {
        for (const auto& [tp, offset] : commits->second) offsets[tp] = offset;
      }
      out.emplace(group, std::move(offsets));
    }
    return out;
  }

  std::map<TopicPartition, Expected<Watermarks>> watermarks(const std::vector<PartitionInfo>& partitions,
                                                            Duration) override {
    std::map<TopicPartition, Expected<Watermarks>> out;
    for (const auto& info : partitions) {
      probed_.insert(info.tp.topic);
      const auto log = logs_.find(info.tp);
      if (log == logs_.end()) {
        out.emplace(info.tp, Error(ErrorKind::kUnavailable, toString(info.tp) + ": unknown topic or partition"));
      } else {
        out.emplace(info.tp, Watermarks{log->second.low, log->second.high});
      }
    }
    return out;
  }

  std::map<OffsetProbe, Expected<std::int64_t>> timestamps(const std::vector<OffsetProbe>& probes, Duration) override {
    std::map<OffsetProbe, Expected<std::int64_t>> out;
    for (const auto& probe : probes) {
      probed_.insert(probe.tp.topic);
      const auto log = logs_.find(probe.tp);
      if (log == logs_.end() || probe.offset < log->second.low || probe.offset >= log->second.high) {
        out.emplace(probe, Error(ErrorKind::kUnavailable, toString(probe.tp) + ": no message at that offset"));
      } else {
        out.emplace(probe, log->second.first_timestamp_ms + (probe.offset - log->second.low) * log->second.step_ms);
      }
    }
    return out;
  }

 private:
  struct Log {
    std::int64_t low = 0;
    std::int64_t high = 0;
    std::int64_t first_timestamp_ms = 0;
    std::int64_t step_ms = 0;
  };
  std::map<std::string, std::vector<PartitionInfo>> topics_;
  std::map<TopicPartition, Log> logs_;
  std::map<std::string, std::map<TopicPartition, std::int64_t>> commits_;
  bool answer_unasked_ = false;
  std::set<std::string> probed_;
};

}  // namespace rightsize::lag
