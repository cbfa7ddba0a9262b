#include "rightsize/agent/mesos_source.h"

#include <algorithm>

namespace rightsize::agent {
namespace {

std::string attribute(const MesosAgentState& state, std::initializer_list<std::string_view> names) {
  for (auto name : names) {
    const auto it = state.attributes.find(std::string(name));
    if (it != state.attributes.end()) return it->second;
  }
  return {};
}

}  // namespace

MesosSource::MesosSource(HttpClient& http, const Clock& clock, MesosSourceOptions options)
    : http_(http), clock_(clock), options_(std::move(options)) {
  while (!options_.url.empty() && options_.url.back() == '/') options_.url.pop_back();
}

Expected<std::string> MesosSource::fetch(std::string_view path) {
  const std::string url = options_.url + std::string(path);
  auto response = http_.get(url, options_.request_timeout);
  if (!response) return response.error();
  if (response->status != 200) {
    return Error(ErrorKind::kHttpStatus, "GET " + redactUrl(url) + ": HTTP " + std::to_string(response->status));
  }
  return std::move(response->body);
}

void MesosSource::refreshState(const ParsedStatistics& statistics, SourceReading& reading) {
  const TimePoint now = clock_.now();
  // A clock that went back makes every "since" negative: refetch then too.
  const auto since = [now](TimePoint t) { return now < t ? Duration::max() : now - t; };
  bool due = !have_state_ || since(state_fetched_at_) >= options_.state_refresh;
  if (!due && since(state_attempted_at_) >= options_.unknown_executor_retry) {
    for (const auto& entry : statistics.executors) {
      if (!executors_.contains({entry.framework_id, entry.executor_id})) {
        due = true;
        break;
      }
    }
  }
  if (!due) return;
  state_attempted_at_ = now;
  const std::string url = options_.url + "/state";
  auto body = fetch("/state");
  if (!body) {
    reading.errors.push_back(body.error());
    return;
  }
  auto parsed = parseAgentState(*body, redactUrl(url));
  if (!parsed) {
    reading.errors.push_back(parsed.error());
    return;
  }
  for (auto& error : parsed->errors) reading.errors.push_back(std::move(error));
  state_ = std::move(parsed->state);
  executors_.clear();
  for (auto& executor : state_.executors) {
    executors_[{executor.framework_id, executor.executor_id}] = executor;
  }
  have_state_ = true;
  state_fetched_at_ = now;
}

bool MesosSource::isMarathon(const std::string& framework_id) const {
  const auto& ids = state_.marathon_framework_ids;
  return std::find(ids.begin(), ids.end(), framework_id) != ids.end();
}

SourceReading MesosSource::read() {
  SourceReading reading;
  const std::string url = options_.url + "/monitor/statistics";
  auto body = fetch("/monitor/statistics");
  if (!body) {
    reading.complete = false;
    reading.errors.push_back(body.error());
    return reading;
  }
  auto statistics = parseMonitorStatistics(*body, redactUrl(url));
  if (!statistics) {
    reading.complete = false;
    reading.errors.push_back(statistics.error());
    return reading;
  }
  reading.errors = std::move(statistics->errors);
  refreshState(*statistics, reading);
  // Entries that failed to parse are absent from the listing without having
  // vanished; keep their history rather than dropping it.
  for (const auto& key : statistics->skipped) {
    const auto known = executors_.find(key);
    reading.unreadable.push_back(known != executors_.end() ? known->second.container_id : key.second);
  }

  const std::string instance_type = [&] {
    std::string from_attributes = attribute(state_, {"instance_type", "instance-type"});
    return from_attributes.empty() ? options_.instance_type : from_attributes;
  }();
  const std::string agent_env = attribute(state_, {"env"});
  reading.host_capacity_cores = state_.cpus;
  if (state_.mem_mib) reading.host_capacity_bytes = *state_.mem_mib * 1024.0 * 1024.0;
  reading.host_place.instance_type = instance_type;
  reading.host_place.zone = [&] {
    if (!state_.zone.empty()) return state_.zone;
    std::string from_attributes = attribute(state_, {"zone", "availability_zone", "availability-zone"});
    return from_attributes.empty() ? options_.zone : from_attributes;
  }();
  reading.host_place.lifecycle = [&] {
    std::string from_attributes = attribute(state_, {"lifecycle", "instance_lifecycle", "instance-lifecycle"});
    return from_attributes.empty() ? options_.lifecycle : from_attributes;
  }();
  reading.containers.reserve(statistics->executors.size());
  for (const auto& entry : statistics->executors) {
    ContainerSample sample;
    auto& identity = sample.identity;
    const auto known = executors_.find({entry.framework_id, entry.executor_id});
    if (known != executors_.end()) {
      identity.container_id = known->second.container_id;
      identity.task_id = known->second.task_id;
      identity.app_id = known->second.app_id;
      identity.env = known->second.env;
      identity.kafka_groups = known->second.kafka_groups;
    } else {
      // Not (yet) in /state: for Marathon's command executors the executor
      // id is the task id, which still names the app.
      identity.container_id = entry.executor_id;
      identity.task_id = entry.executor_id;
      if (isMarathon(entry.framework_id)) identity.app_id = appIdFromMarathonTaskId(entry.executor_id).value_or("");
    }
    if (identity.env.empty()) identity.env = agent_env;
    identity.instance_type = instance_type;
    sample.at = fromUnixSeconds(entry.timestamp_seconds);
    sample.cpu_seconds = entry.cpu_seconds;
    // Without cpus_soft_limit (Mesos before 1.10) cpus_limit is the
    // reservation, as it always was.
    sample.reserved_cores = reservedCores(entry.cpus_soft_limit, entry.cpus_limit);
    sample.limit_cores = entry.cpus_limit;
    sample.cfs_periods = entry.cpus_nr_periods;
    sample.cfs_throttled_periods = entry.cpus_nr_throttled;
    sample.cfs_throttled_seconds = entry.cpus_throttled_time_secs;
    sample.memory_used_bytes = entry.memory_used_bytes;
    sample.memory_limit_bytes = entry.memory_limit_bytes;
    sample.memory_request_bytes = entry.memory_soft_limit_bytes;
    reading.containers.push_back(std::move(sample));
  }
  return reading;
}

}  // namespace rightsize::agent
