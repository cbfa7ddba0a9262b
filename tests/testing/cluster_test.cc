#include "rightsize/testing/cluster.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "rightsize/agent/mesos_json.h"
#include "rightsize/core/json.h"

namespace rightsize::testing {
namespace {

using rapidjson::Document;
using std::chrono::seconds;
using namespace std::chrono_literals;

Trace twoApps() {
  const std::string text =
      "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb\n"
      "/idle,0,4,0.5,1024,100\n/idle,300,4,0.5,1024,100\n"
      "/hot,0,2,1.0,512,500\n/hot,300,2,3.0,512,500\n";
  return *simulate::parseTrace(text, "t.csv");
}

const agent::MesosExecutorStatistics& statisticsOf(const std::vector<agent::MesosExecutorStatistics>& all,
                                                   const std::string& executor_id) {
  for (const auto& s : all) {
    if (s.executor_id == executor_id) return s;
  }
  throw std::runtime_error("no executor " + executor_id);
}

TEST(SimulatedClusterTest, ContainersFollowTheTraceUnderMarathonReservations) {
  ManualClock clock;
  auto cluster = SimulatedCluster::create(clock, twoApps(), {.hosts = 1});
  ASSERT_TRUE(cluster.ok()) << cluster.error().message();
  auto& sim = **cluster;
  ASSERT_EQ(sim.placements().size(), 2u);
  EXPECT_EQ(sim.placements()[0].app_id, "/idle");
  const std::string idle = sim.placements()[0].executor_id;
  const std::string hot = sim.placements()[1].executor_id;
  EXPECT_TRUE(idle.starts_with("idle.instance-")) << idle;  // Marathon's task id: the agent finds the app in it

  clock.advance(seconds(100));
  sim.update();
  auto first = agent::parseMonitorStatistics(sim.agent(0).statisticsBody(), "sim");
  ASSERT_TRUE(first.ok());
  EXPECT_DOUBLE_EQ(*statisticsOf(first->executors, idle).cpus_limit, 4.1);  // + executor overhead
  EXPECT_EQ(*statisticsOf(first->executors, idle).memory_limit_bytes, (1024u + 32u) << 20);
  EXPECT_NEAR(statisticsOf(first->executors, idle).cpu_seconds, 0.5 * 100, 0.02);
  EXPECT_EQ(*statisticsOf(first->executors, hot).memory_used_bytes, 500u << 20);

  clock.advance(seconds(300));  // past the trace's second step: /hot wants 3 cores of 2.1
  sim.update();
  clock.advance(seconds(100));
  auto second = agent::parseMonitorStatistics(sim.agent(0).statisticsBody(), "sim");
  ASSERT_TRUE(second.ok());
  const auto& now = statisticsOf(second->executors, hot);
  const auto& before = statisticsOf(first->executors, hot);
  EXPECT_NEAR((now.cpu_seconds - before.cpu_seconds) / 400, (300 * 1.0 + 100 * 2.1) / 400, 0.01);
  EXPECT_GT(*now.cpus_nr_throttled, *before.cpus_nr_throttled);
  // 100 s wanting 3 cores under 2.1: 0.9 cores held back.
  EXPECT_NEAR(*now.cpus_throttled_time_secs - *before.cpus_throttled_time_secs, 0.9 * 100, 0.5);
  EXPECT_TRUE(sim.finished());  // the trace ends at 300 s
}

// With CPU shares (the Mesos agent's default) a container may use more than
// its limit, and nothing is throttled nor unmet: the replay's model.
TEST(SimulatedClusterTest, WithSharesUseAboveTheLimitIsServed) {
  ManualClock clock;
  auto cluster =
      SimulatedCluster::create(clock, twoApps(), {.hosts = 1, .cpu_isolation = simulate::CpuIsolation::kShares});
  ASSERT_TRUE(cluster.ok()) << cluster.error().message();
  auto& sim = **cluster;
  const std::string hot = sim.placements()[1].executor_id;
  clock.advance(seconds(100));
  sim.update();
  auto first = agent::parseMonitorStatistics(sim.agent(0).statisticsBody(), "sim");
  ASSERT_TRUE(first.ok());
  clock.advance(seconds(300));  // /hot wants 3 cores of 2.1
  sim.update();
  clock.advance(seconds(100));
  auto second = agent::parseMonitorStatistics(sim.agent(0).statisticsBody(), "sim");
  ASSERT_TRUE(second.ok());
  const auto& now = statisticsOf(second->executors, hot);
  const auto& before = statisticsOf(first->executors, hot);
  EXPECT_NEAR((now.cpu_seconds - before.cpu_seconds) / 400, (300 * 1.0 + 100 * 3.0) / 400, 0.01);
  EXPECT_EQ(now.cpus_nr_throttled.value_or(0), before.cpus_nr_throttled.value_or(0));
  EXPECT_EQ(sim.totals().unmet_core_hours, 0);
  EXPECT_GT(sim.totals().demand_core_hours, 0);
}

// Each app lives as long as its trace, as the replay plays it: one whose
// trace begins later is created then, its task new; one whose trace ends
// earlier is destroyed a step after its last point, its container gone.
TEST(SimulatedClusterTest, AppsLiveAsLongAsTheirTrace) {
  const std::string text =
      "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb\n"
      "/old,0,1,0.5,512,100\n/old,300,1,0.5,512,100\n/old,600,1,0.5,512,100\n/old,900,1,0.5,512,100\n"
      "/late,600,2,1.5,1024,200\n/late,900,2,1.5,1024,200\n"
      "/short,0,4,0.5,256,100\n/short,300,4,0.5,256,100\n";
  ManualClock clock;
  auto cluster =
      SimulatedCluster::create(clock, *simulate::parseTrace(text, "t.csv"), {.hosts = 1, .tasks_running_for = 6h});
  ASSERT_TRUE(cluster.ok()) << cluster.error().message();
  auto& sim = **cluster;
  const auto ids = [&sim] {
    std::vector<std::string> out;
    for (const auto& app : sim.marathon().apps()) out.push_back(app.id);
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(ids(), (std::vector<std::string>{"/old", "/short"}));
  EXPECT_EQ(sim.marathon().app("/old")->tasks.at(0).started_at, clock.now() - 6h);  // ran before the trace
  ASSERT_EQ(sim.placements().size(), 2u);

  clock.advance(seconds(300));
  sim.update();
  EXPECT_EQ(ids(), (std::vector<std::string>{"/old", "/short"}));  // its last point plays for a step
  EXPECT_NEAR(sim.totals().app_hours, 2 * 300.0 / 3600, 1e-9);

  clock.advance(seconds(300));  // /late's trace begins, /short's has ended
  sim.update();
  EXPECT_EQ(ids(), (std::vector<std::string>{"/late", "/old"}));
  const auto late = sim.marathon().app("/late");
  ASSERT_TRUE(late.has_value());
  EXPECT_DOUBLE_EQ(late->cpus, 2);
  EXPECT_DOUBLE_EQ(late->mem_mib, 1024);
  ASSERT_EQ(late->tasks.size(), 1u);
  EXPECT_EQ(late->tasks[0].started_at, clock.now());  // a new app: its task is new
  std::vector<std::string> running;
  for (const auto& placement : sim.placements()) running.push_back(placement.app_id);
  EXPECT_EQ(running, (std::vector<std::string>{"/old", "/late"}));  // in trace order
  auto statistics = agent::parseMonitorStatistics(sim.agent(0).statisticsBody(), "sim");
  ASSERT_TRUE(statistics.ok());
  EXPECT_EQ(statistics->executors.size(), 2u);  // /short's container is gone from its host
  EXPECT_NEAR(sim.totals().app_hours, 4 * 300.0 / 3600, 1e-9);
  EXPECT_EQ(sim.totals().apps_refused, 0u);
}

// A gap in the trace is unknown use, as the replay counts it: the container
// holds the point before it, and its reservation counts through the gap,
// its demand only for twice the app's usual step after that point.
TEST(SimulatedClusterTest, AGapInTheTraceCountsItsReservationButNotItsDemand) {
  const std::string text =
      "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb\n"
      "/gappy,0,2,1,512,100\n/gappy,300,2,1,512,100\n/gappy,600,2,1,512,100\n"
      "/gappy,11400,2,1,512,100\n/gappy,11700,2,1,512,100\n";  // three hours without points after 600 s
  ManualClock clock;
  auto cluster = SimulatedCluster::create(clock, *simulate::parseTrace(text, "t.csv"), {.hosts = 1});
  ASSERT_TRUE(cluster.ok()) << cluster.error().message();
  auto& sim = **cluster;
  sim.update();
  for (int step = 0; step < 11700 / 300; ++step) {  // as the demo updates it, often
    clock.advance(seconds(300));
    sim.update();
  }
  const ClusterTotals& totals = sim.totals();
  EXPECT_NEAR(totals.hours, 11700.0 / 3600, 1e-9);
  EXPECT_NEAR(totals.reserved_core_hours, 2 * 11700.0 / 3600, 1e-9);
  EXPECT_NEAR(totals.cpu.reserved_hours, 2 * 11700.0 / 3600, 1e-9);
  // Observed: up to 600 s, the 600 s after the point at 600 s, the last two
  // steps: 30 minutes at 1 core.
  EXPECT_NEAR(totals.demand_core_hours, 0.5, 1e-9);
  EXPECT_NEAR(totals.cpu.used_hours, 0.5, 1e-9);
  EXPECT_NEAR(totals.mem.used_hours, 0.5 * 100 / 1024, 1e-9);
  EXPECT_EQ(totals.cpu.samples, 6u);  // the updates that observed something
}

// Memory above the limit: the container shows at most its limit, and the
// kernel OOM-kills the task once per trace step, which Marathon shows as the
// app's last task failure (what the sizer grows memory on) and relaunches.
TEST(SimulatedClusterTest, MemoryAboveTheLimitIsAnOomKillOncePerTraceStep) {
  ManualClock clock;
  const std::string text =
      "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb\n"
      "/fat,0,1,0.5,512,600\n/fat,300,1,0.5,512,600\n/fat,600,1,0.5,512,600\n";
  auto cluster = SimulatedCluster::create(clock, *simulate::parseTrace(text, "t.csv"), {.hosts = 1});
  ASSERT_TRUE(cluster.ok()) << cluster.error().message();
  auto& sim = **cluster;
  // Killed as the cluster starts (its first update plays the trace's first
  // step); Marathon relaunches it after its back-off.
  EXPECT_EQ(sim.totals().oom_kills, 1u);
  const auto app = sim.marathon().app("/fat");
  ASSERT_TRUE(app.has_value());
  ASSERT_TRUE(app->last_task_failure.has_value());
  EXPECT_EQ(app->last_task_failure->state, "TASK_FAILED");
  EXPECT_TRUE(app->last_task_failure->message.starts_with("Memory limit exceeded")) << app->last_task_failure->message;
  // The same step: the replacement is not killed again, and shows at most
  // its limit.
  clock.advance(seconds(10));
  sim.update();
  sim.update();
  EXPECT_EQ(sim.totals().oom_kills, 1u);
  ASSERT_EQ(sim.placements().size(), 1u);
  const std::string replacement = sim.placements()[0].executor_id;
  EXPECT_NE(replacement, app->last_task_failure->task_id);
  auto statistics = agent::parseMonitorStatistics(sim.agent(0).statisticsBody(), "sim");
  ASSERT_TRUE(statistics.ok());
  EXPECT_EQ(*statisticsOf(statistics->executors, replacement).memory_used_bytes, (512u + 32u) << 20);
  // The next step: killed again.
  clock.advance(seconds(300));
  sim.update();
  sim.update();
  EXPECT_EQ(sim.totals().oom_kills, 2u);
}

// The statistics entry of `executor_id` as the agent double serves it.
Document rawStatistics(FakeMesosAgent& agent, const std::string& executor_id) {
  Document out;
  auto all = json::parse(agent.statisticsBody(), "sim");
  if (!all.ok()) throw std::runtime_error(all.error().message());
  for (const auto& entry : all->GetArray()) {
    if (entry["executor_id"].GetString() == executor_id) out.CopyFrom(entry["statistics"], out.GetAllocator());
  }
  if (!out.IsObject()) throw std::runtime_error("no executor " + executor_id);
  return out;
}

// resourceLimits on a host of 4 cores: /burst (cpus 1, limit 3) wants 2.5
// cores, above its request, and gets them while /busy leaves CPU spare; when
// /busy wants its whole 2.1 the host has 0.8 left for /burst, which is
// capped there. Its memory above mem but below its limit is no OOM kill.
TEST(SimulatedClusterTest, ABurstableContainerUsesSpareHostCpuUpToItsLimit) {
  const std::string text =
      "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb\n"
      "/burst,0,1,2.5,512,600\n/burst,300,1,2.5,512,600\n/burst,600,1,2.5,512,600\n"
      "/busy,0,2,0.5,512,100\n/busy,300,2,4,512,100\n/busy,600,2,4,512,100\n";
  ManualClock clock;
  auto cluster = SimulatedCluster::create(
      clock, *simulate::parseTrace(text, "t.csv"),
      {.hosts = 1, .host_cores = 4, .resource_limits = {{"/burst", FakeResourceLimits{.cpus = 3, .mem_mib = 1024}}}});
  ASSERT_TRUE(cluster.ok()) << cluster.error().message();
  auto& sim = **cluster;
  ASSERT_EQ(sim.placements().size(), 2u);
  const Placement burst = sim.placements()[0];
  EXPECT_EQ(burst.app_id, "/burst");
  EXPECT_EQ(burst.task_cpus_limit, 3);
  EXPECT_EQ(burst.task_mem_limit_mib, 1024);
  const std::string busy = sim.placements()[1].executor_id;

  clock.advance(seconds(100));
  sim.update();
  auto first = agent::parseMonitorStatistics(sim.agent(0).statisticsBody(), "sim");
  ASSERT_TRUE(first.ok());
  EXPECT_NEAR(statisticsOf(first->executors, burst.executor_id).cpu_seconds, 2.5 * 100, 0.05);  // spare CPU
  EXPECT_EQ(*statisticsOf(first->executors, burst.executor_id).memory_used_bytes, 600u << 20);
  EXPECT_NEAR(sim.totals().unmet_core_hours, 0, 1e-12);

  clock.advance(seconds(200));  // the second step: /busy takes its 2.1
  sim.update();
  clock.advance(seconds(100));
  auto second = agent::parseMonitorStatistics(sim.agent(0).statisticsBody(), "sim");
  ASSERT_TRUE(second.ok());
  const auto& now = statisticsOf(second->executors, burst.executor_id);
  const auto& before = statisticsOf(first->executors, burst.executor_id);
  EXPECT_NEAR(now.cpu_seconds - before.cpu_seconds, 200 * 2.5 + 100 * (4 - 2.1), 0.05);
  EXPECT_NEAR(statisticsOf(second->executors, busy).cpu_seconds - statisticsOf(first->executors, busy).cpu_seconds,
              200 * 0.5 + 100 * 2.1, 0.05);
  // Below its own quota: not throttled, only starved (isolation.h).
  EXPECT_EQ(*now.cpus_nr_throttled, *before.cpus_nr_throttled);
  EXPECT_GT(sim.totals().unmet_core_hours, 0);
  EXPECT_EQ(sim.totals().oom_kills, 0u);

  const Document limits = rawStatistics(sim.agent(0), burst.executor_id);
  EXPECT_DOUBLE_EQ(limits["cpus_limit"].GetDouble(), 3.1);
  EXPECT_DOUBLE_EQ(limits["cpus_soft_limit"].GetDouble(), 1.1);
  EXPECT_EQ(limits["mem_limit_bytes"].GetUint64(), (1024u + 32u) << 20);
  EXPECT_EQ(limits["mem_soft_limit_bytes"].GetUint64(), (512u + 32u) << 20);
  const Document plain = rawStatistics(sim.agent(0), busy);
  EXPECT_DOUBLE_EQ(plain["cpus_limit"].GetDouble(), 2.1);
  EXPECT_FALSE(plain.HasMember("cpus_soft_limit"));
}

// "unlimited" through Marathon's API: after the deployment the new container
// takes what its host has spare, is never OOM-killed by its own limit, and
// its agent reports the host's CPUs and memory as its limits.
TEST(SimulatedClusterTest, AnUnlimitedContainerIsHeldBackOnlyByItsHost) {
  const std::string text =
      "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb\n"
      "/free,0,1,6,512,2048\n/free,600,1,6,512,2048\n"
      "/idle,0,1,0.5,512,100\n/idle,600,1,0.5,512,100\n";
  ManualClock clock;
  auto cluster = SimulatedCluster::create(clock, *simulate::parseTrace(text, "t.csv"),
                                          {.hosts = 1, .deployment_duration = seconds(10), .host_cores = 4});
  ASSERT_TRUE(cluster.ok()) << cluster.error().message();
  auto& sim = **cluster;
  EXPECT_EQ(sim.totals().oom_kills, 1u);  // 2048 MiB of 512 before the limits
  clock.advance(seconds(5));              // the relaunch after its back-off
  sim.update();
  HttpRequest put;
  put.method = "PUT";
  put.path = "/v2/apps/free";
  put.body = R"({"resourceLimits": {"cpus": "unlimited", "mem": "unlimited"}})";
  ASSERT_EQ(sim.marathon().handle(put).status, 200);
  clock.advance(seconds(11));
  sim.update();
  const Placement free = sim.placements()[0];
  ASSERT_EQ(free.app_id, "/free");
  ASSERT_TRUE(free.task_cpus_limit && std::isinf(*free.task_cpus_limit));

  clock.advance(seconds(100));
  sim.update();
  auto statistics = agent::parseMonitorStatistics(sim.agent(0).statisticsBody(), "sim");
  ASSERT_TRUE(statistics.ok());
  // 4 cores: /idle's 0.5, the rest to /free.
  EXPECT_NEAR(statisticsOf(statistics->executors, free.executor_id).cpu_seconds, 3.5 * 100, 0.05);
  EXPECT_EQ(*statisticsOf(statistics->executors, free.executor_id).memory_used_bytes, 2048u << 20);
  EXPECT_EQ(sim.totals().oom_kills, 1u);
  const Document limits = rawStatistics(sim.agent(0), free.executor_id);
  EXPECT_DOUBLE_EQ(limits["cpus_limit"].GetDouble(), 4);
  EXPECT_EQ(limits["mem_limit_bytes"].GetUint64(), 63488ull << 20);  // the agent template's memory
}

// A cpus limit is a CFS quota even on an agent without CFS (Mesos sets it
// for a container with a limit): under shares, /burst is held at its limit
// and throttled, while /plain, without one, uses all it wants.
TEST(SimulatedClusterTest, UnderSharesALimitIsStillAQuota) {
  const std::string text =
      "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb\n"
      "/burst,0,1,3,512,100\n/burst,300,1,3,512,100\n"
      "/plain,0,1,3,512,100\n/plain,300,1,3,512,100\n";
  ManualClock clock;
  auto cluster = SimulatedCluster::create(clock, *simulate::parseTrace(text, "t.csv"),
                                          {.hosts = 1,
                                           .cpu_isolation = simulate::CpuIsolation::kShares,
                                           .resource_limits = {{"/burst", FakeResourceLimits{.cpus = 2}}}});
  ASSERT_TRUE(cluster.ok()) << cluster.error().message();
  auto& sim = **cluster;
  clock.advance(seconds(100));
  sim.update();
  auto statistics = agent::parseMonitorStatistics(sim.agent(0).statisticsBody(), "sim");
  ASSERT_TRUE(statistics.ok());
  const auto& burst = statisticsOf(statistics->executors, sim.placements()[0].executor_id);
  const auto& plain = statisticsOf(statistics->executors, sim.placements()[1].executor_id);
  EXPECT_NEAR(burst.cpu_seconds, 2.1 * 100, 0.05);
  EXPECT_GT(*burst.cpus_nr_throttled, 0u);
  EXPECT_NEAR(plain.cpu_seconds, 3 * 100, 0.05);
  EXPECT_EQ(*plain.cpus_nr_throttled, 0u);
  EXPECT_NEAR(sim.totals().unmet_core_hours, 0.9 * 100 / 3600, 1e-9);
}

TEST(SimulatedClusterTest, SpreadsAppsOverHostsAndServesThem) {
  ManualClock clock;
  auto cluster = SimulatedCluster::create(clock, twoApps(), {.hosts = 2});
  ASSERT_TRUE(cluster.ok());
  EXPECT_EQ((*cluster)->placements()[0].host, 0);
  EXPECT_EQ((*cluster)->placements()[1].host, 1);
  EXPECT_EQ((*cluster)->hostName(1), "sim-host-2");
  ASSERT_TRUE((*cluster)->start().ok());
  EXPECT_NE((*cluster)->agentUrl(0), (*cluster)->agentUrl(1));
  auto state = agent::parseAgentState((*cluster)->agent(1).stateBody(), "sim");
  ASSERT_TRUE(state.ok());
  ASSERT_EQ(state->state.executors.size(), 1u);
  EXPECT_EQ(state->state.executors[0].app_id, "/hot");
  EXPECT_EQ(state->state.attributes.at("instance_type"), "m5.4xlarge");
}

TEST(SimulatedClusterTest, AResizeThroughMarathonTakesEffectWhenItsDeploymentEnds) {
  ManualClock clock;
  auto cluster = SimulatedCluster::create(clock, twoApps(), {.hosts = 1, .deployment_duration = seconds(60)});
  ASSERT_TRUE(cluster.ok()) << cluster.error().message();
  auto& sim = **cluster;
  const std::string before = sim.placements()[0].executor_id;

  HttpRequest put;
  put.method = "PUT";
  put.path = "/v2/apps/idle";
  put.body = R"({"cpus": 0.5, "mem": 256})";
  ASSERT_EQ(sim.marathon().handle(put).status, 200);
  clock.advance(seconds(30));  // deploying: the old task runs on under the old reservation
  sim.update();
  ASSERT_EQ(sim.placements()[0].executor_id, before);
  EXPECT_DOUBLE_EQ(sim.placements()[0].cpus_limit, 4.1);

  clock.advance(seconds(31));  // the deployment replaced the task
  sim.update();
  const Placement now = sim.placements()[0];
  EXPECT_NE(now.executor_id, before);
  EXPECT_NE(now.container_id, sim.placements()[1].container_id);
  EXPECT_DOUBLE_EQ(now.cpus_limit, 0.6);
  EXPECT_EQ(now.mem_limit_bytes, (256u + 32u) << 20);
  auto statistics = agent::parseMonitorStatistics(sim.agent(0).statisticsBody(), "sim");
  ASSERT_TRUE(statistics.ok());
  ASSERT_EQ(statistics->executors.size(), 2u);  // the old container is gone
  EXPECT_DOUBLE_EQ(*statisticsOf(statistics->executors, now.executor_id).cpus_limit, 0.6);
  EXPECT_THROW(statisticsOf(statistics->executors, before), std::runtime_error);
}

TEST(SimulatedClusterTest, GivesTraceAppsIdsMarathonAccepts) {
  EXPECT_EQ(marathonAppId("/bitbrains/rnd/vm42"), "/bitbrains/rnd/vm42");
  EXPECT_EQ(marathonAppId("/planetlab/20110303/146-179_surfsnel_dsl_internl_net_colostate_557"),
            "/planetlab/20110303/146-179-surfsnel-dsl-internl-net-colostate-557");
  EXPECT_EQ(marathonAppId("Web App//_x_"), "/web-app/x");
  EXPECT_EQ(marathonAppId("///"), "/app");

  const std::string text =
      "app,timestamp_s,cpu_reserved_cores,cpu_used_cores,mem_reserved_mb,mem_used_mb\n"
      "/a_b,0,1,0.5,,\n/a-b,0,1,0.5,,\n";
  ManualClock clock;
  auto cluster = SimulatedCluster::create(clock, *simulate::parseTrace(text, "t.csv"), {});
  ASSERT_FALSE(cluster.ok());
  EXPECT_EQ(cluster.error().message(), "trace apps /a_b and /a-b are both Marathon app /a-b");
}

TEST(ScaledClockTest, RunsFasterThanItsBase) {
  ManualClock base;
  ScaledClock scaled(base, 60);
  const TimePoint start = scaled.now();
  base.advance(seconds(2));
  EXPECT_EQ(scaled.now() - start, seconds(120));
}

}  // namespace
}  // namespace rightsize::testing
