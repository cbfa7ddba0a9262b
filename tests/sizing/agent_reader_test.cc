#include "rightsize/sizing/agent_reader.h"

#include <gtest/gtest.h>

namespace rightsize::sizing {
namespace {

// The /v1/containers example of docs/api.md, with a second, broken entry.
const std::string kContainers = R"({"host": "agent-1", "timestamp": 1700000000.5, "window_seconds": 300,
 "containers": [{"container_id": "c1", "app_id": "/web", "task_id": "web.1", "samples": 31,
   "cpu": {"reserved_cores": 1.1, "used_cores": 0.42, "used_cores_avg": 0.40,
           "used_cores_p95": 0.81, "lying_factor_cores": 0.70, "throttled_ratio": 0.0},
   "mem": {"reserved_bytes": 167772160, "used_bytes": 90000000, "used_bytes_peak": 95000000,
           "lying_factor_bytes": 77772160}},
  {"container_id": "c2", "app_id": "/web", "task_id": "web.2", "cpu": {"used_cores_avg": -1}},
  {"container_id": "c3", "task_id": "x"},
  {"container_id": "c4", "app_id": "/web", "task_id": "web.4", "cpu": {"used_cores_avg": null}}]})";

TEST(AgentReaderTest, ContainersAsTheAgentServesThem) {
  std::vector<Error> errors;
  const auto tasks = parseContainersReport(kContainers, "http://agent-1:9540/v1/containers", errors);
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0].app_id, "/web");
  EXPECT_DOUBLE_EQ(*tasks[0].cpu.reserved_cores, 1.1);
  EXPECT_DOUBLE_EQ(*tasks[0].cpu.used_cores_avg, 0.40);
  EXPECT_DOUBLE_EQ(*tasks[0].cpu.used_cores_p95, 0.81);
  EXPECT_DOUBLE_EQ(*tasks[0].mem.used_bytes_peak, 95000000);
  EXPECT_FALSE(tasks[1].cpu.used_cores_avg);  // null: not known yet
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_NE(errors[0].message().find("containers[1]: used_cores_avg is not a non-negative number"), std::string::npos)
      << errors[0].message();
  EXPECT_NE(errors[1].message().find("containers[2]: app_id and task_id must be strings"), std::string::npos);
  errors.clear();
  EXPECT_TRUE(parseContainersReport("{\"containers\": [", "agent", errors).empty());
  EXPECT_EQ(errors.size(), 1u);
}

TEST(AgentReaderTest, LagGroups) {
  std::vector<Error> errors;
  const auto groups = parseLagReport(
      R"({"timestamp": 1, "groups": [{"group": "g1", "app_id": "/consumer", "status": "WARN", "partitions": []},
                                     {"group": "g2", "status": "OK"}, {"status": "OK"}]})",
      "lag", errors);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].app_id, "/consumer");
  EXPECT_EQ(groups[0].status, wire::LagStatus::kWarn);
  EXPECT_EQ(groups[1].app_id, "");
  EXPECT_EQ(errors.size(), 1u);
}

TEST(AgentReaderTest, SummaryKeepsMarathonsTasksTheBusiestAndTheExecutorOverhead) {
  MarathonApp web;
  web.id = "/web";
  web.cpus = 1.0;
  web.mem_mib = 128;
  web.tasks = {{"web.1", "/web", "h1", {31000}, "TASK_RUNNING"}, {"web.2", "/web", "h2", {31000}, "TASK_RUNNING"}};
  AgentReport report;
  report.reachable = true;
  auto task = [](std::string id, double avg, double used_mib) {
    wire::Container t;
    t.app_id = "/web";
    t.task_id = std::move(id);
    t.cpu.reserved_cores = 1.1;
    t.cpu.used_cores_avg = avg;
    t.cpu.used_cores_p95 = avg * 2;
    t.mem.reserved_bytes = 160.0 * 1024 * 1024;
    t.mem.used_bytes = used_mib * 1024 * 1024;
    return t;
  };
  report.containers = {task("web.1", 0.3, 60), task("web.2", 0.5, 155), task("web.old", 3.0, 150)};
  report.containers[0].cpu.throttled_cores = 0.7;  // the busiest task's demand held back
  report.containers[1].cpu.throttled_cores = 0.2;
  report.containers[2].cpu.throttled_cores = 9.0;
  report.lag_groups = {{.group = "g", .app_id = "/web", .status = wire::LagStatus::kStall}};
  const auto usage = summarize({report}, {web});
  ASSERT_EQ(usage.size(), 1u);
  const AppUsage& u = usage.at("/web");
  EXPECT_EQ(u.tasks, 2);  // web.old is not one of Marathon's tasks any more
  EXPECT_DOUBLE_EQ(*u.cpu_used_avg, 0.5);
  EXPECT_DOUBLE_EQ(*u.cpu_used_p95, 1.0);
  EXPECT_DOUBLE_EQ(*u.cpu_throttled_cores, 0.7);
  EXPECT_DOUBLE_EQ(u.cpu_overhead, kExecutorCpus);
  EXPECT_DOUBLE_EQ(u.mem_overhead_mib, kExecutorMemMib);
  EXPECT_TRUE(u.mem_near_limit);  // 155 of 160 MiB
  EXPECT_TRUE(u.lag_growing);
  // One task's agent does not measure it (older than the figure): the
  // app's held-back demand is unknown, not the other task's alone.
  report.containers[1].cpu.throttled_cores.reset();
  EXPECT_FALSE(summarize({report}, {web}).at("/web").cpu_throttled_cores);
}

// A few tasks are looked up in a list, many in a hash map: the summary is
// the same either way, a figure of a task Marathon does not list is left out,
// and a task id listed under two apps (a Marathon mid-update) is the first
// app's.
TEST(AgentReaderTest, SummaryIsTheSameForFewTasksAndMany) {
  for (const int extra : {0, 20}) {
    MarathonApp web;
    web.id = "/web";
    web.cpus = 1.0;
    web.mem_mib = 128;
    web.tasks = {{.id = "web.1", .app_id = "/web"}, {.id = "shared.1", .app_id = "/web"}};
    MarathonApp api;
    api.id = "/api";
    api.cpus = 2.0;
    api.mem_mib = 256;
    api.tasks = {{.id = "api.1", .app_id = "/api"}, {.id = "shared.1", .app_id = "/api"}};
    for (int i = 0; i < extra; ++i) api.tasks.push_back({.id = "api.x" + std::to_string(i), .app_id = "/api"});
    AgentReport report;
    report.reachable = true;
    const auto task = [](std::string app_id, std::string id, double avg) {
      wire::Container t;
      t.app_id = std::move(app_id);
      t.task_id = std::move(id);
      t.cpu.used_cores_avg = avg;
      return t;
    };
    report.containers = {task("/web", "web.1", 0.3), task("/web", "shared.1", 0.7), task("/api", "shared.1", 1.5),
                         task("/api", "api.1", 0.2), task("/api", "api.gone", 9.0)};
    const auto usage = summarize({report}, {web, api});
    SCOPED_TRACE(extra);
    ASSERT_EQ(usage.size(), 2u);
    EXPECT_EQ(usage.at("/web").tasks, 2);  // shared.1 is the first app's
    EXPECT_DOUBLE_EQ(*usage.at("/web").cpu_used_avg, 0.7);
    EXPECT_EQ(usage.at("/api").tasks, 1);  // not shared.1, nor a task Marathon does not list
    EXPECT_DOUBLE_EQ(*usage.at("/api").cpu_used_avg, 0.2);
  }
}

// Figures no container can have are refused, named and kept out; the other
// tasks of the app still count.
TEST(AgentReaderTest, SummaryRefusesImpossibleFigures) {
  MarathonApp web;
  web.id = "/web";
  web.cpus = 1.0;
  web.mem_mib = 128;
  for (const char* id : {"web.1", "web.2", "web.3", "web.4", "web.5"}) web.tasks.push_back({id, "/web", "h", {}, ""});
  AgentReport report;
  report.url = "http://agent-1:9540";
  auto task = [](std::string id) {
    wire::Container t;
    t.app_id = "/web";
    t.task_id = std::move(id);
    t.cpu.used_cores_avg = 0.4;
    t.cpu.used_cores_p95 = 0.5;
    t.mem.reserved_bytes = 160.0 * 1024 * 1024;
    t.mem.used_bytes = 100.0 * 1024 * 1024;
    return t;
  };
  report.containers = {task("web.1"), task("web.2"), task("web.3"), task("web.4"), task("web.5")};
  report.containers[1].mem.used_bytes = 1e12;  // far above its 160 MiB limit
  report.containers[2].cpu.used_cores_p95 = 1e308;
  report.containers[3].cpu.throttled_ratio = 1.5;
  report.containers[4].mem.used_bytes_peak = 2e15;  // above --max-mem (1 TiB), whatever the limit says
  report.containers[4].mem.reserved_bytes = 4e15;
  std::vector<Error> refused;
  const auto usage = summarize({report}, {web}, FigureLimits{}, &refused);
  ASSERT_EQ(refused.size(), 4u);
  EXPECT_NE(refused[0].message().find("http://agent-1:9540/v1/containers: task web.2 of /web: mem.used_bytes 1e+12 "
                                      "is above the container's memory limit"),
            std::string::npos)
      << refused[0].message();
  EXPECT_NE(refused[1].message().find("cpu.used_cores_p95 1e+308 is above the ceiling of 128 cores (--max-cpus)"),
            std::string::npos)
      << refused[1].message();
  EXPECT_NE(refused[2].message().find("throttled_ratio 1.5 is above 1"), std::string::npos);
  EXPECT_NE(refused[3].message().find("--max-mem"), std::string::npos) << refused[3].message();
  const AppUsage& u = usage.at("/web");
  EXPECT_EQ(u.tasks, 1);
  EXPECT_DOUBLE_EQ(*u.cpu_used_p95, 0.5);
  EXPECT_DOUBLE_EQ(*u.mem_used_mib, 100);

  // Held-back demand beyond any host: the task's figures are not believed.
  report.containers = {task("web.1"), task("web.2")};
  report.containers[1].cpu.throttled_cores = 1e6;
  refused.clear();
  const auto held = summarize({report}, {web}, FigureLimits{}, &refused);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_NE(refused[0].message().find("task web.2 of /web: cpu.throttled_cores 1e+06 is above the ceiling of 128 "
                                      "cores (--max-cpus)"),
            std::string::npos)
      << refused[0].message();
  EXPECT_EQ(held.at("/web").tasks, 1);
  EXPECT_FALSE(held.at("/web").cpu_throttled_cores);
}

// A burstable container's memory above its request is no risk and no
// impossibility: its hard limit (limit_bytes) is what it is killed at, and an
// unlimited one (null) has none. An agent older than limit_bytes reports the
// hard limit as reserved_bytes.
TEST(AgentReaderTest, TheMemoryLimitIsTheHardOne) {
  MarathonApp web;
  web.id = "/web";
  web.cpus = 0.5;
  web.mem_mib = 128;
  web.limits = {2.0, 1024.0};
  web.tasks = {{"web.1", "/web", "h", {}, ""}};
  auto task = [](std::optional<double> limit_mib, bool reported, double used_mib) {
    wire::Container t;
    t.app_id = "/web";
    t.task_id = "web.1";
    t.cpu.reserved_cores = 0.6;
    t.cpu.limit_cores = 2.1;
    t.cpu.used_cores_avg = 0.4;
    t.mem.reserved_bytes = 160.0 * 1024 * 1024;
    if (limit_mib) t.mem.limit_bytes = *limit_mib * 1024 * 1024;
    t.mem.limit_reported = reported;
    t.mem.used_bytes = used_mib * 1024 * 1024;
    return t;
  };
  const auto usageOf = [&](const wire::Container& t, std::vector<Error>* refused = nullptr) {
    AgentReport report;
    report.containers = {t};
    return summarize({report}, {web}, FigureLimits{}, refused);
  };
  const AppUsage bursting = usageOf(task(1056, true, 600)).at("/web");  // 600 MiB of a 1056 MiB hard limit
  EXPECT_FALSE(bursting.mem_near_limit);
  EXPECT_DOUBLE_EQ(bursting.cpu_overhead, kExecutorCpus);        // the request is 0.5 + 0.1
  EXPECT_DOUBLE_EQ(bursting.mem_overhead_mib, kExecutorMemMib);  // and 128 + 32 MiB
  EXPECT_TRUE(usageOf(task(1056, true, 1010)).at("/web").mem_near_limit);
  EXPECT_FALSE(usageOf(task(std::nullopt, true, 5000)).at("/web").mem_near_limit);  // unlimited
  std::vector<Error> refused;
  EXPECT_TRUE(usageOf(task(std::nullopt, false, 600), &refused).empty());  // an older agent: 600 of 160 MiB
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_NE(refused[0].message().find("above the container's memory limit of 167772160 bytes"), std::string::npos)
      << refused[0].message();
}

// A group falling behind holds the app the agent names for it, and every app
// whose rightsize.kafka.groups label names it (groups given to the agent by
// --kafka-group carry no app). REWIND holds like WARN, STALL and STOP.
TEST(AgentReaderTest, LaggingGroupsHoldTheirAppsByNameAndByLabel) {
  MarathonApp a;
  a.id = "/a";
  a.labels = {{"rightsize.kafka.groups", "orders, payments"}};
  MarathonApp b;
  b.id = "/b";
  MarathonApp c;
  c.id = "/c";
  AgentReport report;
  report.lag_groups = {{.group = "payments", .status = wire::LagStatus::kRewind},
                       {.group = "clicks", .app_id = "/b", .status = wire::LagStatus::kRewind},
                       {.group = "other", .app_id = "/c", .status = wire::LagStatus::kOk}};
  const auto usage = summarize({report}, {a, b, c});
  EXPECT_TRUE(usage.at("/a").lag_growing);
  EXPECT_TRUE(usage.at("/b").lag_growing);
  EXPECT_FALSE(usage.contains("/c"));
}

// What horizontal scaling reads: the tasks' summed CPU, the highest lag of
// the app's groups, whether any reported, and the fewest partitions of one.
TEST(AgentReaderTest, LagSecondsAndPartitionsOfTheAppsGroups) {
  MarathonApp a;
  a.id = "/a";
  a.labels = {{"rightsize.kafka.groups", "orders,audit"}};
  for (const char* id : {"a.1", "a.2"}) a.tasks.push_back({id, "/a", "h", {}, ""});
  AgentReport report;
  for (const char* id : {"a.1", "a.2"}) {
    wire::Container t;
    t.app_id = "/a";
    t.task_id = id;
    t.cpu.used_cores_avg = std::string_view(id) == "a.1" ? 0.25 : 0.75;
    report.containers.push_back(t);
  }
  auto group = [](std::string name, int partitions, double lag_seconds, wire::LagStatus status) {
    wire::LagGroup g{.group = std::move(name), .status = status};
    for (int p = 0; p < partitions; ++p) {
      g.partitions.push_back({.topic = "t", .partition = p, .lag_seconds = lag_seconds + p, .status = status});
    }
    return g;
  };
  report.lag_groups = {group("orders", 6, 10, wire::LagStatus::kOk), group("audit", 3, 40, wire::LagStatus::kOk),
                       group("unrelated", 1, 900, wire::LagStatus::kOk)};
  auto usage = summarize({report}, {a});
  const AppUsage& u = usage.at("/a");
  EXPECT_DOUBLE_EQ(*u.cpu_used_sum, 1.0);
  EXPECT_EQ(u.tasks, 2);
  EXPECT_TRUE(u.lag_reported);
  EXPECT_FALSE(u.lag_growing);
  EXPECT_DOUBLE_EQ(*u.lag_seconds, 42);  // audit's partition 2
  EXPECT_EQ(u.kafka_partitions, 3);      // more than 3 instances would idle in audit
  EXPECT_FALSE(usage.contains("/unrelated"));
  // No groups: nothing known.
  report.lag_groups.clear();
  usage = summarize({report}, {a});
  EXPECT_FALSE(usage.at("/a").lag_reported);
  EXPECT_FALSE(usage.at("/a").lag_seconds.has_value());
  EXPECT_FALSE(usage.at("/a").kafka_partitions.has_value());
}

TEST(AgentReaderTest, AgentUrlsFromTheAgentAppsTasks) {
  MarathonApp agents;
  agents.tasks = {{"a.1", "/rightsize/agent", "10.0.0.2", {9540}, ""},
                  {"a.2", "/rightsize/agent", "::1", {9540}, ""},
                  {"a.3", "/rightsize/agent", "10.0.0.3", {}, ""},
                  {"a.4", "/rightsize/agent", "10.0.0.2", {9540}, ""}};
  EXPECT_EQ(agentUrlsFromApp(agents), (std::vector<std::string>{"http://10.0.0.2:9540", "http://[::1]:9540"}));
}

}  // namespace
}  // namespace rightsize::sizing
