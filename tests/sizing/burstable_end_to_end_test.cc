// A burstable app end to end (issue 17): the simulated cluster's Marathon
// double and Mesos agent double, the agent's own Mesos source and HTTP
// routes in process, and the sizer in apply mode over HTTP. The sizer PUTs
// cpus, mem and resourceLimits in one deployment, and the Mesos agent double
// then reports the new request (cpus_soft_limit, mem_soft_limit_bytes) and
// limit (cpus_limit, mem_limit_bytes) of the relaunched task, which the
// agent serves apart.

#include <gtest/gtest.h>

#include "rightsize/agent/agent.h"
#include "rightsize/agent/mesos_json.h"
#include "rightsize/agent/mesos_source.h"
#include "rightsize/core/http.h"
#include "rightsize/exporters/agent_http.h"
#include "rightsize/exporters/agent_metrics.h"
#include "rightsize/exporters/sizer_http.h"
#include "rightsize/sizing/agent_reader.h"
#include "rightsize/sizing/sizer.h"
#include "rightsize/testing/cluster.h"
#include "rightsize/wire/containers_report.h"

namespace rightsize::sizing {
namespace {

using namespace std::chrono_literals;

// Four cores reserved; 0.2 used, bursting to 1.5 one step in four; 600 MiB
// of 4096 used.
simulate::Trace burstyTrace() {
  std::string csv = "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb\n";
  for (int i = 0; i < 48; ++i) {
    csv += "/bursty," + std::to_string(1'700'000'000 + 300 * i) + ",4," + (i % 4 == 3 ? "1.5" : "0.2") + ",4096,600\n";
  }
  return *simulate::parseTrace(csv, "bursty.csv");
}

TEST(BurstableEndToEndTest, TheSizerPutsRequestAndLimitsAndTheMesosAgentReportsThem) {
  ManualClock clock;
  clock.set(fromUnixSeconds(1'700'000'000));
  testing::SimulatedClusterOptions cluster_options;
  cluster_options.hosts = 1;
  cluster_options.deployment_duration = 2min;
  cluster_options.host_cores = 16;
  cluster_options.app_labels = {
      {"rightsize.enabled", "true"}, {"rightsize.limits", "burstable"}, {"rightsize.allow-single-instance", "true"}};
  auto cluster = testing::SimulatedCluster::create(clock, burstyTrace(), cluster_options);
  ASSERT_TRUE(cluster) << cluster.error().message();
  testing::SimulatedCluster& sim = **cluster;
  ASSERT_TRUE(sim.start().ok());

  // The agent: its Mesos source on the host's agent double, its routes.
  CurlHttpClient http;
  agent::MesosSourceOptions source_options;
  source_options.url = sim.agentUrl(0);
  agent::MesosSource source(http, clock, source_options);
  exporters::AgentMetrics agent_metrics;
  agent::AgentOptions agent_options;
  agent_options.host = sim.hostName(0);
  agent_options.tracker.window = 5min;
  agent::Agent agent(source, clock, agent_metrics, agent_options);
  HttpServer agent_server(HttpServerOptions{{"127.0.0.1", 0}});
  exporters::addAgentRoutes(agent_server, agent, nullptr, agent_metrics, clock, 10min);
  ASSERT_TRUE(agent_server.start().ok());

  // The sizer, in apply mode, on its defaults but for the waits.
  HttpMarathonOptions marathon_options;
  marathon_options.urls = {sim.marathon().url()};
  HttpMarathonClient marathon(http, marathon_options);
  HttpAgentSource agents(http, 2s);
  exporters::SizerMetrics sizer_metrics;
  SizerOptions options;
  options.mode = Mode::kApply;
  options.owner = "sizer-a";
  options.agents = {agent_server.baseUrl().substr(std::string("http://").size())};
  options.policy.min_history = options.policy.sustain;
  options.policy.min_task_age = 0s;
  Sizer sizer(marathon, agents, nullptr, clock, sizer_metrics, options);

  const std::string app_id = testing::marathonAppId("/bursty");
  // A cycle a minute: the cluster plays the trace, the agent measures, the
  // sizer decides; bounded to the trace's four hours.
  std::uint64_t puts = 0;
  for (int minute = 0; minute < 240 && puts == 0; ++minute) {
    sim.update();
    agent.collectOnce();
    sizer.runCycle();
    clock.advance(1min);
    puts = sim.marathon().puts(app_id).accepted;
  }
  ASSERT_EQ(puts, 1u) << sizer.snapshot()->apps.front().reason;
  auto app = sim.marathon().app(app_id);
  ASSERT_TRUE(app);
  // The request: the sustained use seen by then (0.2 cores at least) plus
  // the band's target (0.135), less the executor's 0.1: far below the 4
  // cores it had and the bursts' 1.5; memory 600 MiB plus its target, less
  // the executor's 32.
  EXPECT_GE(app->cpus, 0.25);
  EXPECT_LT(app->cpus, 1.0);
  EXPECT_LT(app->mem_mib, 1024);
  // Its limits: the reservation it had, never lowered.
  ASSERT_TRUE(app->resource_limits);
  EXPECT_EQ(app->resource_limits->cpus, 4.0);
  EXPECT_EQ(app->resource_limits->mem_mib, 4096.0);
  const double request = app->cpus;
  const double mem_request = app->mem_mib;

  // The deployment ends: the relaunched task runs under request and limit.
  for (int i = 0; i < 4; ++i) {
    clock.advance(1min);
    sim.update();
    agent.collectOnce();
    sizer.runCycle();
  }
  auto statistics = agent::parseMonitorStatistics(sim.agent(0).statisticsBody(), "sim");
  ASSERT_TRUE(statistics.ok()) << statistics.error().message();
  ASSERT_EQ(statistics->executors.size(), 1u);
  const auto& task = statistics->executors.front();
  ASSERT_TRUE(task.cpus_soft_limit && task.cpus_limit);
  EXPECT_NEAR(*task.cpus_soft_limit, request + kExecutorCpus, 1e-9);
  EXPECT_NEAR(*task.cpus_limit, 4.0 + kExecutorCpus, 1e-9);
  ASSERT_TRUE(task.memory_soft_limit_bytes && task.memory_limit_bytes);
  EXPECT_EQ(*task.memory_soft_limit_bytes, static_cast<std::uint64_t>(mem_request + kExecutorMemMib) << 20);
  EXPECT_EQ(*task.memory_limit_bytes, static_cast<std::uint64_t>(4096 + kExecutorMemMib) << 20);

  // And the agent serves them apart: reserved (the request) and limit.
  auto body = http.get(agent_server.baseUrl() + "/v1/containers", 2s);
  ASSERT_TRUE(body);
  std::vector<Error> errors;
  const wire::ContainersReport report = wire::decodeContainersReport(body->body, "agent", errors);
  ASSERT_EQ(report.containers.size(), 1u) << body->body;
  const wire::Container& container = report.containers.front();
  EXPECT_NEAR(container.cpu.reserved_cores.value_or(0), request + kExecutorCpus, 1e-9);
  EXPECT_NEAR(container.cpu.limit_cores.value_or(0), 4.0 + kExecutorCpus, 1e-9);
  EXPECT_NEAR(container.mem.reserved_bytes.value_or(0), (mem_request + kExecutorMemMib) * 1024 * 1024, 1);
  EXPECT_NEAR(container.mem.limit_bytes.value_or(0), (4096 + kExecutorMemMib) * 1024 * 1024, 1);
  agent_server.stop();
}

}  // namespace
}  // namespace rightsize::sizing
