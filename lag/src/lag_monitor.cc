#include "rightsize/lag/lag_monitor.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace rightsize::lag {
namespace {

constexpr std::string_view kSource = "kafka";

// Share of the cycle's remaining time each phase may use before the next
// must start: a phase stuck on a dead broker cannot starve the ones after.
constexpr double kMetadataShare = 0.3;
constexpr double kCommittedShare = 0.4;
constexpr double kWatermarksShare = 0.5;

// Message timestamps kept per partition above its lowest probe.
constexpr std::int64_t kCachedRun = 64;

Duration share(const Clock& clock, MonotonicTime deadline, double fraction) {
  const Duration left = deadline - clock.steadyNow();
  if (left <= Duration::zero()) return Duration(std::chrono::milliseconds(1));
  return std::max<Duration>(std::chrono::duration_cast<Duration>(left * fraction), std::chrono::milliseconds(1));
}

}  // namespace

LagMonitor::LagMonitor(KafkaClient& kafka, const Clock& clock, ErrorSink& errors, LagOptions options)
    : clock_(clock), kafka_(kafka), errors_(errors), options_(options), snapshot_(std::make_shared<LagSnapshot>()) {}

std::optional<std::int64_t> LagMonitor::cachedTimestamp(const OffsetProbe& probe) const {
  const auto partition = timestamp_cache_.find(probe.tp);
  if (partition == timestamp_cache_.end()) return std::nullopt;
  const auto hit = partition->second.find(probe.offset);
  if (hit == partition->second.end()) return std::nullopt;
  return hit->second;
}

void LagMonitor::pruneTimestamps(const std::set<OffsetProbe>& probes) {
  // Per partition keep the probes and the run of offsets just above the
  // lowest one (where the consumer goes next); forget the rest, and the
  // partitions no longer probed.
  std::map<TopicPartition, std::int64_t> lowest;
  for (const auto& probe : probes) lowest.try_emplace(probe.tp, probe.offset);  // set order: lowest first
  for (auto it = timestamp_cache_.begin(); it != timestamp_cache_.end();) {
    const auto low = lowest.find(it->first);
    if (low == lowest.end()) {
      it = timestamp_cache_.erase(it);
      continue;
    }
    std::erase_if(it->second, [&](const auto& entry) {
      const std::int64_t offset = entry.first;
      const bool near = offset >= low->second && offset < low->second + kCachedRun;
      return !near && !probes.contains(OffsetProbe{it->first, offset});
    });
    ++it;
  }
}

std::shared_ptr<const LagSnapshot> LagMonitor::snapshot() const {
  std::lock_guard lock(snapshot_mutex_);
  return snapshot_;
}

void LagMonitor::collectOnce(const std::vector<GroupRequest>& requests) {
  const MonotonicTime started = clock_.steadyNow();
  const MonotonicTime deadline = started + options_.timeout;
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
    snapshot->last_cycle = clock_.steadyNow() - started;
    std::lock_guard lock(snapshot_mutex_);
    snapshot_ = snapshot;
  };

  // Metadata comes from any one broker: if the one asked is down, ask again
  // (librdkafka then prefers a broker that is up), and failing that use the
  // last metadata obtained: topics and leaders rarely change, and one dead
  // broker must not blind the whole cycle.
  auto fetched_metadata = kafka_.metadata(share(clock_, deadline, kMetadataShare / 2));
  if (!fetched_metadata) fetched_metadata = kafka_.metadata(share(clock_, deadline, kMetadataShare / 2));
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
  // has commits for, plus, while a discovery pass is under way, the next
  // slice of the cluster's other topics. Passes are spread over cycles within
  // a budget of partitions, so that no cycle is swamped by a large cluster,
  // and start again every topic_rediscovery.
  std::map<std::string, std::vector<TopicPartition>> asked;
  std::map<std::string, std::set<std::string>> slices;       // topics being discovered, per group
  std::map<std::string, std::set<std::string>> quick_looks;  // topics looked at through one partition
  std::size_t discovering = 0;
  for (const auto& request : requests) {
    GroupState& state = groups_[request.group];
    const bool pass_due =
        !state.pass_started || now - *state.pass_started >= options_.topic_rediscovery || now < *state.pass_started;
    if (state.pass_done && pass_due) {
      state.pass_done = false;
      state.cursor.clear();
    }
    if (!state.pass_started || (pass_due && state.cursor.empty())) state.pass_started = now;
    if (!state.pass_done) ++discovering;
  }
  const std::size_t budget = discovering == 0 ? 0 : std::max<std::size_t>(1, options_.discovery_budget / discovering);
  for (const auto& request : requests) {
    GroupState& state = groups_[request.group];
    auto& partitions = asked[request.group];
    for (const auto& topic : state.topics) {
      if (auto it = metadata->topics.find(topic); it != metadata->topics.end()) {
        for (const auto& info : it->second) partitions.push_back(info.tp);
      }
    }
    if (state.pass_done) continue;
    if (state.cursor.empty()) {
      // A pass begins with a quick look at the first partition of every
      // topic: a group that consumes a topic has almost always committed
      // there, so most groups find their topics in the first cycle. The
      // complete look follows, slice by slice.
      auto& quick = quick_looks[request.group];
      for (const auto& [topic, infos] : metadata->topics) {
        if (infos.empty() || state.topics.contains(topic)) continue;
        partitions.push_back(infos.front().tp);
        quick.insert(topic);
      }
    }
    auto& slice = slices[request.group];
    std::size_t taken = 0;
    for (auto it = metadata->topics.upper_bound(state.cursor); it != metadata->topics.end(); ++it) {
      if (taken > 0 && taken + it->second.size() > budget) break;
      state.cursor = it->first;
      slice.insert(it->first);
      if (state.topics.contains(it->first)) continue;  // asked already
      for (const auto& info : it->second) {
        if (!(quick_looks[request.group].contains(it->first) && info.tp == it->second.front().tp)) {
          partitions.push_back(info.tp);
        }
      }
      taken += it->second.size();
    }
    if (metadata->topics.empty() || metadata->topics.upper_bound(state.cursor) == metadata->topics.end()) {
      state.pass_done = true;
    }
  }
  const MonotonicTime phase_start = clock_.steadyNow();
  auto committed = kafka_.committed(asked, share(clock_, deadline, kCommittedShare));
  const MonotonicTime committed_done = clock_.steadyNow();

  // The topics each group really has commits for decide whose watermarks are
  // needed; the slice just examined adds or drops topics.
  std::set<std::string> topics_needed;
  for (const auto& request : requests) {
    auto it = committed.find(request.group);
    GroupState& state = groups_[request.group];
    if (it == committed.end() || !it->second) continue;
    // A commit found by the quick look adds its topic at once.
    if (auto quick = quick_looks.find(request.group); quick != quick_looks.end()) {
      for (const auto& [tp, offset] : *it->second) {
        if (offset && quick->second.contains(tp.topic)) state.topics.insert(tp.topic);
      }
    }
    if (auto slice = slices.find(request.group); slice != slices.end()) {
      std::set<std::string> with_commits;
      for (const auto& [tp, offset] : *it->second) {
        if (offset && slice->second.contains(tp.topic)) with_commits.insert(tp.topic);
      }
      for (const auto& topic : slice->second) {
        if (with_commits.contains(topic)) {
          state.topics.insert(topic);
        } else {
          state.topics.erase(topic);
        }
      }
    }
    // Topics that disappeared from the cluster are forgotten (Kafka keeps a
    // deleted topic's commits until they expire, days later): not reported,
    // found again by a discovery pass if they come back.
    std::erase_if(state.topics, [&](const std::string& topic) { return !metadata->topics.contains(topic); });
    for (const auto& topic : state.topics) topics_needed.insert(topic);
  }
  // So are their windows: a topic created again under the same name starts at
  // offset 0, which the old window would call a REWIND.
  std::erase_if(windows_, [&](const auto& entry) {
    const auto state = groups_.find(entry.first.first);
    return state == groups_.end() || !state->second.topics.contains(entry.first.second.topic);
  });
  std::vector<PartitionInfo> partitions;
  for (const auto& topic : topics_needed) {
    if (auto it = metadata->topics.find(topic); it != metadata->topics.end()) {
      partitions.insert(partitions.end(), it->second.begin(), it->second.end());
    }
  }
  auto watermarks = kafka_.watermarks(partitions, share(clock_, deadline, kWatermarksShare));
  const MonotonicTime watermarks_done = clock_.steadyNow();

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
        const auto offset = it->second->find(info.tp);
        if (offset == it->second->end()) {
          // A topic found this cycle through one partition: the others'
          // commits are read from the next cycle on.
          row.lag.stale = true;
          row.lag.error = "committed offset not read yet";
          rows.push_back(std::move(row));
          continue;
        }
        row.lag.committed_offset = offset->second;
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
  // timestamp never changes); the rest are fetched in one batch, which also
  // brings the timestamps of the messages just past each probe: a consumer's
  // next committed offset is often among them.
  std::vector<OffsetProbe> to_fetch;
  for (const auto& probe : probes) {
    if (!cachedTimestamp(probe)) to_fetch.push_back(probe);
  }
  auto fetched = kafka_.timestamps(to_fetch, share(clock_, deadline, 1.0));
  const MonotonicTime timestamps_done = clock_.steadyNow();
  const auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  spdlog::debug(
      "lag cycle: metadata {} ms, committed {} ms ({} groups), watermarks {} ms ({} partitions), "
      "timestamps {} ms ({} fetched, {} cached)",
      ms(phase_start - started), ms(committed_done - phase_start), asked.size(), ms(watermarks_done - committed_done),
      partitions.size(), ms(timestamps_done - watermarks_done), to_fetch.size(), probes.size() - to_fetch.size());
  for (const auto& [probe, result] : fetched) {
    if (result) {
      timestamp_cache_[probe.tp][probe.offset] = *result;
    } else {
      errors_.record(kSource, result.error());
    }
  }
  pruneTimestamps(probes);

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
        const auto from = cachedTimestamp(*row.from);
        const auto newest = cachedTimestamp(*row.newest);
        if (from && newest) {
          lag.lag_seconds = std::max<double>(0, static_cast<double>(*newest - *from) / 1000.0);
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
