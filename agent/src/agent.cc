#include "rightsize/agent/agent.h"

#include <algorithm>
#include <unordered_set>

namespace rightsize::agent {

Agent::Agent(ContainerSource& source, const Clock& clock, ErrorSink& errors, AgentOptions options)
    : source_(source), clock_(clock), errors_(errors), options_(std::move(options)) {
  auto empty = std::make_shared<AgentSnapshot>();
  empty->host = options_.host;
  empty->window = options_.tracker.window;
  empty->timestamp = clock_.now();
  snapshot_ = std::move(empty);
}

void Agent::collectOnce() {
  SourceReading reading = source_.read();
  const std::string_view source_name = source_.name();
  for (const auto& error : reading.errors) errors_.record(source_name, error);

  auto snapshot = std::make_shared<AgentSnapshot>();
  snapshot->host = options_.host;
  snapshot->window = options_.tracker.window;
  snapshot->source_ok = reading.complete;
  snapshot->host_capacity_cores = reading.host_capacity_cores;
  snapshot->host_capacity_bytes = reading.host_capacity_bytes;
  snapshot->host_place = reading.host_place;
  consecutive_failures_ = reading.complete ? 0 : consecutive_failures_ + 1;
  snapshot->consecutive_source_failures = consecutive_failures_;
  snapshot->cycles = ++cycles_;

  const TimePoint now = clock_.now();
  std::unordered_set<std::string> seen;
  seen.reserve(reading.containers.size() + reading.unreadable.size());
  // Listed but unreadable this time: kept, not published.
  for (const auto& id : reading.unreadable) {
    if (auto it = trackers_.find(id); it != trackers_.end()) {
      seen.insert(id);
      it->second.seen_at = now;
    }
  }
  snapshot->containers.reserve(reading.containers.size());
  double host_used = 0;
  bool any_rate = false;
  for (const auto& sample : reading.containers) {
    const std::string& id = sample.identity.container_id;
    if (id.empty()) {
      errors_.record(source_name, Error(ErrorKind::kMissingField, "a container without an id was skipped"));
      continue;
    }
    if (!seen.insert(id).second) {
      errors_.record(source_name, Error(ErrorKind::kInvalidValue, "container " + id + " listed twice; kept the first"));
      continue;
    }
    auto [it, inserted] = trackers_.try_emplace(id, Tracked{ContainerTracker(options_.tracker), now});
    it->second.seen_at = now;
    bool restored = false;
    if (inserted) {
      if (auto entry = restorable_.find(id); entry != restorable_.end()) {
        if (now - entry->second.seen_at <= options_.tracker.window) {
          it->second.tracker.restore(entry->second.state);
          restored = true;
        }
        restorable_.erase(entry);
      }
    }
    Status status = it->second.tracker.update(sample);
    if (!status) errors_.record(source_name, status.error());
    if (inserted && !restored && !status) {
      // A first reading that was unusable (NaN, absurd figures) gives no
      // figures worth publishing.
      trackers_.erase(it);
      continue;
    }
    ContainerStats stats = it->second.tracker.stats();
    if (stats.used_cores && !stats.identity.nested) {
      host_used += *stats.used_cores;
      any_rate = true;
    }
    snapshot->containers.push_back(std::move(stats));
  }
  if (any_rate) snapshot->host_used_cores = host_used;

  // A complete listing is authoritative: what it lacks has vanished. After a
  // failed listing keep history, but not beyond the window. Sighting times
  // are the agent's own: the source's clock (Mesos') may differ.
  std::erase_if(trackers_, [&](const auto& entry) {
    if (seen.contains(entry.first)) return false;
    return reading.complete || now - entry.second.seen_at > options_.tracker.window;
  });
  std::erase_if(restorable_, [&](const auto& entry) {
    return reading.complete || now - entry.second.seen_at > options_.tracker.window;
  });

  std::sort(snapshot->containers.begin(), snapshot->containers.end(),
            [](const ContainerStats& a, const ContainerStats& b) {
              return a.identity.container_id < b.identity.container_id;
            });
  snapshot->timestamp = now;
  std::lock_guard lock(snapshot_mutex_);
  snapshot_ = std::move(snapshot);
}

void Agent::restore(std::map<std::string, TrackerCheckpoint> entries) { restorable_ = std::move(entries); }

std::map<std::string, TrackerCheckpoint> Agent::checkpoint() const {
  std::map<std::string, TrackerCheckpoint> out = restorable_;
  for (const auto& [id, tracked] : trackers_) {
    out.insert_or_assign(id, TrackerCheckpoint{tracked.seen_at, tracked.tracker.state()});
  }
  return out;
}

std::shared_ptr<const AgentSnapshot> Agent::snapshot() const {
  std::lock_guard lock(snapshot_mutex_);
  return snapshot_;
}

}  // namespace rightsize::agent
