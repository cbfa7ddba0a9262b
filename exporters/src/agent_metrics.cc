#include "rightsize/exporters/agent_metrics.h"

#include <spdlog/spdlog.h>

#include "rightsize/exporters/lag_exposition.h"

namespace rightsize::exporters {
namespace {

using prometheus::MetricType;
using Field = std::optional<double> agent::ContainerStats::*;

struct ContainerGauge {
  std::string_view name;
  std::string_view help;
  Field field;
};

constexpr ContainerGauge kContainerGauges[] = {
    {"rightsize_container_cpu_reserved_cores",
     "CPU cores reserved for the container, its request (Mesos cpus_soft_limit, else cpus_limit; shares/1024 below "
     "the CFS quota, else the quota).",
     &agent::ContainerStats::reserved_cores},
    {"rightsize_container_cpu_limit_cores",
     "CPU cores the container may use, its hard limit (Mesos cpus_limit, CFS quota); absent when unlimited.",
     &agent::ContainerStats::limit_cores},
    {"rightsize_container_cpu_used_cores", "CPU cores used over the last interval.",
     &agent::ContainerStats::used_cores},
    {"rightsize_container_cpu_used_cores_avg",
     "Exponential moving average of CPU cores used (time constant: --window).", &agent::ContainerStats::used_cores_avg},
    {"rightsize_container_cpu_used_cores_p95", "95th percentile of CPU cores used over --window.",
     &agent::ContainerStats::used_cores_p95},
    {"rightsize_container_cpu_used_above_request_cores",
     "Moving average of CPU cores used above the request: max(used_cores_avg - reserved_cores, 0).",
     &agent::ContainerStats::used_above_request_cores},
    {"rightsize_container_cpu_lying_factor_cores",
     "Moving average of reserved minus used CPU cores; negative means a hot spot.",
     &agent::ContainerStats::lying_factor_cores},
    {"rightsize_container_cpu_throttled_ratio",
     "Share of CFS periods in which the container was throttled, last interval.",
     &agent::ContainerStats::throttled_ratio},
    {"rightsize_container_cpu_throttled_cores",
     "CFS throttled time per second summed over CPUs, last interval: about the cores of demand the quota held back.",
     &agent::ContainerStats::throttled_cores},
    {"rightsize_container_memory_reserved_bytes",
     "Memory reserved for the container, its request: the soft limit when below the hard limit, else the hard limit.",
     &agent::ContainerStats::memory_reserved_bytes},
    {"rightsize_container_memory_limit_bytes",
     "Memory hard limit of the container, beyond which it is OOM-killed; absent when unlimited.",
     &agent::ContainerStats::memory_limit_bytes},
    {"rightsize_container_memory_used_bytes", "Resident memory of the container (anonymous plus mapped file).",
     &agent::ContainerStats::memory_used_bytes},
    {"rightsize_container_memory_used_bytes_peak", "Peak resident memory over --window.",
     &agent::ContainerStats::memory_used_bytes_peak},
    {"rightsize_container_memory_lying_factor_bytes", "Moving average of memory reserved minus used bytes.",
     &agent::ContainerStats::memory_lying_factor_bytes},
};

// A family is written only when it has at least one sample: an empty one
// would be a bare HELP/TYPE pair.
void writeHostGauge(TextExposition& out, std::string_view name, std::string_view help, std::string_view labels,
                    std::optional<double> value) {
  if (!value) return;
  out.header(name, help, MetricType::Gauge);
  out.sample(name, labels, *value);
}

}  // namespace

void writeSnapshot(TextExposition& out, const agent::AgentSnapshot& snapshot) {
  // Every series of a container carries the same labels: escape them once.
  std::vector<std::string> label_blocks;
  label_blocks.reserve(snapshot.containers.size());
  std::vector<std::pair<std::string_view, std::string_view>> labels;
  for (const auto& c : snapshot.containers) {
    labels.clear();
    labels.emplace_back("app_id", c.identity.app_id);
    labels.emplace_back("container_id", c.identity.container_id);
    if (!c.identity.env.empty()) labels.emplace_back("env", c.identity.env);
    labels.emplace_back("host", snapshot.host);
    if (!c.identity.instance_type.empty()) labels.emplace_back("instance_type", c.identity.instance_type);
    labels.emplace_back("task_id", c.identity.task_id);
    label_blocks.push_back(TextExposition::labelBlock(labels));
  }
  std::size_t estimate = 4096;
  for (const auto& block : label_blocks) estimate += std::size(kContainerGauges) * (block.size() + 72);
  out.text().reserve(out.text().size() + estimate);
  for (const auto& gauge : kContainerGauges) {
    bool any = false;
    for (const auto& c : snapshot.containers) any = any || (c.*gauge.field).has_value();
    if (!any) continue;
    out.header(gauge.name, gauge.help, MetricType::Gauge);
    for (std::size_t i = 0; i < snapshot.containers.size(); ++i) {
      const auto& value = snapshot.containers[i].*gauge.field;
      if (value) out.sample(gauge.name, label_blocks[i], *value);
    }
  }
  const std::string host = TextExposition::labelBlock({{"host", snapshot.host}});
  writeHostGauge(out, "rightsize_host_cpu_used_cores", "CPU cores used by all containers on the host.", host,
                 snapshot.host_used_cores);
  writeHostGauge(out, "rightsize_host_cpu_capacity_cores", "CPU cores of the host.", host,
                 snapshot.host_capacity_cores);
  writeHostGauge(out, "rightsize_host_memory_capacity_bytes", "Memory of the host for tasks, bytes.", host,
                 snapshot.host_capacity_bytes);
  writeHostGauge(out, "rightsize_agent_containers", "Containers measured in the last cycle.", host,
                 static_cast<double>(snapshot.containers.size()));
  writeHostGauge(out, "rightsize_agent_source_up", "1 when the last cycle could list the containers, else 0.", host,
                 snapshot.source_ok ? 1.0 : 0.0);
}

AgentMetrics::AgentMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      errors_(prometheus::BuildCounter()
                  .Name("rightsize_agent_errors_total")
                  .Help("Problems with outside input that the agent survived, by source and kind.")
                  .Register(*registry_)),
      cycle_duration_(prometheus::BuildHistogram()
                          .Name("rightsize_agent_cycle_duration_seconds")
                          .Help("Time taken by one collection cycle.")
                          .Register(*registry_)
                          .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                                           0.25, 0.5, 1, 2.5, 5, 10})),
      error_counter_(errors_, "rightsize_agent_errors_total", /*source_label=*/true) {}

void AgentMetrics::record(std::string_view source, const Error& error) { error_counter_.record(source, error); }

void AgentMetrics::declareSource(std::string_view source, std::initializer_list<ErrorKind> extra_kinds) {
  for (ErrorKind kind :
       {ErrorKind::kUnavailable, ErrorKind::kHttpStatus, ErrorKind::kMalformed, ErrorKind::kMissingField,
        ErrorKind::kInvalidValue, ErrorKind::kCounterReset, ErrorKind::kClockJump, ErrorKind::kUnreadable}) {
    error_counter_.declare(source, kind);
  }
  for (ErrorKind kind : extra_kinds) error_counter_.declare(source, kind);
}

void AgentMetrics::observeCycle(Duration duration) { cycle_duration_.Observe(toSeconds(duration)); }

std::string AgentMetrics::render(const agent::AgentSnapshot& snapshot, const lag::LagSnapshot* lag) const {
  TextExposition out;
  out.serialize(registry_->Collect());
  writeSnapshot(out, snapshot);
  if (lag != nullptr) writeLag(out, *lag);
  return std::move(out.text());
}

}  // namespace rightsize::exporters
