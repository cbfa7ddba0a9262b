#include "rightsize/exporters/agent_metrics.h"

#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>

#include <sstream>

namespace rightsize::exporters {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily gaugeFamily(std::string name, std::string help) {
  MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = MetricType::Gauge;
  return family;
}

void addGauge(MetricFamily& family, const std::vector<ClientMetric::Label>& labels, std::optional<double> value) {
  if (!value) return;
  ClientMetric metric;
  metric.label = labels;
  metric.gauge.value = *value;
  family.metric.push_back(std::move(metric));
}

}  // namespace

std::vector<MetricFamily> snapshotFamilies(const agent::AgentSnapshot& snapshot) {
  enum Index {
    kCpuReserved,
    kCpuUsed,
    kCpuUsedAvg,
    kCpuUsedP95,
    kCpuLying,
    kCpuThrottled,
    kMemReserved,
    kMemUsed,
    kMemUsedPeak,
    kMemLying,
    kCount
  };
  std::vector<MetricFamily> families(kCount);
  families[kCpuReserved] =
      gaugeFamily("rightsize_container_cpu_reserved_cores",
                  "CPU cores reserved for the container (Mesos cpus_limit, CFS quota, or shares/1024).");
  families[kCpuUsed] = gaugeFamily("rightsize_container_cpu_used_cores", "CPU cores used over the last interval.");
  families[kCpuUsedAvg] = gaugeFamily("rightsize_container_cpu_used_cores_avg",
                                      "Exponential moving average of CPU cores used (time constant: --window).");
  families[kCpuUsedP95] =
      gaugeFamily("rightsize_container_cpu_used_cores_p95", "95th percentile of CPU cores used over --window.");
  families[kCpuLying] = gaugeFamily("rightsize_container_cpu_lying_factor_cores",
                                    "Moving average of reserved minus used CPU cores; negative means a hot spot.");
  families[kCpuThrottled] = gaugeFamily("rightsize_container_cpu_throttled_ratio",
                                        "Share of CFS periods in which the container was throttled, last interval.");
  families[kMemReserved] = gaugeFamily("rightsize_container_memory_reserved_bytes", "Memory limit of the container.");
  families[kMemUsed] = gaugeFamily("rightsize_container_memory_used_bytes",
                                   "Resident memory of the container (anonymous plus mapped file).");
  families[kMemUsedPeak] =
      gaugeFamily("rightsize_container_memory_used_bytes_peak", "Peak resident memory over --window.");
  families[kMemLying] =
      gaugeFamily("rightsize_container_memory_lying_factor_bytes", "Moving average of memory limit minus used bytes.");
  for (auto& family : families) family.metric.reserve(snapshot.containers.size());

  std::vector<ClientMetric::Label> labels;
  for (const auto& c : snapshot.containers) {
    labels.clear();
    labels.push_back({"app_id", c.identity.app_id});
    labels.push_back({"container_id", c.identity.container_id});
    if (!c.identity.env.empty()) labels.push_back({"env", c.identity.env});
    labels.push_back({"host", snapshot.host});
    if (!c.identity.instance_type.empty()) labels.push_back({"instance_type", c.identity.instance_type});
    labels.push_back({"task_id", c.identity.task_id});
    addGauge(families[kCpuReserved], labels, c.reserved_cores);
    addGauge(families[kCpuUsed], labels, c.used_cores);
    addGauge(families[kCpuUsedAvg], labels, c.used_cores_avg);
    addGauge(families[kCpuUsedP95], labels, c.used_cores_p95);
    addGauge(families[kCpuLying], labels, c.lying_factor_cores);
    addGauge(families[kCpuThrottled], labels, c.throttled_ratio);
    addGauge(families[kMemReserved], labels, c.memory_reserved_bytes);
    addGauge(families[kMemUsed], labels, c.memory_used_bytes);
    addGauge(families[kMemUsedPeak], labels, c.memory_used_bytes_peak);
    addGauge(families[kMemLying], labels, c.memory_lying_factor_bytes);
  }

  const std::vector<ClientMetric::Label> host_labels = {{"host", snapshot.host}};
  auto host_used = gaugeFamily("rightsize_host_cpu_used_cores", "CPU cores used by all containers on the host.");
  addGauge(host_used, host_labels, snapshot.host_used_cores);
  auto host_capacity = gaugeFamily("rightsize_host_cpu_capacity_cores", "CPU cores of the host.");
  addGauge(host_capacity, host_labels, snapshot.host_capacity_cores);
  auto containers = gaugeFamily("rightsize_agent_containers", "Containers measured in the last cycle.");
  addGauge(containers, host_labels, static_cast<double>(snapshot.containers.size()));
  auto source_up = gaugeFamily("rightsize_agent_source_up", "1 when the last cycle could list the containers, else 0.");
  addGauge(source_up, host_labels, snapshot.source_ok ? 1.0 : 0.0);
  for (auto* family : {&host_used, &host_capacity, &containers, &source_up}) families.push_back(std::move(*family));
  // An empty family would be exposed as a bare HELP/TYPE pair; drop it.
  std::erase_if(families, [](const MetricFamily& family) { return family.metric.empty(); });
  return families;
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
                                                                           0.25, 0.5, 1, 2.5, 5, 10})) {}

void AgentMetrics::record(std::string_view source, const Error& error) {
  const std::string kind(errorKindName(error.kind()));
  errors_.Add({{"source", std::string(source)}, {"kind", kind}}).Increment();
  std::lock_guard lock(logged_mutex_);
  if (logged_.emplace(std::string(source), kind).second) {
    spdlog::warn(
        "{} error ({}): {} [further {} errors of this kind are counted in rightsize_agent_errors_total, not logged]",
        source, kind, error.message(), source);
  }
}

void AgentMetrics::observeCycle(Duration duration) { cycle_duration_.Observe(toSeconds(duration)); }

std::string AgentMetrics::render(const agent::AgentSnapshot& snapshot) const {
  auto families = registry_->Collect();
  auto from_snapshot = snapshotFamilies(snapshot);
  families.insert(families.end(), std::make_move_iterator(from_snapshot.begin()),
                  std::make_move_iterator(from_snapshot.end()));
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace rightsize::exporters
