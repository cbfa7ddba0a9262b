// The Marathon double against shared/reference/marathon: shapes of apps,
// tasks and deployments, deployments on the manual clock, Marathon's error
// bodies, faults, the tool as a process and a real Marathon client.

#include "rightsize/testing/fake_marathon.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <future>
#include <limits>
#include <sstream>
#include <thread>

#include "test_support.h"

#include "rightsize/core/json.h"

namespace rightsize::testing {
namespace {

using namespace std::chrono_literals;
using rapidjson::Document;

constexpr std::string_view kLockedPrefix =
    R"({"message":"App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.","deployments":[{"id":")";

std::string referenceFile(const std::string& relative) {
  const std::string path = std::string(RIGHTSIZE_SOURCE_DIR) + "/../shared/reference/marathon/" + relative;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing reference file " << path;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

Document parseBody(const HttpResponse& response) {
  auto parsed = json::parse(response.body, "response");
  EXPECT_TRUE(parsed.ok()) << response.body;
  return parsed.ok() ? std::move(*parsed) : Document();
}

std::string str(const rapidjson::Value& value) {
  return value.IsString() ? std::string(value.GetString()) : "<" + std::string(json::typeName(value)) + ">";
}

std::string header(const HttpResponse& response, std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return {};
}

class FakeMarathonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    marathon_ = std::make_unique<FakeMarathon>(
        clock_, FakeMarathonOptions{.deployment_duration = 10s, .default_hosts = {"10.0.0.1", "10.0.0.2"}});
    ASSERT_TRUE(marathon_
                    ->addApp({.id = "/team/web",
                              .cpus = 0.5,
                              .mem_mib = 256,
                              .instances = 2,
                              .labels = {{"rightsize.enabled", "true"}},
                              .env = {{"JAVA_OPTS", "-Xmx200m"}}})
                    .ok());
  }

  HttpResponse call(const std::string& method, const std::string& target, const std::string& body = "") {
    HttpRequest request;
    request.method = method;
    const auto question = target.find('?');
    request.path = target.substr(0, question);
    if (question != std::string::npos) request.query = target.substr(question + 1);
    request.body = body;
    return marathon_->handle(request);
  }

  std::vector<std::string> taskIds(const std::string& app_id) {
    std::vector<std::string> ids;
    const auto app = marathon_->app(app_id);
    EXPECT_TRUE(app) << app_id;
    if (app) {
      for (const auto& task : app->tasks) ids.push_back(task.id);
    }
    return ids;
  }

  ManualClock clock_;
  std::unique_ptr<FakeMarathon> marathon_;
};

TEST(FormatMarathonTimeTest, MillisecondsOrNoneAsMarathonWritesThem) {
  const TimePoint t = fromUnixSeconds(1'700'000'000.0);
  EXPECT_EQ(formatMarathonTime(t), "2023-11-14T22:13:20Z");
  EXPECT_EQ(formatMarathonTime(t + 343ms), "2023-11-14T22:13:20.343Z");
  EXPECT_EQ(formatMarathonTime(t + 7ms + 999us), "2023-11-14T22:13:20.007Z");
}

TEST_F(FakeMarathonTest, ListsAppsWithTheFieldsMarathonReturns) {
  const HttpResponse response = call("GET", "/v2/apps");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "application/json");
  Document body = parseBody(response);
  ASSERT_EQ(body["apps"].Size(), 1u);
  const auto& app = body["apps"][0];
  for (const char* field : {"id",
                            "cmd",
                            "args",
                            "cpus",
                            "mem",
                            "disk",
                            "gpus",
                            "instances",
                            "labels",
                            "env",
                            "portDefinitions",
                            "container",
                            "constraints",
                            "healthChecks",
                            "upgradeStrategy",
                            "version",
                            "versionInfo",
                            "tasksStaged",
                            "tasksRunning",
                            "tasksHealthy",
                            "tasksUnhealthy",
                            "deployments"}) {
    EXPECT_TRUE(app.HasMember(field)) << field;
  }
  EXPECT_EQ(str(app["id"]), "/team/web");
  EXPECT_EQ(str(app["cmd"]), "sleep 3600");
  EXPECT_TRUE(app["args"].IsNull());
  EXPECT_DOUBLE_EQ(app["cpus"].GetDouble(), 0.5);
  EXPECT_DOUBLE_EQ(app["mem"].GetDouble(), 256);
  EXPECT_EQ(app["instances"].GetInt(), 2);
  EXPECT_EQ(str(app["labels"]["rightsize.enabled"]), "true");
  EXPECT_EQ(str(app["env"]["JAVA_OPTS"]), "-Xmx200m");
  EXPECT_EQ(app["portDefinitions"][0]["port"].GetInt(), 10000);  // the first service port
  EXPECT_EQ(str(app["portDefinitions"][0]["name"]), "default");
  EXPECT_TRUE(app["container"].IsNull());
  EXPECT_EQ(str(app["version"]), "2023-11-14T22:13:20Z");
  EXPECT_EQ(str(app["versionInfo"]["lastScalingAt"]), "2023-11-14T22:13:20Z");
  EXPECT_EQ(str(app["versionInfo"]["lastConfigChangeAt"]), "2023-11-14T22:13:20Z");
  EXPECT_EQ(app["tasksRunning"].GetInt(), 2);
  EXPECT_EQ(app["tasksHealthy"].GetInt(), 0);  // no health checks
  EXPECT_TRUE(app["deployments"].IsArray() && app["deployments"].Empty());
  EXPECT_FALSE(app.HasMember("tasks"));  // only with embed=apps.tasks
}

TEST_F(FakeMarathonTest, EmbedsTasksShapedAsMarathonTasks) {
  Document body = parseBody(call("GET", "/v2/apps?embed=apps.tasks&embed=apps.counts"));
  const auto& tasks = body["apps"][0]["tasks"];
  ASSERT_EQ(tasks.Size(), 2u);
  for (rapidjson::SizeType i = 0; i < 2; ++i) {
    const auto& task = tasks[i];
    SCOPED_TRACE(str(task["id"]));
    EXPECT_TRUE(str(task["id"]).starts_with("team_web.instance-"));
    EXPECT_TRUE(str(task["id"]).ends_with("._app.1"));
    EXPECT_EQ(str(task["appId"]), "/team/web");
    EXPECT_EQ(str(task["host"]), i == 0 ? "10.0.0.1" : "10.0.0.2");  // round-robin on the default hosts
    EXPECT_EQ(task["ports"].Size(), 1u);
    EXPECT_EQ(task["servicePorts"][0].GetInt(), 10000);
    EXPECT_TRUE(str(task["slaveId"]).ends_with(i == 0 ? "-S0" : "-S1"));
    EXPECT_EQ(str(task["state"]), "TASK_RUNNING");
    EXPECT_EQ(str(task["stagedAt"]), "2023-11-14T22:13:20Z");
    EXPECT_EQ(str(task["startedAt"]), "2023-11-14T22:13:20Z");
    EXPECT_EQ(str(task["version"]), "2023-11-14T22:13:20Z");
    EXPECT_TRUE(task["healthCheckResults"].IsArray());
  }
  EXPECT_NE(tasks[0]["ports"][0].GetInt(), tasks[1]["ports"][0].GetInt());

  Document one = parseBody(call("GET", "/v2/apps/team/web?embed=app.tasks"));
  EXPECT_EQ(one["app"]["tasks"].Size(), 2u);
  Document app_tasks = parseBody(call("GET", "/v2/apps/team/web/tasks"));
  EXPECT_EQ(app_tasks["tasks"].Size(), 2u);
  Document all_tasks = parseBody(call("GET", "/v2/tasks?status=running"));
  EXPECT_EQ(all_tasks["tasks"].Size(), 2u);
  EXPECT_EQ(parseBody(call("GET", "/v2/tasks?status=staging"))["tasks"].Size(), 0u);
}

TEST_F(FakeMarathonTest, HealthCheckedAppsCountHealthyTasks) {
  ASSERT_TRUE(marathon_
                  ->addAppsFromJson(R"({"id": "/api", "cmd": "serve", "instances": 3,
                                        "healthChecks": [{"protocol": "HTTP", "path": "/health", "portIndex": 0}]})",
                                    "test")
                  .ok());
  Document body = parseBody(call("GET", "/v2/apps/api?embed=app.tasks"));
  EXPECT_EQ(body["app"]["tasksHealthy"].GetInt(), 3);
  const auto& result = body["app"]["tasks"][0]["healthCheckResults"][0];
  EXPECT_TRUE(result["alive"].GetBool());
  EXPECT_EQ(str(result["taskId"]), str(body["app"]["tasks"][0]["id"]));
}

std::vector<std::string> memberNames(const rapidjson::Value& object) {
  std::vector<std::string> names;
  for (const auto& member : object.GetObject()) names.emplace_back(member.name.GetString());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(MesosMessagesTest, BytesAndTheMemoryLimitMessageAsMesosWritesThem) {
  EXPECT_EQ(formatMesosBytes(0), "0B");
  EXPECT_EQ(formatMesosBytes(1023), "1023B");
  EXPECT_EQ(formatMesosBytes(1536 * 1024), "1536KB");
  EXPECT_EQ(formatMesosBytes(160ULL << 20), "160MB");
  EXPECT_EQ(formatMesosBytes(1ULL << 30), "1GB");
  EXPECT_EQ(formatMesosBytes(1536ULL << 20), "1536MB");
  EXPECT_EQ(formatMesosBytes(2ULL << 40), "2TB");
  EXPECT_EQ(formatMesosBytes(1024ULL << 40), "1024TB");

  const std::string message = mesosMemoryLimitMessage(160ULL << 20, 160ULL << 20);
  EXPECT_TRUE(
      message.starts_with("Memory limit exceeded: Requested: 160MB Maximum Used: 160MB\n\n"
                          "MEMORY STATISTICS: \ncache 0\nrss 167772160\n"))
      << message;
  EXPECT_NE(message.find("\nhierarchical_memory_limit 167772160\n"), std::string::npos) << message;
  EXPECT_TRUE(message.ends_with("\ntotal_unevictable 0\n\n")) << message;
}

// Marathon's reaction to a task that Mesos' memory isolator OOM-kills: the
// task is gone, the app's lastTaskFailure says why, and a replacement waits
// in the launch queue for the app's back-off.
TEST_F(FakeMarathonTest, OomKillRecordsTheFailureAndRelaunchesAfterTheBackoff) {
  ASSERT_TRUE(marathon_->addApp({.id = "/other", .mem_mib = 100.7}).ok());
  const auto tasks = *marathon_->app("/team/web");
  clock_.advance(1500ms);
  ASSERT_TRUE(marathon_->oomKillTask(tasks.tasks[0].id).ok());

  auto app = *marathon_->app("/team/web");
  ASSERT_EQ(app.tasks.size(), 1u);
  EXPECT_EQ(app.tasks[0].id, tasks.tasks[1].id);
  EXPECT_EQ(app.tasks_queued, 1);
  ASSERT_TRUE(app.launch_delayed_until);
  EXPECT_EQ(formatMarathonTime(*app.launch_delayed_until), "2023-11-14T22:13:22.500Z");  // backoffSeconds 1
  ASSERT_TRUE(app.last_task_failure);
  EXPECT_EQ(app.last_task_failure->state, "TASK_FAILED");
  // 256 MiB for the task and 32 for the command executor.
  EXPECT_TRUE(app.last_task_failure->message.starts_with(
      "Memory limit exceeded: Requested: 288MB Maximum Used: 288MB\n\nMEMORY STATISTICS: \n"))
      << app.last_task_failure->message;

  Document plain = parseBody(call("GET", "/v2/apps"));
  for (const auto& listed : plain["apps"].GetArray()) EXPECT_FALSE(listed.HasMember("lastTaskFailure"));
  const auto& counted = plain["apps"][1];
  ASSERT_EQ(str(counted["id"]), "/team/web");
  EXPECT_EQ(counted["instances"].GetInt(), 2);
  EXPECT_EQ(counted["tasksRunning"].GetInt(), 1);
  EXPECT_EQ(counted["tasksStaged"].GetInt(), 0);  // the replacement has no Mesos task yet

  Document embedded = parseBody(call("GET", "/v2/apps?embed=apps.lastTaskFailure"));
  EXPECT_FALSE(embedded["apps"][0].HasMember("lastTaskFailure"));  // /other never failed
  EXPECT_FALSE(embedded["apps"][1].HasMember("tasks"));
  const auto& failure = embedded["apps"][1]["lastTaskFailure"];
  EXPECT_EQ(memberNames(failure), (std::vector<std::string>{"appId", "host", "message", "slaveId", "state", "taskId",
                                                            "timestamp", "version"}));
  EXPECT_EQ(str(failure["appId"]), "/team/web");
  EXPECT_EQ(str(failure["host"]), "10.0.0.1");
  EXPECT_EQ(str(failure["message"]), app.last_task_failure->message);
  EXPECT_TRUE(str(failure["slaveId"]).ends_with("-S0"));
  EXPECT_EQ(str(failure["state"]), "TASK_FAILED");
  EXPECT_EQ(str(failure["taskId"]), tasks.tasks[0].id);
  EXPECT_EQ(str(failure["timestamp"]), "2023-11-14T22:13:21.500Z");
  EXPECT_EQ(str(failure["version"]), tasks.version);
  Document failures = parseBody(call("GET", "/v2/apps?embed=apps.failures"));
  EXPECT_TRUE(failures["apps"][1].HasMember("lastTaskFailure"));
  EXPECT_EQ(failures["apps"][1]["tasks"].Size(), 1u);
  Document shown = parseBody(call("GET", "/v2/apps/team/web"));  // embedded whatever is asked
  EXPECT_EQ(str(shown["app"]["lastTaskFailure"]["taskId"]), tasks.tasks[0].id);
  EXPECT_EQ(shown["app"]["tasks"].Size(), 1u);
  EXPECT_FALSE(parseBody(call("GET", "/v2/apps/other"))["app"].HasMember("lastTaskFailure"));

  Document queue = parseBody(call("GET", "/v2/queue"));
  ASSERT_EQ(queue["queue"].Size(), 1u);
  const auto& entry = queue["queue"][0];
  EXPECT_EQ(memberNames(entry), (std::vector<std::string>{"app", "count", "delay", "processedOffersSummary", "since"}));
  EXPECT_EQ(str(entry["app"]["id"]), "/team/web");
  EXPECT_EQ(str(entry["app"]["version"]), tasks.version);
  EXPECT_DOUBLE_EQ(entry["app"]["mem"].GetDouble(), 256);
  EXPECT_FALSE(entry["app"].HasMember("tasks"));
  EXPECT_EQ(entry["count"].GetInt(), 1);
  EXPECT_EQ(entry["delay"]["timeLeftSeconds"].GetInt(), 1);
  EXPECT_FALSE(entry["delay"]["overdue"].GetBool());
  EXPECT_EQ(str(entry["since"]), "2023-11-14T22:13:21.500Z");

  clock_.advance(999ms);
  queue = parseBody(call("GET", "/v2/queue"));
  ASSERT_EQ(queue["queue"].Size(), 1u);
  EXPECT_EQ(queue["queue"][0]["delay"]["timeLeftSeconds"].GetInt(), 0);
  clock_.advance(1ms);
  EXPECT_EQ(parseBody(call("GET", "/v2/queue"))["queue"].Size(), 0u);
  app = *marathon_->app("/team/web");
  ASSERT_EQ(app.tasks.size(), 2u);
  EXPECT_EQ(app.tasks_queued, 0);
  EXPECT_FALSE(app.launch_delayed_until);
  const FakeTask& replacement = app.tasks[1];
  EXPECT_NE(replacement.id, tasks.tasks[0].id);
  EXPECT_EQ(replacement.host, "10.0.0.1");  // the failed task's place
  EXPECT_EQ(replacement.version, tasks.version);
  EXPECT_EQ(formatMarathonTime(replacement.started_at), "2023-11-14T22:13:22.500Z");
  EXPECT_TRUE(app.last_task_failure);  // kept until another failure

  // The limit is the container's, in whole MB: 100.7 + 32 MiB.
  ASSERT_TRUE(marathon_->oomKillTask(marathon_->app("/other")->tasks[0].id).ok());
  EXPECT_TRUE(marathon_->app("/other")->last_task_failure->message.starts_with(
      "Memory limit exceeded: Requested: 132MB Maximum Used: 132MB\n"));
}

TEST_F(FakeMarathonTest, OomKillDuringADeploymentUsesTheTasksOwnLimit) {
  const std::string old_task = taskIds("/team/web")[0];
  ASSERT_EQ(call("PUT", "/v2/apps/team/web", R"({"mem": 992})").status, 200);
  ASSERT_TRUE(marathon_->oomKillTask(old_task).ok());
  EXPECT_TRUE(
      marathon_->app("/team/web")->last_task_failure->message.starts_with("Memory limit exceeded: Requested: 288MB "));
  clock_.advance(10s);  // the deployment replaces every task, the queued one too
  auto app = *marathon_->app("/team/web");
  EXPECT_EQ(app.tasks.size(), 2u);
  EXPECT_EQ(app.tasks_queued, 0);
  EXPECT_EQ(parseBody(call("GET", "/v2/queue"))["queue"].Size(), 0u);
  ASSERT_TRUE(marathon_->oomKillTask(app.tasks[1].id).ok());
  EXPECT_TRUE(
      marathon_->app("/team/web")
          ->last_task_failure->message.starts_with("Memory limit exceeded: Requested: 1GB Maximum Used: 1GB\n"));
}

TEST_F(FakeMarathonTest, LaunchBackoffGrowsByTheFactorUpToTheMaximum) {
  ASSERT_TRUE(marathon_
                  ->addAppsFromJson(R"({"id": "/crashy", "cmd": "crash", "backoffSeconds": 10, "backoffFactor": 2,
                                        "maxLaunchDelaySeconds": 35})",
                                    "test")
                  .ok());
  auto waitingSeconds = [&] {
    Document queue = parseBody(call("GET", "/v2/queue"));
    return queue["queue"].Size() == 1 ? queue["queue"][0]["delay"]["timeLeftSeconds"].GetInt() : -1;
  };
  auto failOnce = [&] { ASSERT_TRUE(marathon_->failTask(taskIds("/crashy").at(0), "TASK_FAILED", "exit 1").ok()); };
  for (const int expected : {10, 20, 35, 35}) {
    SCOPED_TRACE(expected);
    failOnce();
    EXPECT_EQ(waitingSeconds(), expected);
    EXPECT_EQ(marathon_->app("/crashy")->tasks.size(), 0u);
    clock_.advance(std::chrono::seconds(expected));
    EXPECT_EQ(waitingSeconds(), -1);
    EXPECT_EQ(marathon_->app("/crashy")->tasks.size(), 1u);
  }
  const auto failure = marathon_->app("/crashy")->last_task_failure;
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->message, "exit 1");

  // A killed task is replaced at once, neither recorded nor delayed.
  ASSERT_TRUE(marathon_->failTask(taskIds("/crashy").at(0), "TASK_KILLED", "killed").ok());
  EXPECT_EQ(waitingSeconds(), -1);
  EXPECT_EQ(marathon_->app("/crashy")->tasks.size(), 1u);
  EXPECT_EQ(marathon_->app("/crashy")->last_task_failure->task_id, failure->task_id);
  failOnce();
  EXPECT_EQ(waitingSeconds(), 35);  // the delay kept growing, capped

  // A back-off not used for its delay plus the maximum is forgotten.
  clock_.advance(35s + 35s);
  failOnce();
  EXPECT_EQ(waitingSeconds(), 35);
  clock_.advance(35s + 35s + 1ms);
  failOnce();
  EXPECT_EQ(waitingSeconds(), 10);
}

TEST_F(FakeMarathonTest, ANewConfigStartsWithoutBackoffAndScalingKeepsIt) {
  auto waitingSeconds = [&] {
    Document queue = parseBody(call("GET", "/v2/queue"));
    return queue["queue"].Size() == 1 ? queue["queue"][0]["delay"]["timeLeftSeconds"].GetInt() : -1;
  };
  auto failFirst = [&] { ASSERT_TRUE(marathon_->failTask(taskIds("/team/web").at(0), "TASK_FAILED", "exit 1").ok()); };
  failFirst();
  clock_.advance(1s);
  failFirst();
  EXPECT_EQ(waitingSeconds(), 1);  // 1.15 s

  ASSERT_EQ(call("PUT", "/v2/apps/team/web", R"({"instances": 3})").status, 200);
  EXPECT_EQ(waitingSeconds(), 1);
  clock_.advance(10s);
  failFirst();
  EXPECT_EQ(waitingSeconds(), 1);  // 1.3225 s: scaling kept the back-off
  clock_.advance(2s);

  failFirst();
  ASSERT_EQ(waitingSeconds(), 1);
  ASSERT_EQ(call("PUT", "/v2/apps/team/web", R"({"cpus": 0.25})").status, 200);
  EXPECT_EQ(waitingSeconds(), -1);  // the waiting task launches at once
  EXPECT_EQ(marathon_->app("/team/web")->tasks.size(), 3u);
  clock_.advance(10s);
  failFirst();
  EXPECT_EQ(marathon_->app("/team/web")->launch_delayed_until, clock_.now() + 1s);  // backoffSeconds again
}

TEST_F(FakeMarathonTest, HealthChecksCountHealthyAndUnhealthyTasks) {
  ASSERT_TRUE(marathon_->addApp({.id = "/api", .instances = 3, .health_checks = true}).ok());
  auto counts = [&](const std::string& target) {
    Document body = parseBody(call("GET", target));
    const auto& app = body["apps"][0];
    EXPECT_EQ(str(app["id"]), "/api");
    return std::vector<int>{app["tasksStaged"].GetInt(), app["tasksRunning"].GetInt(), app["tasksHealthy"].GetInt(),
                            app["tasksUnhealthy"].GetInt()};
  };
  using Counts = std::vector<int>;
  EXPECT_EQ(counts("/v2/apps"), (Counts{0, 3, 3, 0}));
  Document shown = parseBody(call("GET", "/v2/apps/api"));
  const auto& check = shown["app"]["healthChecks"][0];
  EXPECT_EQ(str(check["protocol"]), "HTTP");
  EXPECT_EQ(str(check["path"]), "/health");
  EXPECT_EQ(check["portIndex"].GetInt(), 0);

  const auto ids = taskIds("/api");
  clock_.advance(5s);
  ASSERT_TRUE(marathon_->setTaskHealth(ids[1], false).ok());
  for (const char* target : {"/v2/apps", "/v2/apps?embed=apps.counts", "/v2/apps?embed=apps.tasks"}) {
    EXPECT_EQ(counts(target), (Counts{0, 3, 2, 1})) << target;
  }
  clock_.advance(5s);
  ASSERT_TRUE(marathon_->setTaskHealth(ids[1], false).ok());
  Document body = parseBody(call("GET", "/v2/apps?embed=apps.tasks&embed=apps.taskStats"));
  const auto& app = body["apps"][0];
  EXPECT_EQ(app["taskStats"]["totalSummary"]["stats"]["counts"]["healthy"].GetInt(), 2);
  EXPECT_EQ(app["taskStats"]["totalSummary"]["stats"]["counts"]["unhealthy"].GetInt(), 1);
  const auto& sick = app["tasks"][1]["healthCheckResults"][0];
  EXPECT_EQ(str(app["tasks"][1]["id"]), ids[1]);
  EXPECT_FALSE(sick["alive"].GetBool());
  EXPECT_EQ(sick["consecutiveFailures"].GetInt(), 2);
  EXPECT_EQ(str(sick["lastFailure"]), "2023-11-14T22:13:30Z");
  EXPECT_EQ(str(sick["lastSuccess"]), "2023-11-14T22:13:25Z");
  EXPECT_TRUE(sick["lastFailureCause"].IsString());
  const auto& well = app["tasks"][0]["healthCheckResults"][0];
  EXPECT_TRUE(well["alive"].GetBool());
  EXPECT_EQ(well["consecutiveFailures"].GetInt(), 0);
  EXPECT_TRUE(well["lastFailure"].IsNull());
  EXPECT_EQ(str(well["lastSuccess"]), "2023-11-14T22:13:30Z");
  EXPECT_EQ(parseBody(call("GET", "/v2/apps/api"))["app"]["tasksUnhealthy"].GetInt(), 1);

  ASSERT_TRUE(marathon_->setTaskHealth(ids[1], true).ok());
  EXPECT_EQ(counts("/v2/apps"), (Counts{0, 3, 3, 0}));
  ASSERT_TRUE(marathon_->setTaskHealth(ids[2], false).ok());
  ASSERT_TRUE(marathon_->failTask(ids[2], "TASK_KILLED", "").ok());
  EXPECT_EQ(counts("/v2/apps"), (Counts{0, 3, 3, 0}));  // replaced at once by a healthy task

  const Status unchecked = marathon_->setTaskHealth(taskIds("/team/web")[0], false);
  ASSERT_FALSE(unchecked.ok());
  EXPECT_NE(unchecked.error().message().find("/team/web' has no health checks"), std::string::npos)
      << unchecked.error().message();
  EXPECT_EQ(parseBody(call("GET", "/v2/apps/team/web"))["app"]["tasksUnhealthy"].GetInt(), 0);
}

TEST_F(FakeMarathonTest, FailTaskRefusesUnknownTasksAndStatesThatAreNotTerminal) {
  const Status unknown = marathon_->failTask("no-such-task", "TASK_FAILED", "x");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message().find("'no-such-task'"), std::string::npos) << unknown.error().message();
  const std::string id = taskIds("/team/web")[0];
  const Status running = marathon_->failTask(id, "TASK_RUNNING", "x");
  ASSERT_FALSE(running.ok());
  EXPECT_NE(running.error().message().find("'TASK_RUNNING' is not a terminal"), std::string::npos)
      << running.error().message();
  EXPECT_FALSE(marathon_->oomKillTask("no-such-task").ok());
  EXPECT_FALSE(marathon_->setTaskHealth("no-such-task", true).ok());
  EXPECT_EQ(taskIds("/team/web").size(), 2u);
  EXPECT_FALSE(marathon_->app("/team/web")->last_task_failure);
  EXPECT_EQ(parseBody(call("GET", "/v2/queue"))["queue"].Size(), 0u);
  EXPECT_EQ(call("POST", "/v2/queue").status, 405);

  // Every Marathon failure state is recorded; TASK_FINISHED is not.
  ASSERT_TRUE(marathon_->failTask(id, "TASK_FINISHED", "exit 0").ok());
  EXPECT_FALSE(marathon_->app("/team/web")->last_task_failure);
  EXPECT_EQ(marathon_->app("/team/web")->tasks_queued, 1);  // and delayed as a failure
  ASSERT_TRUE(marathon_->failTask(taskIds("/team/web")[0], "TASK_LOST", "agent gone").ok());
  EXPECT_EQ(marathon_->app("/team/web")->last_task_failure->state, "TASK_LOST");
}

TEST_F(FakeMarathonTest, FiltersAppsByIdCmdLabelAndGroup) {
  ASSERT_TRUE(marathon_->addApp({.id = "/team/db", .cmd = "postgres", .labels = {{"tier", "db"}}}).ok());
  ASSERT_TRUE(marathon_->addApp({.id = "/other", .cmd = "java -jar x", .labels = {{"tier", "front end"}}}).ok());
  auto ids = [&](const std::string& target) {
    std::vector<std::string> out;
    Document body = parseBody(call("GET", target));
    for (const auto& app : body["apps"].GetArray()) out.push_back(str(app["id"]));
    return out;
  };
  using Ids = std::vector<std::string>;
  EXPECT_EQ(ids("/v2/apps?id=team"), (Ids{"/team/db", "/team/web"}));
  EXPECT_EQ(ids("/v2/apps?cmd=java"), (Ids{"/other"}));
  EXPECT_EQ(ids("/v2/apps?label=tier"), (Ids{"/other", "/team/db"}));
  EXPECT_EQ(ids("/v2/apps?label=tier%3D%3Ddb"), (Ids{"/team/db"}));
  EXPECT_EQ(ids("/v2/apps?label=tier!%3Ddb"), (Ids{"/other"}));
  EXPECT_EQ(ids("/v2/apps?label=tier+in+(db,+front\\+end)"), (Ids{"/other", "/team/db"}));
  EXPECT_EQ(ids("/v2/apps?label=tier+notin+(db),rightsize.enabled"), Ids{});
  EXPECT_EQ(ids("/v2/apps?label=rightsize.enabled%3D%3Dtrue"), (Ids{"/team/web"}));
  EXPECT_EQ(ids("/v2/apps/team/*"), (Ids{"/team/db", "/team/web"}));
  EXPECT_EQ(call("GET", "/v2/apps?label=tier+in+(db").status, 400);
}

TEST_F(FakeMarathonTest, PutOfCpusAndMemDeploysLocksAndReplacesTasks) {
  const auto old_tasks = taskIds("/team/web");
  clock_.advance(1s);
  const HttpResponse put = call("PUT", "/v2/apps/team/web", R"({"cpus": 0.25, "mem": 512})");
  ASSERT_EQ(put.status, 200) << put.body;
  Document result = parseBody(put);
  ASSERT_EQ(result.MemberCount(), 2u) << put.body;
  const std::string version = str(result["version"]);
  const std::string deployment_id = str(result["deploymentId"]);
  EXPECT_EQ(version, "2023-11-14T22:13:21Z");
  EXPECT_EQ(header(put, "Marathon-Deployment-Id"), deployment_id);

  // The definition changes at once; the tasks run the old one until the end.
  auto app = marathon_->app("/team/web");
  ASSERT_TRUE(app);
  EXPECT_DOUBLE_EQ(app->cpus, 0.25);
  EXPECT_DOUBLE_EQ(app->mem_mib, 512);
  EXPECT_EQ(app->instances, 2);
  EXPECT_EQ(app->labels.at("rightsize.enabled"), "true");  // not in the body: kept
  EXPECT_EQ(app->version, version);
  EXPECT_EQ(app->last_config_change_at, version);
  EXPECT_EQ(app->deployment_ids, std::vector<std::string>{deployment_id});
  EXPECT_EQ(taskIds("/team/web"), old_tasks);
  EXPECT_EQ(app->tasks[0].version, "2023-11-14T22:13:20Z");

  Document deployments = parseBody(call("GET", "/v2/deployments"));
  ASSERT_EQ(deployments.Size(), 1u);
  const auto& d = deployments[0];
  EXPECT_EQ(str(d["id"]), deployment_id);
  EXPECT_EQ(str(d["version"]), version);
  EXPECT_EQ(str(d["affectedApps"][0]), "/team/web");
  EXPECT_TRUE(d["affectedPods"].IsArray());
  EXPECT_EQ(str(d["steps"][0]["actions"][0]["action"]), "RestartApplication");
  EXPECT_EQ(str(d["steps"][0]["actions"][0]["app"]), "/team/web");
  EXPECT_EQ(str(d["currentActions"][0]["action"]), "RestartApplication");
  EXPECT_EQ(str(d["currentActions"][0]["app"]), "/team/web");
  EXPECT_TRUE(d["currentActions"][0]["readinessCheckResults"].IsArray());
  EXPECT_EQ(d["currentStep"].GetInt(), 1);
  EXPECT_EQ(d["totalSteps"].GetInt(), 1);
  Document shown = parseBody(call("GET", "/v2/apps/team/web"));
  EXPECT_EQ(str(shown["app"]["deployments"][0]["id"]), deployment_id);

  const HttpResponse locked = call("PUT", "/v2/apps/team/web", R"({"cpus": 0.3})");
  EXPECT_EQ(locked.status, 409);
  EXPECT_EQ(locked.body, std::string(kLockedPrefix) + deployment_id + R"("}]})");
  EXPECT_EQ(call("POST", "/v2/apps/team/web/restart").status, 409);
  EXPECT_EQ(call("DELETE", "/v2/apps/team/web").status, 409);
  EXPECT_DOUBLE_EQ(marathon_->app("/team/web")->cpus, 0.25);

  clock_.advance(9999ms);
  EXPECT_EQ(marathon_->deployments().size(), 1u);
  clock_.advance(1ms);
  EXPECT_EQ(parseBody(call("GET", "/v2/deployments")).Size(), 0u);
  app = marathon_->app("/team/web");
  EXPECT_TRUE(app->deployment_ids.empty());
  ASSERT_EQ(app->tasks.size(), 2u);
  for (const auto& task : app->tasks) {
    EXPECT_EQ(std::count(old_tasks.begin(), old_tasks.end(), task.id), 0) << task.id;
    EXPECT_EQ(task.version, version);
    EXPECT_EQ(formatMarathonTime(task.started_at), "2023-11-14T22:13:31Z");
  }
  EXPECT_EQ(app->tasks[0].host, "10.0.0.1");  // instances keep their places
  const auto finished = marathon_->finishedDeployments();
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_EQ(finished[0].id, deployment_id);
  EXPECT_EQ(finished[0].end, FinishedDeployment::End::kSucceeded);
  EXPECT_EQ(marathon_->puts("/team/web").accepted, 1u);
  EXPECT_EQ(marathon_->puts("team/web").refused, 1u);

  EXPECT_EQ(call("PUT", "/v2/apps/team/web", R"({"cpus": 0.3})").status, 200);  // unlocked
}

// What a sizer following its deployments relies on (docs/sizer.md, "Marathon"): GET
// /v2/deployments lists each running deployment with the fields of the RAML
// DeploymentStepInfo, and one that ended, however it ended, is no longer
// listed, the app then showing what it runs.
TEST_F(FakeMarathonTest, DeploymentsListWhatRunsAndDropWhatEnded) {
  ASSERT_TRUE(marathon_->addApp({.id = "/team/db", .cpus = 1, .mem_mib = 512}).ok());
  marathon_->setDeploymentOutcome("/team/db", DeploymentOutcome::kFail);
  const std::string web = str(parseBody(call("PUT", "/v2/apps/team/web", R"({"cpus": 0.25})"))["deploymentId"]);
  clock_.advance(2s);
  const std::string db = str(parseBody(call("PUT", "/v2/apps/team/db", R"({"mem": 1024})"))["deploymentId"]);

  Document listed = parseBody(call("GET", "/v2/deployments"));
  ASSERT_TRUE(listed.IsArray());
  ASSERT_EQ(listed.Size(), 2u);
  const std::vector<std::pair<std::string, std::string>> expected = {{web, "/team/web"}, {db, "/team/db"}};
  for (rapidjson::SizeType i = 0; i < listed.Size(); ++i) {
    const auto& d = listed[i];
    std::vector<std::string> fields;
    for (const auto& member : d.GetObject()) fields.emplace_back(member.name.GetString());
    std::sort(fields.begin(), fields.end());
    EXPECT_EQ(fields, (std::vector<std::string>{"affectedApps", "affectedPods", "currentActions", "currentStep", "id",
                                                "steps", "totalSteps", "version"}));
    EXPECT_EQ(str(d["id"]), expected[i].first);
    ASSERT_EQ(d["affectedApps"].Size(), 1u);
    EXPECT_EQ(str(d["affectedApps"][0]), expected[i].second);
  }

  clock_.advance(8s);  // the first has run its 10 s, not the second
  listed = parseBody(call("GET", "/v2/deployments"));
  ASSERT_EQ(listed.Size(), 1u);
  EXPECT_EQ(str(listed[0]["id"]), db);
  EXPECT_DOUBLE_EQ(marathon_->app("/team/web")->cpus, 0.25);
  EXPECT_DOUBLE_EQ(marathon_->app("/team/db")->mem_mib, 1024);  // changed at once, while it runs

  clock_.advance(2s);  // the second fails: rolled back, and gone from the list too
  EXPECT_EQ(parseBody(call("GET", "/v2/deployments")).Size(), 0u);
  EXPECT_DOUBLE_EQ(marathon_->app("/team/db")->mem_mib, 512);
  Document app = parseBody(call("GET", "/v2/apps/team/db"));
  EXPECT_TRUE(app["app"]["deployments"].Empty());
}

TEST_F(FakeMarathonTest, PartialUpdateIsTheDefaultAndReadOnlyFieldsAreIgnored) {
  // What a client sends when it puts back the app it read, cpus changed.
  Document read = parseBody(call("GET", "/v2/apps/team/web?embed=app.tasks"));
  rapidjson::Value& sent = read["app"];
  sent["cpus"] = 0.75;
  sent.RemoveMember("version");
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  sent.Accept(writer);
  ASSERT_EQ(call("PUT", "/v2/apps/team/web", buffer.GetString()).status, 200);
  Document after = parseBody(call("GET", "/v2/apps/team/web"));
  EXPECT_DOUBLE_EQ(after["app"]["cpus"].GetDouble(), 0.75);
  EXPECT_EQ(after["app"]["portDefinitions"][0]["port"].GetInt(), 10000);
  EXPECT_EQ(marathon_->deployments()[0].actions, std::vector<std::string>{"RestartApplication"});
  clock_.advance(10s);

  // partialUpdate=false: the body is the whole app, the rest takes defaults.
  ASSERT_EQ(call("PUT", "/v2/apps/team/web?partialUpdate=false", R"({"cmd": "sleep 60", "cpus": 0.5})").status, 200);
  auto app = marathon_->app("/team/web");
  EXPECT_TRUE(app->labels.empty());
  EXPECT_DOUBLE_EQ(app->mem_mib, 128);
  EXPECT_EQ(app->instances, 1);
  EXPECT_EQ(app->cmd, "sleep 60");
}

TEST_F(FakeMarathonTest, ChangingOnlyInstancesScalesAndKeepsTasks) {
  const auto old_tasks = taskIds("/team/web");
  const std::string config_change = marathon_->app("/team/web")->last_config_change_at;
  ASSERT_EQ(call("PUT", "/v2/apps/team/web", R"({"instances": 3})").status, 200);
  ASSERT_EQ(marathon_->deployments().size(), 1u);
  EXPECT_EQ(marathon_->deployments()[0].actions, std::vector<std::string>{"ScaleApplication"});
  clock_.advance(10s);
  auto app = marathon_->app("/team/web");
  ASSERT_EQ(app->tasks.size(), 3u);
  EXPECT_EQ(app->tasks[0].id, old_tasks[0]);
  EXPECT_EQ(app->tasks[1].id, old_tasks[1]);
  EXPECT_EQ(app->tasks[2].host, "10.0.0.1");
  EXPECT_EQ(app->last_config_change_at, config_change);
  EXPECT_NE(app->last_scaling_at, config_change);

  ASSERT_EQ(call("PUT", "/v2/apps/team/web", R"({"instances": 1})").status, 200);
  clock_.advance(10s);
  EXPECT_EQ(taskIds("/team/web"), std::vector<std::string>{old_tasks[0]});  // youngest killed first
}

TEST_F(FakeMarathonTest, PutWithoutChangeGivesADeploymentThatEndsAtOnce) {
  const std::string version = marathon_->app("/team/web")->version;
  const HttpResponse put = call("PUT", "/v2/apps/team/web", R"({"cpus": 0.5, "mem": 256})");
  ASSERT_EQ(put.status, 200);
  EXPECT_FALSE(str(parseBody(put)["deploymentId"]).empty());
  EXPECT_TRUE(marathon_->deployments().empty());
  EXPECT_EQ(marathon_->app("/team/web")->version, version);
  EXPECT_EQ(call("PUT", "/v2/apps/team/web", R"({"cpus": 0.4})").status, 200);  // not locked
}

TEST_F(FakeMarathonTest, FailedDeploymentRollsBackAndKeepsTasks) {
  const auto before = *marathon_->app("/team/web");
  marathon_->setDeploymentOutcome("/team/web", DeploymentOutcome::kFail);
  ASSERT_EQ(call("PUT", "/v2/apps/team/web", R"({"cpus": 2})").status, 200);
  EXPECT_DOUBLE_EQ(marathon_->app("/team/web")->cpus, 2);
  clock_.advance(10s);
  const auto after = *marathon_->app("/team/web");
  EXPECT_DOUBLE_EQ(after.cpus, 0.5);
  EXPECT_EQ(after.version, before.version);
  EXPECT_EQ(after.last_config_change_at, before.last_config_change_at);
  EXPECT_EQ(taskIds("/team/web"), std::vector<std::string>({before.tasks[0].id, before.tasks[1].id}));
  EXPECT_TRUE(after.deployment_ids.empty());
  ASSERT_EQ(marathon_->finishedDeployments().size(), 1u);
  EXPECT_EQ(marathon_->finishedDeployments()[0].end, FinishedDeployment::End::kFailed);
}

TEST_F(FakeMarathonTest, NeverEndingDeploymentIsOverriddenWithForce) {
  marathon_->setDeploymentOutcome("", DeploymentOutcome::kNeverFinish);
  Document first = parseBody(call("PUT", "/v2/apps/team/web", R"({"cpus": 0.25})"));
  const std::string stuck = str(first["deploymentId"]);
  clock_.advance(24h);
  ASSERT_EQ(marathon_->deployments().size(), 1u);
  EXPECT_FALSE(marathon_->deployments()[0].ends_at);
  EXPECT_EQ(call("PUT", "/v2/apps/team/web", R"({"cpus": 0.3})").status, 409);

  marathon_->setDeploymentOutcome("", DeploymentOutcome::kSucceed);
  const HttpResponse forced = call("PUT", "/v2/apps/team/web?force=true", R"({"cpus": 0.3})");
  ASSERT_EQ(forced.status, 200) << forced.body;
  const std::string replacement = str(parseBody(forced)["deploymentId"]);
  ASSERT_EQ(marathon_->deployments().size(), 1u);
  EXPECT_EQ(marathon_->deployments()[0].id, replacement);
  ASSERT_EQ(marathon_->finishedDeployments().size(), 1u);
  EXPECT_EQ(marathon_->finishedDeployments()[0].id, stuck);
  EXPECT_EQ(marathon_->finishedDeployments()[0].end, FinishedDeployment::End::kCanceled);
  clock_.advance(10s);
  EXPECT_TRUE(marathon_->deployments().empty());
  EXPECT_DOUBLE_EQ(marathon_->app("/team/web")->cpus, 0.3);

  marathon_->setDeploymentOutcome("/team/web", DeploymentOutcome::kNeverFinish);
  const std::string again = str(parseBody(call("PUT", "/v2/apps/team/web", R"({"cpus": 0.4})"))["deploymentId"]);
  EXPECT_TRUE(marathon_->setRunningDeploymentOutcome(again, DeploymentOutcome::kSucceed));
  EXPECT_FALSE(marathon_->setRunningDeploymentOutcome("no-such-deployment", DeploymentOutcome::kSucceed));
  clock_.advance(10s);
  EXPECT_TRUE(marathon_->deployments().empty());
}

TEST_F(FakeMarathonTest, DeletingADeploymentRevertsItAndForceOnlyCancels) {
  const std::string changed = str(parseBody(call("PUT", "/v2/apps/team/web", R"({"cpus": 0.25})"))["deploymentId"]);
  const HttpResponse reverted = call("DELETE", "/v2/deployments/" + changed);
  ASSERT_EQ(reverted.status, 200) << reverted.body;
  const std::string rollback = str(parseBody(reverted)["deploymentId"]);
  EXPECT_NE(rollback, changed);
  EXPECT_DOUBLE_EQ(marathon_->app("/team/web")->cpus, 0.5);
  ASSERT_EQ(marathon_->deployments().size(), 1u);
  EXPECT_EQ(marathon_->deployments()[0].id, rollback);
  EXPECT_EQ(marathon_->deployments()[0].actions, std::vector<std::string>{"RestartApplication"});
  ASSERT_EQ(marathon_->finishedDeployments().size(), 1u);
  EXPECT_EQ(marathon_->finishedDeployments()[0].end, FinishedDeployment::End::kRolledBack);

  const HttpResponse canceled = call("DELETE", "/v2/deployments/" + rollback + "?force=true");
  EXPECT_EQ(canceled.status, 202);
  EXPECT_TRUE(canceled.body.empty());
  EXPECT_TRUE(marathon_->deployments().empty());
  EXPECT_EQ(marathon_->finishedDeployments().back().end, FinishedDeployment::End::kCanceled);

  const HttpResponse missing = call("DELETE", "/v2/deployments/" + rollback);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, R"({"message":"DeploymentPlan )" + rollback + R"( does not exist"})");
}

TEST_F(FakeMarathonTest, UnknownAppsAre404AndPutCreatesThem) {
  const HttpResponse missing = call("GET", "/v2/apps/x");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, R"({"message":"App '/x' does not exist"})");
  EXPECT_EQ(call("GET", "/v2/apps/x/tasks").status, 404);
  EXPECT_EQ(call("PATCH", "/v2/apps/x", R"({"cpus": 1})").status, 404);
  EXPECT_EQ(call("GET", "/v3/nothing").body, R"({"message":"URI not found: /v3/nothing"})");
  EXPECT_EQ(call("POST", "/v2/deployments").status, 405);

  const HttpResponse created = call("PUT", "/v2/apps/new/app", R"({"cmd": "sleep 1", "instances": 2})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(header(created, "Location"), "/v2/apps/new/app");
  auto app = marathon_->app("/new/app");
  ASSERT_TRUE(app);
  EXPECT_TRUE(app->tasks.empty());
  EXPECT_EQ(marathon_->deployments()[0].actions, (std::vector<std::string>{"StartApplication", "ScaleApplication"}));
  clock_.advance(10s);
  EXPECT_EQ(marathon_->app("/new/app")->tasks.size(), 2u);

  const HttpResponse deleted = call("DELETE", "/v2/apps/new/app");
  ASSERT_EQ(deleted.status, 200);
  EXPECT_FALSE(marathon_->app("/new/app"));
  EXPECT_EQ(call("GET", "/v2/apps/new/app").status, 404);
  EXPECT_EQ(call("PUT", "/v2/apps/new/app", R"({"cmd": "sleep 1"})").status, 409);  // still stopping
  clock_.advance(10s);
  EXPECT_EQ(call("PUT", "/v2/apps/new/app", R"({"cmd": "sleep 1"})").status, 201);

  const HttpResponse posted = call("POST", "/v2/apps", R"({"id": "/posted", "cmd": "sleep 2"})");
  ASSERT_EQ(posted.status, 201) << posted.body;
  EXPECT_EQ(str(parseBody(posted)["id"]), "/posted");
  EXPECT_EQ(call("POST", "/v2/apps", R"({"id": "/posted", "cmd": "sleep 2"})").body,
            R"({"message":"An app with id [/posted] already exists."})");
}

TEST_F(FakeMarathonTest, InvalidDefinitionsAre422OrInvalidJson400) {
  const HttpResponse negative = call("PUT", "/v2/apps/team/web", R"({"cpus": -1})");
  EXPECT_EQ(negative.status, 422);
  EXPECT_EQ(
      negative.body,
      R"({"message":"Object is not valid","details":[{"path":"/cpus","errors":["got -1.0, expected 0.001 or more"]}]})");
  EXPECT_EQ(call("PUT", "/v2/apps/team/web", R"({"cpus": 0})").status, 422);  // App.cpus: minimum 0.001
  const HttpResponse several = call("PUT", "/v2/apps/team/web", R"({"mem": -5, "instances": -1})");
  Document details = parseBody(several);
  ASSERT_EQ(details["details"].Size(), 2u);
  EXPECT_EQ(str(details["details"][0]["path"]), "/instances");
  EXPECT_EQ(str(details["details"][0]["errors"][0]), "got -1, expected 0 or more");
  EXPECT_EQ(str(details["details"][1]["path"]), "/mem");

  const HttpResponse wrong_type = call("PUT", "/v2/apps/team/web", R"({"cpus": "0.3"})");
  EXPECT_EQ(wrong_type.status, 400);
  EXPECT_EQ(wrong_type.body,
            R"({"message":"Invalid JSON","details":[{"path":"/cpus","errors":["error.expected.jsnumber"]}]})");
  EXPECT_EQ(call("PUT", "/v2/apps/team/web", "{").status, 400);
  EXPECT_EQ(call("PUT", "/v2/apps/team/web", "[]").status, 400);

  Document bad_id = parseBody(call("PUT", "/v2/apps/Team/Web_1", R"({"cmd": "x"})"));
  EXPECT_EQ(str(bad_id["details"][0]["path"]), "/id");
  Document both = parseBody(call("PUT", "/v2/apps/both", R"({"cmd": "x", "args": ["y"]})"));
  EXPECT_EQ(str(both["details"][0]["path"]), "/");
  EXPECT_EQ(str(both["details"][0]["errors"][0]),
            "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.");

  EXPECT_DOUBLE_EQ(marathon_->app("/team/web")->cpus, 0.5);
  EXPECT_TRUE(marathon_->deployments().empty());
  EXPECT_EQ(marathon_->puts("/team/web").refused, 6u);
  EXPECT_EQ(marathon_->puts("/team/web").accepted, 0u);

  EXPECT_FALSE(marathon_->addApp({.id = "/neg", .cpus = -1}).ok());
  EXPECT_NE(marathon_->addApp({.id = "/neg", .mem_mib = -1}).error().message().find("/mem"), std::string::npos);
  EXPECT_NE(marathon_->addApp({.id = "/team/web"}).error().message().find("already exists"), std::string::npos);
  EXPECT_FALSE(marathon_->addApp({.id = "UPPER"}).ok());
}

// Marathon 1.10's resourceLimits (resources.raml ResourceLimits): served as
// Marathon writes them, numbers as numbers and "unlimited" as a string, other
// keys dropped, absent when the app has none; a change restarts the tasks.
TEST_F(FakeMarathonTest, ResourceLimitsAreServedAsMarathonWritesThem) {
  const HttpResponse created = call(
      "POST", "/v2/apps",
      R"({"id": "/burst", "cmd": "x", "cpus": 1, "mem": 256, "resourceLimits": {"cpus": 2, "mem": "unlimited", "disk": 5}})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_NE(created.body.find(R"("resourceLimits":{"cpus":2.0,"mem":"unlimited"})"), std::string::npos) << created.body;
  const HttpResponse shown = call("GET", "/v2/apps/burst");
  EXPECT_NE(shown.body.find(R"("resourceLimits":{"cpus":2.0,"mem":"unlimited"})"), std::string::npos) << shown.body;
  Document listed = parseBody(call("GET", "/v2/apps?embed=apps.tasks"));
  ASSERT_EQ(listed["apps"].Size(), 2u);
  EXPECT_EQ(str(listed["apps"][0]["id"]), "/burst");
  EXPECT_DOUBLE_EQ(listed["apps"][0]["resourceLimits"]["cpus"].GetDouble(), 2);
  EXPECT_EQ(str(listed["apps"][0]["resourceLimits"]["mem"]), "unlimited");
  EXPECT_FALSE(listed["apps"][1].HasMember("resourceLimits"));  // /team/web has none
  const std::string first = marathon_->app("/burst")->version;
  Document version = parseBody(call("GET", "/v2/apps/burst/versions/" + first));
  EXPECT_EQ(str(version["resourceLimits"]["mem"]), "unlimited");
  const auto app = marathon_->app("/burst");
  ASSERT_TRUE(app->resource_limits);
  EXPECT_EQ(*app->resource_limits,
            (FakeResourceLimits{.cpus = 2.0, .mem_mib = std::numeric_limits<double>::infinity()}));
  EXPECT_FALSE(marathon_->app("/team/web")->resource_limits);

  // A new limit alone is a config change: a new version, the tasks restarted.
  clock_.advance(10s);
  const auto old_tasks = taskIds("/burst");
  const HttpResponse changed = call("PUT", "/v2/apps/burst", R"({"resourceLimits": {"mem": 512}})");
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(marathon_->deployments()[0].actions, std::vector<std::string>{"RestartApplication"});
  EXPECT_NE(call("GET", "/v2/apps/burst").body.find(R"("resourceLimits":{"mem":512.0})"), std::string::npos);
  EXPECT_EQ(marathon_->app("/burst")->last_config_change_at, str(parseBody(changed)["version"]));
  clock_.advance(10s);
  EXPECT_NE(taskIds("/burst"), old_tasks);
  ASSERT_EQ(call("PUT", "/v2/apps/burst", R"({"resourceLimits": {}})").status, 200);
  EXPECT_NE(call("GET", "/v2/apps/burst").body.find(R"("resourceLimits":{})"), std::string::npos);
  EXPECT_EQ(marathon_->app("/burst")->resource_limits, FakeResourceLimits{});

  ASSERT_TRUE(marathon_
                  ->addApp({.id = "/spec",
                            .cpus = 1,
                            .mem_mib = 256,
                            .resource_limits = FakeResourceLimits{.cpus = std::numeric_limits<double>::infinity()}})
                  .ok());
  EXPECT_NE(call("GET", "/v2/apps/spec").body.find(R"("resourceLimits":{"cpus":"unlimited"})"), std::string::npos);
}

// Each refusal with Marathon's body: the RAML reader's 400s, then
// AppValidation.validResourceLimits' 422s (messages and paths from
// mesosphere/marathon's AppValidation.scala and AppValidationTest.scala).
TEST_F(FakeMarathonTest, BadResourceLimitsAre422OrInvalidJson400) {
  auto refused = [this](const std::string& body) { return call("PUT", "/v2/apps/team/web", body); };
  const HttpResponse below_cpus = refused(R"({"resourceLimits": {"cpus": 0.25}})");
  EXPECT_EQ(below_cpus.status, 422);
  EXPECT_EQ(
      below_cpus.body,
      R"json({"message":"Object is not valid","details":[{"path":"/resourceLimits/cpus","errors":["resource limit must be greater than or equal to requested resource (0.5)"]}]})json");
  const HttpResponse negative_mem = refused(R"({"resourceLimits": {"mem": -1}})");
  EXPECT_EQ(negative_mem.status, 422);
  EXPECT_EQ(
      negative_mem.body,
      R"json({"message":"Object is not valid","details":[{"path":"/resourceLimits/mem","errors":["resource limit must be greater than or equal to requested resource (256.0)"]}]})json");
  const HttpResponse infinity = refused(R"({"resourceLimits": {"cpus": "Infinity"}})");
  EXPECT_EQ(infinity.status, 422);
  EXPECT_EQ(
      infinity.body,
      R"({"message":"Object is not valid","details":[{"path":"/resourceLimits/cpus","errors":["'Infinity' is an invalid resource limit. It must be 'unlimited' or a number"]}]})");
  const HttpResponse quoted_number = refused(R"({"resourceLimits": {"mem": "512"}})");
  EXPECT_EQ(quoted_number.status, 422);
  EXPECT_EQ(
      quoted_number.body,
      R"({"message":"Object is not valid","details":[{"path":"/resourceLimits/mem","errors":["'512' is an invalid resource limit. It must be 'unlimited' or a number"]}]})");
  // Scala prints the request as a Double: 10^7 as 1.0E7.
  const HttpResponse large = refused(R"({"mem": 10000000, "resourceLimits": {"mem": 20, "cpus": "UNLIMITED"}})");
  EXPECT_EQ(large.status, 422);
  EXPECT_EQ(
      large.body,
      R"json({"message":"Object is not valid","details":[{"path":"/resourceLimits/cpus","errors":["'UNLIMITED' is an invalid resource limit. It must be 'unlimited' or a number"]},{"path":"/resourceLimits/mem","errors":["resource limit must be greater than or equal to requested resource (1.0E7)"]}]})json");

  const HttpResponse boolean = refused(R"({"resourceLimits": {"cpus": true}})");
  EXPECT_EQ(boolean.status, 400);
  EXPECT_EQ(
      boolean.body,
      R"({"message":"Invalid JSON","details":[{"path":"/resourceLimits/cpus","errors":["error.expected.jsnumber"]}]})");
  const HttpResponse array = refused(R"({"resourceLimits": {"mem": [512]}})");
  EXPECT_EQ(array.status, 400);
  EXPECT_EQ(
      array.body,
      R"({"message":"Invalid JSON","details":[{"path":"/resourceLimits/mem","errors":["error.expected.jsnumber"]}]})");
  const HttpResponse not_object = refused(R"({"resourceLimits": "unlimited"})");
  EXPECT_EQ(not_object.status, 400);
  EXPECT_EQ(
      not_object.body,
      R"({"message":"Invalid JSON","details":[{"path":"/resourceLimits","errors":["error.expected.jsobject"]}]})");
  const HttpResponse create =
      call("POST", "/v2/apps", R"({"id": "/low", "cmd": "x", "resourceLimits": {"cpus": 0.5}})");
  EXPECT_EQ(create.status, 422);  // cpus defaults to 1
  EXPECT_NE(create.body.find("requested resource (1.0)"), std::string::npos) << create.body;
  EXPECT_FALSE(marathon_->app("/low"));
  EXPECT_EQ(marathon_->puts("/team/web").refused, 8u);
  EXPECT_TRUE(marathon_->deployments().empty());
  EXPECT_FALSE(marathon_->app("/team/web")->resource_limits);

  // Keys other than cpus and mem are not refused: Marathon's reader drops them.
  ASSERT_EQ(refused(R"({"resourceLimits": {"cpus": 1, "disk": 5, "gpus": "unlimited"}})").status, 200);
  EXPECT_NE(call("GET", "/v2/apps/team/web").body.find(R"("resourceLimits":{"cpus":1.0})"), std::string::npos);

  const Status spec = marathon_->addApp({.id = "/spec", .cpus = 2, .resource_limits = FakeResourceLimits{.cpus = 1}});
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.error().message().find(
                "/resourceLimits/cpus: resource limit must be greater than or equal to requested resource (2.0)"),
            std::string::npos)
      << spec.error().message();
}

// Marathon 1.10 merges a partial update's fields into the app, except
// resourceLimits (AppConversion.appUpdateRamlReader: `resourceLimits =
// update.resourceLimits`): validated on the app merged, and gone when the
// update does not carry them.
TEST_F(FakeMarathonTest, APartialUpdateIsValidatedMergedAndDropsLimitsItDoesNotCarry) {
  ASSERT_TRUE(marathon_
                  ->addApp({.id = "/burst",
                            .cpus = 1,
                            .mem_mib = 256,
                            .resource_limits = FakeResourceLimits{.cpus = 2, .mem_mib = 512}})
                  .ok());
  // The limits against the app's cpus, the body's cpus against the limits.
  const HttpResponse limit_below_app = call("PUT", "/v2/apps/burst", R"({"resourceLimits": {"cpus": 0.5}})");
  EXPECT_EQ(limit_below_app.status, 422);
  EXPECT_NE(limit_below_app.body.find("requested resource (1.0)"), std::string::npos) << limit_below_app.body;
  const HttpResponse cpus_above_limit =
      call("PUT", "/v2/apps/burst", R"({"cpus": 3, "resourceLimits": {"cpus": 2, "mem": 512}})");
  EXPECT_EQ(cpus_above_limit.status, 422);
  EXPECT_EQ(
      cpus_above_limit.body,
      R"json({"message":"Object is not valid","details":[{"path":"/resourceLimits/cpus","errors":["resource limit must be greater than or equal to requested resource (3.0)"]}]})json");
  const HttpResponse patched = call("PATCH", "/v2/apps/burst", R"({"mem": 1024, "resourceLimits": {"mem": 512}})");
  EXPECT_EQ(patched.status, 422);
  EXPECT_NE(patched.body.find("requested resource (1024.0)"), std::string::npos) << patched.body;
  EXPECT_EQ(marathon_->app("/burst")->resource_limits, (FakeResourceLimits{.cpus = 2, .mem_mib = 512}));

  // Sent again with the new request: kept.
  ASSERT_EQ(call("PUT", "/v2/apps/burst", R"({"cpus": 1.5, "resourceLimits": {"cpus": 2, "mem": 512}})").status, 200);
  EXPECT_EQ(marathon_->app("/burst")->resource_limits, (FakeResourceLimits{.cpus = 2, .mem_mib = 512}));
  clock_.advance(10s);
  // Not sent: gone, and cpus above the old limit is no error.
  const HttpResponse raised = call("PUT", "/v2/apps/burst", R"({"cpus": 3})");
  ASSERT_EQ(raised.status, 200) << raised.body;
  EXPECT_FALSE(marathon_->app("/burst")->resource_limits);
  EXPECT_DOUBLE_EQ(marathon_->app("/burst")->cpus, 3);
  EXPECT_FALSE(parseBody(call("GET", "/v2/apps/burst"))["app"].HasMember("resourceLimits"));
  clock_.advance(10s);
  ASSERT_EQ(call("PATCH", "/v2/apps/burst", R"({"resourceLimits": {"cpus": "unlimited"}})").status, 200);
  clock_.advance(10s);
  ASSERT_EQ(call("PATCH", "/v2/apps/burst", R"({"instances": 2})").status, 200);
  EXPECT_FALSE(marathon_->app("/burst")->resource_limits);
  // A client that puts back the app it read keeps them.
  clock_.advance(10s);
  ASSERT_EQ(call("PUT", "/v2/apps/burst", R"({"resourceLimits": {"mem": "unlimited"}})").status, 200);
  clock_.advance(10s);
  Document read = parseBody(call("GET", "/v2/apps/burst"));
  rapidjson::Value& sent = read["app"];
  sent["cpus"] = 4;
  sent.RemoveMember("version");
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  sent.Accept(writer);
  ASSERT_EQ(call("PUT", "/v2/apps/burst", buffer.GetString()).status, 200);
  EXPECT_EQ(marathon_->app("/burst")->resource_limits,
            FakeResourceLimits{.mem_mib = std::numeric_limits<double>::infinity()});
}

// Mesos' memory isolator kills at the container's hard limit: the task's
// resourceLimits.mem and the executor's 32 MiB; an unlimited one has none.
TEST_F(FakeMarathonTest, OomKillIsAtTheHardMemoryLimit) {
  ASSERT_TRUE(
      marathon_->addApp({.id = "/burst", .mem_mib = 256, .resource_limits = FakeResourceLimits{.mem_mib = 480}}).ok());
  ASSERT_TRUE(marathon_->oomKillTask(taskIds("/burst")[0]).ok());
  EXPECT_TRUE(marathon_->app("/burst")->last_task_failure->message.starts_with(
      "Memory limit exceeded: Requested: 512MB Maximum Used: 512MB\n"))
      << marathon_->app("/burst")->last_task_failure->message;
  ASSERT_TRUE(marathon_
                  ->addApp({.id = "/free",
                            .mem_mib = 256,
                            .resource_limits = FakeResourceLimits{.mem_mib = std::numeric_limits<double>::infinity()}})
                  .ok());
  const Status unlimited = marathon_->oomKillTask(taskIds("/free")[0]);
  ASSERT_FALSE(unlimited.ok());
  EXPECT_NE(unlimited.error().message().find("unlimited"), std::string::npos) << unlimited.error().message();
  EXPECT_EQ(taskIds("/free").size(), 1u);
}

TEST_F(FakeMarathonTest, RestartVersionsAndRollbackByVersion) {
  const std::string first = marathon_->app("/team/web")->version;
  const auto old_tasks = taskIds("/team/web");
  const HttpResponse restart = call("POST", "/v2/apps/team/web/restart");
  ASSERT_EQ(restart.status, 200);
  EXPECT_EQ(marathon_->deployments()[0].actions, std::vector<std::string>{"RestartApplication"});
  clock_.advance(10s);
  EXPECT_NE(taskIds("/team/web"), old_tasks);
  EXPECT_EQ(marathon_->app("/team/web")->last_config_change_at, first);

  ASSERT_EQ(call("PUT", "/v2/apps/team/web", R"({"cpus": 0.1})").status, 200);
  clock_.advance(10s);
  Document versions = parseBody(call("GET", "/v2/apps/team/web/versions"));
  ASSERT_EQ(versions["versions"].Size(), 3u);
  EXPECT_EQ(str(versions["versions"][2]), first);  // newest first
  Document old = parseBody(call("GET", "/v2/apps/team/web/versions/" + first));
  EXPECT_DOUBLE_EQ(old["cpus"].GetDouble(), 0.5);
  EXPECT_EQ(call("GET", "/v2/apps/team/web/versions/2000-01-01T00:00:00Z").status, 404);

  ASSERT_EQ(call("PUT", "/v2/apps/team/web", R"({"version": ")" + first + R"(", "cpus": 9})").status, 200);
  EXPECT_DOUBLE_EQ(marathon_->app("/team/web")->cpus, 0.5);
  EXPECT_NE(marathon_->app("/team/web")->version, first);  // a rollback is a new version
}

TEST_F(FakeMarathonTest, FaultsAnswerInsteadOfServingUntilUsedUp) {
  marathon_->addFault({.count = 2, .method = "PUT", .path_prefix = "/v2/apps/"});
  EXPECT_EQ(call("GET", "/v2/apps").status, 200);
  const HttpResponse faulted = call("PUT", "/v2/apps/team/web", R"({"cpus": 1})");
  EXPECT_EQ(faulted.status, 503);
  EXPECT_EQ(faulted.body, R"({"message":"Service Unavailable"})");
  EXPECT_EQ(call("PUT", "/v2/apps/team/web", R"({"cpus": 1})").status, 503);
  EXPECT_DOUBLE_EQ(marathon_->app("/team/web")->cpus, 0.5);
  EXPECT_EQ(call("PUT", "/v2/apps/team/web", R"({"cpus": 1})").status, 200);
  EXPECT_EQ(marathon_->puts("/team/web").refused, 2u);
  EXPECT_EQ(marathon_->puts("/team/web").accepted, 1u);
  clock_.advance(10s);

  marathon_->addFault({.kind = MarathonFault::Kind::kLocked, .count = -1, .method = "PUT"});
  for (int i = 0; i < 3; ++i) {
    const HttpResponse locked = call("PUT", "/v2/apps/team/web", R"({"cpus": 2})");
    EXPECT_EQ(locked.status, 409);
    EXPECT_TRUE(locked.body.starts_with(kLockedPrefix)) << locked.body;
  }
  marathon_->clearFaults();
  marathon_->addFault({.http_status = 500, .body = "{}", .path_prefix = "/v2/deployments"});
  EXPECT_EQ(call("GET", "/v2/apps").status, 200);
  EXPECT_EQ(call("GET", "/v2/deployments").status, 500);
  EXPECT_EQ(call("GET", "/v2/deployments").status, 200);

  const auto recorded = marathon_->requests();
  ASSERT_EQ(recorded.size(), 10u);
  EXPECT_EQ(recorded[1].method, "PUT");
  EXPECT_EQ(recorded[1].path, "/v2/apps/team/web");
  EXPECT_EQ(recorded[1].body, R"({"cpus": 1})");
  EXPECT_EQ(recorded[1].status, 503);
  EXPECT_EQ(recorded.back().status, 200);
}

TEST_F(FakeMarathonTest, DelayFaultServesAfterTheDelay) {
  // On a SystemClock the delay is real time.
  SystemClock system_clock;
  FakeMarathon marathon(system_clock);
  marathon.addFault({.kind = MarathonFault::Kind::kDelay, .delay = 50ms});
  HttpRequest request;
  request.method = "GET";
  request.path = "/v2/apps";
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(marathon.handle(request).status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
}

TEST_F(FakeMarathonTest, DelayFaultHoldsUntilTheClockHasMovedByTheDelay) {
  marathon_->addFault({.kind = MarathonFault::Kind::kDelay, .delay = 10s});
  auto answer = std::async(std::launch::async, [this] { return call("GET", "/v2/apps").status; });
  EXPECT_EQ(answer.wait_for(20ms), std::future_status::timeout);
  clock_.advance(9s);
  EXPECT_EQ(answer.wait_for(20ms), std::future_status::timeout);
  clock_.advance(1s);
  EXPECT_EQ(answer.get(), 200);
  EXPECT_EQ(marathon_->requests().size(), 1u);
}

TEST_F(FakeMarathonTest, ClearFaultsReleasesHeldRequests) {
  marathon_->addFault({.kind = MarathonFault::Kind::kDelay, .delay = 1h, .count = -1, .method = "PUT"});
  auto answer = std::async(std::launch::async, [this] { return call("PUT", "/v2/apps/team/web", R"({"cpus": 1})"); });
  EXPECT_EQ(answer.wait_for(20ms), std::future_status::timeout);
  marathon_->clearFaults();
  const HttpResponse put = answer.get();
  EXPECT_EQ(put.status, 200) << put.body;
  EXPECT_DOUBLE_EQ(marathon_->app("/team/web")->cpus, 1);
}

TEST_F(FakeMarathonTest, StoppingReleasesHeldRequestsAndHoldsNoMore) {
  ASSERT_TRUE(marathon_->start({"127.0.0.1", 0}).ok());
  marathon_->addFault({.kind = MarathonFault::Kind::kDelay, .delay = 1h, .count = -1});
  CurlHttpClient client;
  auto answer = std::async(std::launch::async, [&] { return client.get(marathon_->url() + "/v2/info", 30s); });
  EXPECT_EQ(answer.wait_for(20ms), std::future_status::timeout);
  const auto start = std::chrono::steady_clock::now();
  marathon_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(answer.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(call("GET", "/v2/info").status, 200);  // the fault is still there, holding nothing
}

TEST_F(FakeMarathonTest, LoadsTheReferenceExamples) {
  auto list = marathon_->addAppsFromJson(referenceFile("docs/docs/rest-api/public/api/v2/examples/app_list.json"),
                                         "app_list.json");
  ASSERT_TRUE(list.ok()) << list.error().message();
  EXPECT_EQ(*list, 1u);
  auto myapp = marathon_->app("/myapp");
  ASSERT_TRUE(myapp);
  EXPECT_DOUBLE_EQ(myapp->cpus, 0.1);
  EXPECT_EQ(myapp->instances, 3);
  EXPECT_EQ(myapp->tasks.size(), 3u);
  EXPECT_EQ(myapp->service_ports, (std::vector<std::uint16_t>{10013, 10015}));  // from the deprecated "ports"
  EXPECT_EQ(myapp->env.at("LD_LIBRARY_PATH"), "/usr/local/lib/myLib");
  EXPECT_TRUE(myapp->deployment_ids.empty());  // read-only fields are not taken
  Document shown = parseBody(call("GET", "/v2/apps/myapp"));
  EXPECT_EQ(str(shown["app"]["uris"][0]), "https://raw.github.com/mesosphere/marathon/master/README.md");
  EXPECT_EQ(str(shown["app"]["constraints"][0][1]), "UNIQUE");
  EXPECT_FALSE(shown["app"].HasMember("ports"));

  auto created = marathon_->addAppsFromJson(referenceFile("docs/docs/rest-api/public/api/v2/examples/apps_create.json"),
                                            "apps_create.json");
  ASSERT_TRUE(created.ok()) << created.error().message();
  EXPECT_EQ(*created, 2u);
  auto group =
      marathon_->addAppsFromJson(referenceFile("docs/docs/rest-api/public/api/v2/examples/group.json"), "group.json");
  ASSERT_TRUE(group.ok()) << group.error().message();
  EXPECT_EQ(*group, 3u);
  ASSERT_TRUE(marathon_->app("/tools/docker/registry"));
  EXPECT_DOUBLE_EQ(marathon_->app("/tools/docker/registry")->cpus, 0.5);
  auto real = marathon_->addAppsFromJson(referenceFile("benchmark-mocks-real/155_100.json"), "155_100.json");
  ASSERT_TRUE(real.ok()) << real.error().message();
  EXPECT_EQ(*real, 100u);
  EXPECT_EQ(marathon_->apps().size(), 1u + 1u + 2u + 3u + 100u);

  // Marathon refuses the full example: "It is invalid to supply both cmd and
  // args in the same app".
  const std::size_t before = marathon_->apps().size();
  auto full =
      marathon_->addAppsFromJson(referenceFile("docs/docs/rest-api/public/api/v2/examples/app.json"), "app.json");
  ASSERT_FALSE(full.ok());
  EXPECT_NE(full.error().message().find("app.json: the app (/foo): /: AppDefinition must either contain"),
            std::string::npos)
      << full.error().message();
  auto duplicate =
      marathon_->addAppsFromJson(R"([{"id": "/fresh", "cmd": "x"}, {"id": "/myapp", "cmd": "x"}])", "dup.json");
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().message(), "dup.json: [1]: app '/myapp' already exists");
  auto bad = marathon_->addAppsFromJson(
      R"({"apps": [{"id": "/ok", "cmd": "x"}, {"id": "/bad", "cmd": "x", "mem": -1}]})", "bad.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "bad.json: apps[1] (/bad): /mem: got -1.0, expected 0.0 or more");
  EXPECT_FALSE(marathon_->addAppsFromJson("{", "broken.json").ok());
  EXPECT_EQ(marathon_->apps().size(), before);  // none added
}

TEST_F(FakeMarathonTest, TaskPortsFromTheSpecSurviveRestarts) {
  ASSERT_TRUE(
      marathon_
          ->addApp(
              {.id = "/agent", .instances = 2, .hosts = {"127.0.0.1"}, .task_ports = {{40001, 40002}, {40003, 40004}}})
          .ok());
  auto ports = [&] {
    std::vector<std::vector<std::uint16_t>> out;
    const auto app = marathon_->app("/agent");
    for (const auto& task : app->tasks) out.push_back(task.ports);
    return out;
  };
  const std::vector<std::vector<std::uint16_t>> expected = {{40001, 40002}, {40003, 40004}};
  EXPECT_EQ(ports(), expected);
  ASSERT_EQ(call("POST", "/v2/apps/agent/restart").status, 200);
  clock_.advance(10s);
  EXPECT_EQ(ports(), expected);
  EXPECT_EQ(marathon_->app("/agent")->tasks[1].host, "127.0.0.1");
}

TEST_F(FakeMarathonTest, ServesOverHttpWithSlashesInAppIds) {
  ASSERT_TRUE(marathon_->start({"127.0.0.1", 0}).ok());
  const std::string url = marathon_->url();
  ASSERT_TRUE(url.starts_with("http://127.0.0.1:"));
  CurlHttpClient client;
  for (const std::string path : {"/v2/apps/team/web", "/v2/apps//team/web", "/v2/apps/%2Fteam%2Fweb"}) {
    auto response = client.get(url + path, 5s);
    ASSERT_TRUE(response.ok()) << response.error().message();
    EXPECT_EQ(response->status, 200) << path;
    EXPECT_EQ(str(parseBody(*response)["app"]["id"]), "/team/web") << path;
  }
  auto tasks = client.get(url + "/v2/apps//team/web/tasks", 5s);
  ASSERT_TRUE(tasks.ok());
  EXPECT_EQ(parseBody(*tasks)["tasks"].Size(), 2u);
  auto ping = client.get(url + "/ping", 5s);
  ASSERT_TRUE(ping.ok());
  EXPECT_EQ(ping->body, "pong");
  auto leader = client.get(url + "/v2/leader", 5s);
  ASSERT_TRUE(leader.ok());
  EXPECT_EQ("http://" + str(parseBody(*leader)["leader"]), url);

  auto put = client.send({.method = "PUT",
                          .url = url + "/v2/apps//team/web?force=false",
                          .headers = {{"Content-Type", "application/json"}},
                          .body = R"({"cpus": 0.25})"});
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(put->status, 200) << put->body;
  EXPECT_EQ(marathon_->puts("/team/web").accepted, 1u);
  EXPECT_EQ(marathon_->requests().back().path, "/v2/apps/team/web");
}

TEST_F(FakeMarathonTest, ConcurrentRequestsAndReads) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < 50; ++i) {
        if (t % 2 == 0) {
          call("PUT", "/v2/apps/team/web?force=true", R"({"cpus": )" + std::to_string(0.1 * (i % 5 + 1)) + "}");
        } else {
          call("GET", "/v2/apps?embed=apps.tasks");
          (void)marathon_->deployments();
          clock_.advance(1s);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(marathon_->puts("/team/web").accepted, 100u);
  EXPECT_EQ(marathon_->requests().size(), 200u);
  clock_.advance(10s);
  EXPECT_TRUE(marathon_->deployments().empty());
  EXPECT_EQ(marathon_->app("/team/web")->tasks.size(), 2u);
}

TEST(FakeMarathonToolTest, ServesAnAppsFileUntilStopped) {
  testing::TempDir dir;
  dir.write("apps.json", R"({"apps": [{"id": "/team/web", "cmd": "sleep 3600", "cpus": 0.5, "mem": 256,
                                       "instances": 2}]})");
  auto tool = ChildProcess::start({RIGHTSIZE_FAKE_MARATHON, "--apps", dir.path() + "/apps.json",
                                   "--deployment-duration", "500ms", "--host", "10.1.0.1", "--host", "10.1.0.2"});
  ASSERT_TRUE(tool.ok()) << tool.error().message();
  auto& child = **tool;
  const std::string line = child.waitForLine("http://", 30s);
  ASSERT_TRUE(line.starts_with("http://127.0.0.1:")) << child.output();
  const std::string url(trim(line));

  CurlHttpClient client;
  auto apps = client.get(url + "/v2/apps?embed=apps.tasks", 5s);
  ASSERT_TRUE(apps.ok()) << apps.error().message();
  ASSERT_EQ(apps->status, 200);
  Document body = parseBody(*apps);
  ASSERT_EQ(body["apps"].Size(), 1u);
  EXPECT_EQ(str(body["apps"][0]["id"]), "/team/web");
  EXPECT_EQ(str(body["apps"][0]["tasks"][0]["host"]), "10.1.0.1");
  EXPECT_EQ(str(body["apps"][0]["tasks"][1]["host"]), "10.1.0.2");

  const int status = child.stop(SIGTERM, 30s);
  ASSERT_TRUE(WIFEXITED(status)) << child.output();
  EXPECT_EQ(WEXITSTATUS(status), 0) << child.output();
}

TEST(FakeMarathonToolTest, RefusesBadFlagsAndFilesNamingThem) {
  for (const auto& [flag, value] : {std::pair{"--deployment-duration", "10"}, std::pair{"--apps", "/no/such.json"},
                                    std::pair{"--listen", "nowhere"}}) {
    auto tool = ChildProcess::start({RIGHTSIZE_FAKE_MARATHON, flag, value});
    ASSERT_TRUE(tool.ok());
    const int status = (*tool)->wait(30s);
    (*tool)->drain(100ms);
    ASSERT_TRUE(WIFEXITED(status)) << flag;
    EXPECT_EQ(WEXITSTATUS(status), 2) << flag;
    EXPECT_NE((*tool)->output().find(std::string(flag) + " " + value), std::string::npos) << (*tool)->output();
  }
}

// A real Marathon client (Debian's python3-marathon) drives the double on the
// real clock and checks what it gets: tests/testing/marathon_client_check.py.
TEST(FakeMarathonClientTest, RealPythonMarathonClientUsesIt) {
  auto probe = testing::spawn({"/usr/bin/python3", "-c", "import marathon"});
  const int probed = probe->wait(60s);
  probe->drain(100ms);
  ASSERT_TRUE(WIFEXITED(probed) && WEXITSTATUS(probed) == 0)
      << "/usr/bin/python3 cannot import marathon: apt-get install python3-marathon\n"
      << probe->output();

  SystemClock clock;
  // Long enough for the script's checks while it runs, short enough to wait for.
  FakeMarathon marathon(clock, {.deployment_duration = 2s});
  ASSERT_TRUE(marathon
                  .addApp({.id = "/team/web",
                           .cpus = 0.5,
                           .mem_mib = 256,
                           .instances = 2,
                           .labels = {{"rightsize.enabled", "true"}}})
                  .ok());
  ASSERT_TRUE(marathon.addApp({.id = "/other", .cmd = "sleep 60"}).ok());
  ASSERT_TRUE(marathon
                  .addAppsFromJson(R"({"id": "/crashy", "cmd": "crash", "instances": 3, "backoffSeconds": 3600,
                                       "healthChecks": [{"protocol": "HTTP", "path": "/health", "portIndex": 0}]})",
                                   "test")
                  .ok());
  const auto crashy = *marathon.app("/crashy");
  ASSERT_TRUE(marathon.oomKillTask(crashy.tasks[0].id).ok());
  ASSERT_TRUE(marathon.setTaskHealth(crashy.tasks[1].id, false).ok());
  ASSERT_TRUE(marathon.start({"127.0.0.1", 0}).ok());
  auto python =
      testing::spawn({"/usr/bin/python3", std::string(RIGHTSIZE_SOURCE_DIR) + "/tests/testing/marathon_client_check.py",
                      marathon.url()});
  const int status = python->wait(120s);
  python->drain(200ms);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "marathon_client_check.py failed:\n"
                                                             << python->output();
  EXPECT_NE(python->output().find("ok"), std::string::npos) << python->output();
  EXPECT_EQ(marathon.puts("/team/web").accepted, 1u);
  EXPECT_EQ(marathon.puts("/team/web").refused, 1u);
}

}  // namespace
}  // namespace rightsize::testing
