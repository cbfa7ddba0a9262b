#pragma once

// The series cAdvisor would have left in a fleet's Prometheus for a trace
// (`rightsize report` without agents, docs/report.md "cAdvisor"): one
// container per trace app, scraped every minute, as cAdvisor names and
// labels them. OpenMetrics text for PrometheusServer::start.

#include <string>

#include "rightsize/simulate/trace.h"

namespace rightsize::testing {

struct CadvisorShape {
  // The label naming the container's Marathon app or task, and what it
  // holds: the app id ("/shop/web"), or a Marathon task id
  // ("shop_web.instance-<uuid>._app.1").
  std::string app_label = "container_env_marathon_app_id";
  bool task_id = false;
  // A Docker container (cAdvisor's `image` label set; the task's own cpus
  // and mem, the executor outside), or a Mesos containerizer's (no image;
  // the command executor's 0.1 cores and 32 MiB inside, the soft limit set).
  bool docker = true;
};

// Counters for CPU (container_cpu_usage_seconds_total{cpu="total"}, its
// rate over each 5-minute step the trace's use), gauges for memory (rss and
// mapped_file adding up to the trace's), the spec gauges (cpu shares, CFS
// quota and period, memory limit and soft limit), and a parent cgroup
// without the app label that the report must leave out.
std::string cadvisorOpenMetrics(const simulate::Trace& trace, const CadvisorShape& shape);

}  // namespace rightsize::testing
