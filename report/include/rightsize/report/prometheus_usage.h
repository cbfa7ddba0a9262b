#pragma once

// The sizer's per-app figures from Prometheus (`rightsize sizer
// --usage-source prometheus`): the recording rules of
// deploy/prometheus/rules/apps.yml at the decision's time, read in a few
// instant queries for every app, and the agents' Kafka group status. They
// become the AppUsage the agents' /v1/containers would give (sizing::
// summarize()): the busiest task's 5-minute mean and in-window p95, its
// throttling, memory and peak, the executor's share where the requests show
// it, memory near the hard limit, consumers falling behind. A Prometheus
// that is down, slow or answers an error gives no figures: no decision.

#include <string>

#include "rightsize/report/prometheus_client.h"
#include "rightsize/sizing/agent_reader.h"

namespace rightsize::report {

struct PrometheusUsageOptions {
  // Added to every selector, e.g. `env="prod"` when one Prometheus holds
  // several clusters (--prometheus-selector).
  std::string selector;
  sizing::FigureLimits limits;  // the sizer's ceilings: figures beyond are refused
};

class PrometheusUsageSource final : public sizing::UsageSource {
 public:
  PrometheusUsageSource(PrometheusClient& prometheus, PrometheusUsageOptions options)
      : prometheus_(prometheus), options_(std::move(options)) {}
  sizing::UsageReading read(const std::vector<sizing::MarathonApp>& apps, TimePoint now) override;
  std::string name() const override { return "prometheus"; }

 private:
  PrometheusClient& prometheus_;
  PrometheusUsageOptions options_;
};

}  // namespace rightsize::report
