#include "rightsize/lag/lag_monitor.h"

#include <algorithm>

namespace rightsize::lag {
namespace {

constexpr std::string_view kSource = "kafka";

// Share of the cycle's remaining time each phase may use before the next
// must start: a phase stuck on a dead broker cannot starve the ones after.
constexpr double kMetadataShare = 0.3;
constexpr double kCommittedShare = 0.4;
constexpr double kWatermarksShare = 0.5;

Duration share(std::chrono::steady_clock::time_point deadline, double fraction) {
  const auto left = deadline - std::chrono::steady_clock::now();
  if (left <= std::chrono::steady_clock::duration::zero()) return Duration(std::chrono::milliseconds(1));
  return std::max<Duration>(std::chrono::duration_cast<Duration>(left * fraction), std::chrono::milliseconds(1));
}

}  // namespace

LagMonitor::LagMonitor(KafkaClient& kafka, const Clock& clock, ErrorSink& errors, LagOptions options)
    : clock_(clock), kafka_(kafka), errors_(errors), options_(options), snapshot_(std::make_shared<LagSnapshot>()) {}

std::shared_ptr<const LagSnapshot> LagMonitor::snapshot() const {
  std::lock_guard lock(snapshot_mutex_);
  return snapshot_;
}

void LagMonitor::collectOnce(const std::vector<GroupRequest>& requests) {
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + options_.timeout;
  const TimePoint now = clock_.now();
  auto snapshot = std::make_shared<LagSnapshot>();
  snapshot->cycles = ++cycles_;
  snapshot->timestamp = now;

  std::set<std::string> wanted;
  for (const auto& request : requests) wanted.insert(request.group);
  std::erase_if(groups_, [&](const auto& entry) { return !wanted.contains(entry.first); });
  std::erase_if(windows_, [&](const auto& entry) { return !wanted.contains(entry.first.first); });

  auto publish = [&] {
    std::sort(snapshot->groups.begin(), snapshot->groups.end(),
              [](const GroupLag& a, const GroupLag& b) { return a.request.group < b.request.group; });
    snapshot->last_cycle = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - started);
    std::lock_guard lock(snapshot_mutex_);
    snapshot_ = snapshot;
  };

  // Metadata comes from any one broker: if the one asked is down, ask again
  // (librdkafka then prefers a broker that is up), and failing that use the
  // last metadata obtained: topics and leaders rarely change, and one dead
  // broker must not blind the whole cycle.
  auto fetched_metadata = kafka_.metadata(share(deadline, kMetadataShare / 2));
  if (!fetched_metadata) fetched_metadata = kafka_.metadata(share(deadline, kMetadataShare / 2));
  if (fetched_metadata) {
    last_metadata_ = std::move(*fetched_metadata);
    snapshot->kafka_ok = true;
  } else {
    errors_.record(kSource, fetched_metadata.error());
    if (!last_metadata_) {
      for (const auto& request : requests) {
        snapshot->groups.push_back(GroupLag{request, std::nullopt, {}, fetched_metadata.error().message()});
      }
      publish();
      return;
    }
  }
  const ClusterMetadata* metadata = &*last_metadata_;

  // Which partitions to ask each group about: all partitions of the topics it
  // has commits for, or of every topic when (re)discovering them.
  std::map<std::string, std::vector<TopicPartition>> asked;
  std::set<std::string> discovering;
  for (const auto& request : requests) {
    GroupState& state = groups_[request.group];
    const bool due =
        !state.discovered_at || now - *state.discovered_at >= options_.topic_rediscovery || now < *state.discovered_at;
    auto& partitions = asked[request.group];
    for (const auto& [topic, infos] : metadata->topics) {
      if (!due && !state.topics.contains(topic)) continue;
      for (const auto& info : infos) partitions.push_back(info.tp);
    }
    if (due) discovering.insert(request.group);
  }
  auto committed = kafka_.committed(asked, share(deadline, kCommittedShare));

  // The topics each group really has commits for decide whose watermarks are
  // needed.
  std::set<std::string> topics_needed;
  for (const auto& request : requests) {
    auto it = committed.find(request.group);
    GroupState& state = groups_[request.group];
    if (it == committed.end() || !it->second) continue;
    if (discovering.contains(request.group)) {
      state.topics.clear();
      for (const auto& [tp, offset] : *it->second) {
        if (offset) state.topics.insert(tp.topic);
      }
      state.discovered_at = now;
    }
    for (const auto& topic : state.topics) topics_needed.insert(topic);
  }
  std::vector<PartitionInfo> partitions;
  for (const auto& topic : topics_needed) {
    if (auto it = metadata->topics.find(topic); it != metadata->topics.end()) {
      partitions.insert(partitions.end(), it->second.begin(), it->second.end());
    }
  }
  auto watermarks = kafka_.watermarks(partitions, share(deadline, kWatermarksShare));

  // Lag in messages, and which message timestamps lag in seconds needs.
  struct Pending {
    PartitionLag lag;
    std::optional<OffsetProbe> from;    // the first unread message
    std::optional<OffsetProbe> newest;  // the last message
  };
  std::map<std::string, std::vector<Pending>> pending;
  std::set<OffsetProbe> probes;
  for (const auto& request : requests) {
    GroupLag group{request, std::nullopt, {}, ""};
    auto it = committed.find(request.group);
    if (it == committed.end() || !it->second) {
      const Error error = it == committed.end() ? Error(ErrorKind::kInternal, "no answer for group " + request.group)
                                                : it->second.error();
      errors_.record(kSource, error);
      group.error = error.message();
      snapshot->groups.push_back(std::move(group));
      continue;
    }
    auto& rows = pending[request.group];
    for (const auto& topic : groups_[request.group].topics) {
      const auto meta = metadata->topics.find(topic);
      if (meta == metadata->topics.end()) continue;  // the topic was deleted: nothing to consume
      for (const auto& info : meta->second) {
        Pending row;
        row.lag.tp = info.tp;
        if (auto offset = it->second->find(info.tp); offset != it->second->end()) {
          row.lag.committed_offset = offset->second;
        }
        auto marks = watermarks.find(info.tp);
        if (marks == watermarks.end() || !marks->second) {
          row.lag.stale = true;
          row.lag.error = marks == watermarks.end() ? "no watermarks" : marks->second.error().message();
          rows.push_back(std::move(row));
          continue;
        }
        row.lag.low_watermark = marks->second->low;
        row.lag.high_watermark = marks->second->high;
        if (row.lag.committed_offset) {
          const std::int64_t committed_offset = *row.lag.committed_offset;
          const std::int64_t low = marks->second->low;
          const std::int64_t high = marks->second->high;
          row.lag.below_low_watermark = committed_offset < low;
          const std::int64_t from = std::max(committed_offset, low);
          row.lag.lag_messages = std::max<std::int64_t>(0, high - from);
          if (from < high) {
            row.from = OffsetProbe{info.tp, from};
            row.newest = OffsetProbe{info.tp, high - 1};
            probes.insert(*row.from);
            probes.insert(*row.newest);
          } else {
            row.lag.lag_seconds = 0;
          }
        }
        rows.push_back(std::move(row));
      }
    }
  }
  for (const auto& [tp, result] : watermarks) {
    if (!result) errors_.record(kSource, result.error());
  }

  // Timestamps: those known from earlier cycles are reused (a message's
  // timestamp never changes); the rest are fetched in one batch.
  std::vector<OffsetProbe> to_fetch;
  for (const auto& probe : probes) {
    if (!timestamp_cache_.contains(probe)) to_fetch.push_back(probe);
  }
  auto fetched = kafka_.timestamps(to_fetch, share(deadline, 1.0));
  std::map<OffsetProbe, std::int64_t> cache;
  for (const auto& probe : probes) {
    if (auto hit = timestamp_cache_.find(probe); hit != timestamp_cache_.end()) {
      cache.emplace(probe, hit->second);
    } else if (auto got = fetched.find(probe); got != fetched.end() && got->second) {
      cache.emplace(probe, *got->second);
    }
  }
  for (const auto& [probe, result] : fetched) {
    if (!result) errors_.record(kSource, result.error());
  }
  timestamp_cache_ = std::move(cache);  // only what is still wanted

  for (auto& [group_id, rows] : pending) {
    GroupLag group;
    for (const auto& request : requests) {
      if (request.group == group_id) group.request = request;
    }
    std::optional<LagStatus> worst;
    bool any_commit = false;
    for (auto& row : rows) {
      PartitionLag& lag = row.lag;
      if (row.from && row.newest) {
        const auto from = timestamp_cache_.find(*row.from);
        const auto newest = timestamp_cache_.find(*row.newest);
        if (from != timestamp_cache_.end() && newest != timestamp_cache_.end()) {
          lag.lag_seconds = std::max<double>(0, static_cast<double>(newest->second - from->second) / 1000.0);
        } else {
          lag.stale = true;
          lag.error = "message timestamps not fetched in time";
        }
      }
      PartitionWindow& window = windows_.try_emplace({group_id, lag.tp}, options_.window).first->second;
      if (!lag.stale || !lag.committed_offset) {
        if (lag.committed_offset && lag.lag_messages) {
          window.observe(now, lag.committed_offset, *lag.lag_messages);
        } else if (!lag.committed_offset) {
          window.observe(now, std::nullopt, 0);
        }
      }
      if (!lag.stale) lag.status = window.status(now);
      if (lag.committed_offset) any_commit = true;
      if (lag.status && *lag.status != LagStatus::kNoCommit &&
          (!worst || lagStatusSeverity(*lag.status) > lagStatusSeverity(*worst))) {
        worst = lag.status;
      }
      group.partitions.push_back(std::move(lag));
    }
    if (!worst && !any_commit) worst = LagStatus::kNoCommit;
    group.status = worst;
    std::sort(group.partitions.begin(), group.partitions.end(),
              [](const PartitionLag& a, const PartitionLag& b) { return a.tp < b.tp; });
    snapshot->groups.push_back(std::move(group));
  }
  publish();
}

}  // namespace rightsize::lag
