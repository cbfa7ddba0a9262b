#pragma once

// Measures containers through a Mesos agent's HTTP API: /monitor/statistics
// every read, /state for the task -> app mapping, labels, attributes and
// capacity. /state is refetched at least every `state_refresh`, and when an
// executor appears that it does not know (at most every
// `unknown_executor_retry`); when /state fails the last good mapping is used.

#include <map>
#include <string>
#include <utility>

#include "rightsize/agent/container_source.h"
#include "rightsize/agent/mesos_json.h"
#include "rightsize/core/http.h"

namespace rightsize::agent {

struct MesosSourceOptions {
  std::string url = "http://127.0.0.1:5051";  // without trailing slash
  Duration request_timeout = std::chrono::seconds(5);
  Duration state_refresh = std::chrono::minutes(1);
  // How often an executor that /state does not know may trigger a refetch.
  Duration unknown_executor_retry = std::chrono::seconds(10);
  std::string instance_type;  // used when the agent has no instance_type attribute
  std::string zone;           // ... no fault domain nor zone attribute
  std::string lifecycle;      // ... no lifecycle attribute
};

class MesosSource final : public ContainerSource {
 public:
  MesosSource(HttpClient& http, const Clock& clock, MesosSourceOptions options);

  std::string_view name() const override { return "mesos"; }
  SourceReading read() override;

 private:
  Expected<std::string> fetch(std::string_view path);
  // Refreshes state_ when due or when `statistics` names unknown executors.
  void refreshState(const ParsedStatistics& statistics, SourceReading& reading);
  bool isMarathon(const std::string& framework_id) const;

  HttpClient& http_;
  const Clock& clock_;
  MesosSourceOptions options_;
  std::map<std::pair<std::string, std::string>, MesosExecutor> executors_;  // (framework, executor)
  MesosAgentState state_;
  bool have_state_ = false;
  TimePoint state_fetched_at_{};
  TimePoint state_attempted_at_{};
};

}  // namespace rightsize::agent
