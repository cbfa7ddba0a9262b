// One decision cycle of the sizer for 5,000 apps and 50,000 tasks, without
// network: Marathon, the agents and the store are in memory (the store keeps
// the lease semantics). Compared in the same run with the floor of any
// policy, summarize(): folding the 50,000 tasks' figures into per-app usage.
// BM_ParseInputs measures what the network would add on the sizer's side:
// parsing Marathon's /v2/apps and 100 agents' /v1/containers bodies.
// Target: a cycle under 100 ms.

#include <benchmark/benchmark.h>

#include <string>

#include "rightsize/core/error_sink.h"
#include "rightsize/sizing/sizer.h"
#include "rightsize/testing/fake_sizer_boundaries.h"

namespace {

using namespace std::chrono_literals;
using rightsize::CountingErrorSink;
using rightsize::ManualClock;
using rightsize::testing::FakeAgentSource;
using rightsize::testing::FakeMarathonClient;
using rightsize::testing::FakeStateStore;
namespace sizing = rightsize::sizing;

constexpr int kApps = 5000;
constexpr int kTasksPerApp = 10;

struct Fleet {
  ManualClock clock;
  FakeMarathonClient marathon;
  FakeStateStore store{clock};
  FakeAgentSource agents{marathon};

  Fleet() {
    for (int i = 0; i < kApps; ++i) {
      const std::string id = "/team-" + std::to_string(i % 50) + "/app-" + std::to_string(i);
      // A third idle, a third hot, a third in band.
      std::map<std::string, std::string> labels = {{"rightsize.enabled", "true"}};
      if (i % 7 == 0) labels["rightsize.cpu.band"] = "-0.2:0.8";
      marathon.add(id, 2.0, 2048, kTasksPerApp, labels);
      const double use = i % 3 == 0 ? 0.3 : i % 3 == 1 ? 2.2 : 1.6;
      agents.figures[id] = {use,
                            use * 1.3,
                            900,
                            1100,
                            i % 3 == 1 ? 0.2 : 0.0,
                            i % 11 == 0 ? std::optional(rightsize::wire::LagStatus::kWarn) : std::nullopt};
    }
  }
};

sizing::SizerOptions options() {
  sizing::SizerOptions o;
  o.mode = sizing::Mode::kApply;
  o.owner = "bench";
  o.agents = {"http://agent:9540"};
  return o;
}

void BM_DecisionCycle(benchmark::State& state) {
  Fleet fleet;
  CountingErrorSink errors;
  sizing::Sizer sizer(fleet.marathon, fleet.agents, &fleet.store, fleet.clock, errors, options());
  sizer.runCycle();  // takes the lease, records every app
  for (auto _ : state) {
    fleet.clock.advance(30s);
    sizer.runCycle();
  }
  state.counters["apps"] = kApps;
  state.counters["tasks"] = kApps * kTasksPerApp;
}
BENCHMARK(BM_DecisionCycle)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Summarize(benchmark::State& state) {
  Fleet fleet;
  auto apps = fleet.marathon.listApps()->apps;
  const auto reports = fleet.agents.read({});
  for (auto _ : state) {
    auto usage = sizing::summarize(reports, apps);
    benchmark::DoNotOptimize(usage);
  }
}
BENCHMARK(BM_Summarize)->Unit(benchmark::kMillisecond)->UseRealTime();

// Marathon's /v2/apps?embed=apps.tasks and 100 agents' /v1/containers for
// the same fleet, as text.
struct Bodies {
  std::string apps;
  std::vector<std::string> agents;
};

Bodies bodies(const Fleet& fleet) {
  Bodies out;
  out.apps = "{\"apps\":[";
  out.agents.assign(100, "{\"host\":\"h\",\"timestamp\":1700000000.5,\"window_seconds\":300,\"containers\":[");
  std::vector<bool> first_on_agent(100, true);
  bool first_app = true;
  std::size_t n = 0;
  for (const auto& [id, app] : fleet.marathon.apps) {
    out.apps += std::string(first_app ? "" : ",") + "{\"id\":\"" + id +
                "\",\"cpus\":2,\"mem\":2048,\"instances\":10,\"version\":\"2015-09-25T15:13:48.343Z\","
                "\"labels\":{\"rightsize.enabled\":\"true\"},\"deployments\":[],\"tasks\":[";
    first_app = false;
    for (std::size_t t = 0; t < app.tasks.size(); ++t) {
      const auto& task = app.tasks[t];
      out.apps += std::string(t == 0 ? "" : ",") + "{\"id\":\"" + task.id + "\",\"appId\":\"" + id + "\",\"host\":\"" +
                  task.host + "\",\"ports\":[31000],\"state\":\"TASK_RUNNING\"}";
      const std::size_t agent = n++ % 100;
      out.agents[agent] += std::string(first_on_agent[agent] ? "" : ",") + "{\"container_id\":\"c" + std::to_string(n) +
                           "\",\"app_id\":\"" + id + "\",\"task_id\":\"" + task.id +
                           "\",\"samples\":31,\"cpu\":{\"reserved_cores\":2.1,\"used_cores\":0.42,"
                           "\"used_cores_avg\":0.40,\"used_cores_p95\":0.81,\"lying_factor_cores\":1.7,"
                           "\"throttled_ratio\":0.0},\"mem\":{\"reserved_bytes\":2181038080,\"used_bytes\":"
                           "943718400,\"used_bytes_peak\":1153433600,\"lying_factor_bytes\":1237319680}}";
      first_on_agent[agent] = false;
    }
    out.apps += "]}";
  }
  out.apps += "]}";
  for (auto& agent : out.agents) agent += "]}";
  return out;
}

void BM_ParseInputs(benchmark::State& state) {
  Fleet fleet;
  const Bodies input = bodies(fleet);
  std::size_t bytes = input.apps.size();
  for (const auto& agent : input.agents) bytes += agent.size();
  for (auto _ : state) {
    auto apps = sizing::parseAppList(input.apps, "apps");
    std::vector<rightsize::Error> errors;
    std::size_t tasks = 0;
    for (const auto& agent : input.agents) tasks += sizing::parseContainersReport(agent, "agent", errors).size();
    if (!apps || apps->apps.size() != kApps || tasks != kApps * kTasksPerApp || !errors.empty()) {
      state.SkipWithError("the generated bodies did not parse");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes) * state.iterations());
}
BENCHMARK(BM_ParseInputs)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
