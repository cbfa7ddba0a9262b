#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <fstream>
#include <mutex>
#include <sstream>

#include "test_support.h"

#include "rightsize/core/http.h"
#include "rightsize/sizing/marathon.h"
#include "rightsize/testing/fake_marathon.h"

namespace rightsize::sizing {
namespace {

using namespace std::chrono_literals;

std::string readReference(const std::string& relative) {
  const std::string path = std::string(RIGHTSIZE_SOURCE_DIR) + "/../shared/reference/marathon/" + relative;
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path;
    return {};
  }
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

const std::string kExamples = "docs/docs/rest-api/public/api/v2/examples/";

// The 409 body of shared/reference/marathon/legacy-v1.4.0-rest-api-md/rest-api.md.
const std::string kLockedBody = R"({
    "deployments": [
        {
            "id": "5cd987cd-85ae-4e70-8df7-f1438367d9cb"
        }
    ],
    "message": "App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'."
})";

TEST(MarathonParseTest, AppListFromTheReference) {
  auto parsed = parseAppList(readReference(kExamples + "app_list.json"), "app_list.json");
  ASSERT_TRUE(parsed) << parsed.error().message();
  ASSERT_FALSE(parsed->apps.empty());
  const MarathonApp& app = parsed->apps.front();
  EXPECT_EQ(app.id, "/myapp");
  EXPECT_DOUBLE_EQ(app.cpus, 0.1);
  EXPECT_DOUBLE_EQ(app.mem_mib, 5);
  EXPECT_EQ(app.instances, 3);
  EXPECT_TRUE(parsed->unusable.empty());
}

TEST(MarathonParseTest, TheRealBenchmarkGroupsParseAsApps) {
  // A /v2/groups document from a real Marathon: apps live under "apps".
  auto parsed = parseAppList(readReference("benchmark-mocks-real/155_100.json"), "155_100.json");
  ASSERT_TRUE(parsed) << parsed.error().message();
  for (const auto& unusable : parsed->unusable) ADD_FAILURE() << unusable.error.message();
}

TEST(MarathonParseTest, OneAppWithTasks) {
  const std::string body = R"({"app": {"id": "/team/web", "cpus": 0.5, "mem": 256, "instances": 2,
    "version": "2015-09-25T15:13:48.343Z", "labels": {"rightsize.enabled": "true", "odd": 3},
    "deployments": [{"id": "d1"}],
    "tasks": [{"id": "team_web.1", "host": "agent-1", "ports": [31000, 31001], "state": "TASK_RUNNING",
               "startedAt": "2015-09-25T15:14:02.120Z"},
              {"id": "team_web.2", "appId": "/team/web", "host": "agent-2", "ports": [], "startedAt": null}]}})";
  auto app = parseApp(body, "GET /v2/apps/team/web");
  ASSERT_TRUE(app) << app.error().message();
  EXPECT_EQ(app->labels.size(), 1u);  // the non-string label is left out
  EXPECT_EQ(app->deployment_ids, std::vector<std::string>{"d1"});
  ASSERT_EQ(app->tasks.size(), 2u);
  EXPECT_EQ(app->tasks[0].app_id, "/team/web");
  EXPECT_EQ(app->tasks[0].ports, (std::vector<int>{31000, 31001}));
  EXPECT_EQ(app->tasks[1].state, "");
  // startedAt: when it began running (--min-task-age); null while staged.
  ASSERT_TRUE(app->tasks[0].started_at);
  EXPECT_EQ(*app->tasks[0].started_at, fromUnixSeconds(1443194042) + std::chrono::milliseconds(120));
  EXPECT_FALSE(app->tasks[1].started_at);
}

// Placement constraints, read to know where an app may land (instance
// types' CPU factors); entries that are not 2 or 3 strings are left out.
TEST(MarathonParseTest, Constraints) {
  auto app = parseApp(R"({"app": {"id": "/web", "cpus": 1, "mem": 128, "instances": 1,
    "constraints": [["hostname", "UNIQUE"], ["instance_type", "LIKE", "m5.*"], ["rack", 3],
                    ["a", "B", "c", "d"], "x"]}})",
                      "src");
  ASSERT_TRUE(app) << app.error().message();
  EXPECT_EQ(app->constraints,
            (std::vector<Constraint>{{"hostname", "UNIQUE", std::nullopt}, {"instance_type", "LIKE", "m5.*"}}));
}

TEST(MarathonParseTest, BadAppsAreSkippedAndNamed) {
  const std::string body = R"({"apps": [
    {"id": "/good", "cpus": 1, "mem": 128},
    {"id": "/bad", "cpus": "one", "mem": 128},
    {"id": "/negative", "cpus": -1, "mem": 128},
    {"id": "/x?y=1", "cpus": 1, "mem": 128},
    {"id": "/ports", "cpus": 1, "mem": 128, "tasks": [{"id": "t", "ports": [70000]}]}]})";
  auto parsed = parseAppList(body, "GET /v2/apps");
  ASSERT_TRUE(parsed);
  ASSERT_EQ(parsed->apps.size(), 1u);
  EXPECT_EQ(parsed->apps[0].id, "/good");
  ASSERT_EQ(parsed->unusable.size(), 4u);
  EXPECT_NE(parsed->unusable[0].error.message().find("GET /v2/apps: apps[1].cpus"), std::string::npos)
      << parsed->unusable[0].error.message();
  EXPECT_NE(parsed->unusable[2].error.message().find("is not a Marathon app id"), std::string::npos);
  EXPECT_NE(parsed->unusable[3].error.message().find("apps[4].tasks[0].ports"), std::string::npos);
  EXPECT_FALSE(parseAppList("{\"apps\": [", "GET /v2/apps"));
  EXPECT_FALSE(parseAppList("[]", "GET /v2/apps"));
}

// Marathon 1.10's resourceLimits: numbers or "unlimited", each key
// optional; anything else makes the app unusable, named.
TEST(MarathonParseTest, ResourceLimits) {
  const std::string body = R"({"apps": [
    {"id": "/burst", "cpus": 1, "mem": 4096, "resourceLimits": {"cpus": "unlimited", "mem": 8192}},
    {"id": "/cpu-only", "cpus": 1, "mem": 128, "resourceLimits": {"cpus": 2.5}},
    {"id": "/plain", "cpus": 1, "mem": 128, "resourceLimits": null},
    {"id": "/word", "cpus": 1, "mem": 128, "resourceLimits": {"mem": "lots"}},
    {"id": "/negative", "cpus": 1, "mem": 128, "resourceLimits": {"cpus": -1}},
    {"id": "/list", "cpus": 1, "mem": 128, "resourceLimits": [1, 2]}]})";
  auto parsed = parseAppList(body, "GET /v2/apps");
  ASSERT_TRUE(parsed);
  ASSERT_EQ(parsed->apps.size(), 3u);
  EXPECT_EQ(parsed->apps[0].limits, (ResourceLimits{kUnlimited, 8192}));
  EXPECT_EQ(parsed->apps[1].limits, (ResourceLimits{2.5, std::nullopt}));
  EXPECT_TRUE(parsed->apps[2].limits.empty());
  ASSERT_EQ(parsed->unusable.size(), 3u);
  EXPECT_EQ(parsed->unusable[0].app_id, "/word");
  EXPECT_NE(
      parsed->unusable[0].error.message().find("apps[3].resourceLimits.mem: neither a number >= 0 nor \"unlimited\""),
      std::string::npos)
      << parsed->unusable[0].error.message();
  EXPECT_NE(parsed->unusable[1].error.message().find("apps[4].resourceLimits.cpus"), std::string::npos);
  EXPECT_NE(parsed->unusable[2].error.message().find("apps[5].resourceLimits: expected an object"), std::string::npos);
}

// Found while fuzzing (fuzz/marathon_fuzz, docs/fuzzing.md): a negative count was kept,
// and one beyond int became an arbitrary count.
TEST(MarathonParseTest, InstancesOutsideZeroToIntMaxSkipTheApp) {
  const std::string body = R"({"apps": [
    {"id": "/negative", "cpus": 1, "mem": 128, "instances": -3},
    {"id": "/huge", "cpus": 1, "mem": 128, "instances": 1e300},
    {"id": "/good", "cpus": 1, "mem": 128, "instances": 2147483647}]})";
  auto parsed = parseAppList(body, "GET /v2/apps");
  ASSERT_TRUE(parsed);
  ASSERT_EQ(parsed->apps.size(), 1u);
  EXPECT_EQ(parsed->apps[0].instances, 2147483647);
  ASSERT_EQ(parsed->unusable.size(), 2u);
  EXPECT_NE(parsed->unusable[0].error.message().find("apps[0].instances"), std::string::npos)
      << parsed->unusable[0].error.message();
  EXPECT_NE(parsed->unusable[1].error.message().find("apps[1].instances"), std::string::npos)
      << parsed->unusable[1].error.message();
}

TEST(MarathonParseTest, DeploymentsFromTheReference) {
  auto ids = parseDeploymentIds(readReference(kExamples + "deployments.json"), "deployments.json");
  ASSERT_TRUE(ids) << ids.error().message();
  ASSERT_FALSE(ids->empty());
  EXPECT_EQ(ids->front(), "97c136bf-5a28-4821-9d94-480d9fbb01c8");
  auto deployments = parseDeployments(readReference(kExamples + "deployments.json"), "deployments.json");
  ASSERT_TRUE(deployments) << deployments.error().message();
  ASSERT_EQ(deployments->size(), 1u);
  EXPECT_EQ(deployments->front().affected_apps, std::vector<std::string>{"/foo"});
  auto result = parseDeploymentResult(readReference(kExamples + "deployments_result.json"), "PUT");
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(*result, "5ed4c0c5-9ff8-4a6f-a0cd-f57f59a34b43");
  EXPECT_EQ(parseLockingDeployments(kLockedBody), std::vector<std::string>{"5cd987cd-85ae-4e70-8df7-f1438367d9cb"});
  EXPECT_TRUE(parseLockingDeployments("not json").empty());
}

TEST(MarathonParseTest, AppIds) {
  EXPECT_TRUE(validAppId("/web"));
  EXPECT_TRUE(validAppId("/team-1/web.v2"));
  EXPECT_FALSE(validAppId("web"));
  EXPECT_FALSE(validAppId("/"));
  EXPECT_FALSE(validAppId("/Web"));
  EXPECT_FALSE(validAppId("/a//b"));
  EXPECT_FALSE(validAppId("/a/"));
  EXPECT_FALSE(validAppId("/a b"));
  EXPECT_FALSE(validAppId("/a?force=true"));
}

// Marathon's PathId rule, names "." and ".." refused: in a request path they
// would lead to another app or endpoint.
TEST(MarathonParseTest, AppIdsFollowMarathonsPathIdRule) {
  for (const char* id : {"/web", "/1", "/a.b", "/team-1/web.v2", "/a1-b2.c3/x--y", "/a/b/c/d"}) {
    EXPECT_TRUE(validAppId(id)) << id;
  }
  std::vector<std::string> refused = {"/web/../x", "/x/../../v2/deployments", "/./a", "/.", "/..", "/a/.", "/a/.."};
  for (const char* id : {"/Web", "/web-", "/-web", "/web.-x", "/web-.x", "/a..b", "/a.", "/.a", "/a_b", "/a%2Fb"}) {
    refused.emplace_back(id);
  }
  for (const char* id : {"/a/", "/a//b", "//a", "", "a/b"}) refused.emplace_back(id);
  for (const auto& id : refused) EXPECT_FALSE(validAppId(id)) << id;
}

TEST(MarathonAuthTest, TokenBasicFilesAndHalfSetCredentials) {
  auto env = [](std::map<std::string, std::string> values) {
    return [values = std::move(values)](const char* name) -> const char* {
      auto found = values.find(name);
      return found == values.end() ? nullptr : found->second.c_str();
    };
  };
  EXPECT_EQ(*marathonAuthorization(env({})), "");
  EXPECT_EQ(*marathonAuthorization(env({{"RIGHTSIZE_MARATHON_TOKEN", "abc"}})), "token=abc");
  EXPECT_EQ(*marathonAuthorization(
                env({{"RIGHTSIZE_MARATHON_USER", "Aladdin"}, {"RIGHTSIZE_MARATHON_PASSWORD", "open sesame"}})),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  testing::TempDir dir;
  const std::string file = dir.path() + "/password";
  std::ofstream(file) << "open sesame\n";
  EXPECT_EQ(
      *marathonAuthorization(env({{"RIGHTSIZE_MARATHON_USER", "Aladdin"}, {"RIGHTSIZE_MARATHON_PASSWORD_FILE", file}})),
      "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  auto half = marathonAuthorization(env({{"RIGHTSIZE_MARATHON_USER", "Aladdin"}}));
  ASSERT_FALSE(half);
  EXPECT_EQ(half.error().kind(), ErrorKind::kInvalidArgument);
  auto missing = marathonAuthorization(env({{"RIGHTSIZE_MARATHON_TOKEN_FILE", dir.path() + "/none"}}));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("RIGHTSIZE_MARATHON_TOKEN_FILE"), std::string::npos);
}

// A Marathon that answers what the test scripts, and records what it got.
class ScriptedMarathon {
 public:
  ScriptedMarathon() : server_(HttpServerOptions{{"127.0.0.1", 0}}) {
    server_.routePrefix("/v2/",
                        [this](const HttpRequest& request) {
                          std::lock_guard lock(mutex_);
                          requests_.push_back(request);
                          if (delay_ > Duration::zero()) std::this_thread::sleep_for(delay_);
                          HttpResponse response;
                          response.content_type = "application/json";
                          response.status = status_;
                          response.body = body_;
                          return response;
                        },
                        {"GET", "PUT"});
  }
  Status start() { return server_.start(); }
  std::string url() const { return server_.baseUrl(); }
  void answer(int status, std::string body, Duration delay = {}) {
    std::lock_guard lock(mutex_);
    status_ = status;
    body_ = std::move(body);
    delay_ = delay;
  }
  std::vector<HttpRequest> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  HttpServer server_;
  std::mutex mutex_;
  int status_ = 200;
  std::string body_;
  Duration delay_{};
  std::vector<HttpRequest> requests_;
};

class MarathonClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(first_.start().ok());
    ASSERT_TRUE(second_.start().ok());
  }
  HttpMarathonClient client(std::vector<std::string> urls, std::string authorization = "") {
    HttpMarathonOptions options;
    options.urls = std::move(urls);
    options.authorization = std::move(authorization);
    options.timeout = 2s;
    options.on_response = [this](std::string_view code) { codes_.emplace_back(code); };
    return HttpMarathonClient(http_, options);
  }
  // A loopback URL nobody listens on.
  static std::string deadUrl() {
    HttpServer server(HttpServerOptions{{"127.0.0.1", 0}});
    EXPECT_TRUE(server.start().ok());
    std::string url = server.baseUrl();
    server.stop();
    return url;
  }

  ScriptedMarathon first_;
  ScriptedMarathon second_;
  CurlHttpClient http_;  // closes its connections before the servers stop
  std::vector<std::string> codes_;
};

TEST(MarathonParseTest, DeploymentsOfTheLegacyReferenceAndBadLists) {
  // The 1.4 example: three apps affected, readiness checks, no affectedPods.
  const std::string doc = readReference("legacy-v1.4.0-rest-api-md/DeploymentsResource_running.md");
  const auto start = doc.find("\n[\n");
  const auto end = doc.rfind("\n]\n");
  ASSERT_NE(start, std::string::npos);
  ASSERT_NE(end, std::string::npos);
  auto deployments = parseDeployments(doc.substr(start, end + 3 - start), "DeploymentsResource_running.md");
  ASSERT_TRUE(deployments) << deployments.error().message();
  ASSERT_EQ(deployments->size(), 1u);
  EXPECT_EQ(deployments->front().id, "2e72dbf1-2b2a-4204-b628-e8bd160945dd");
  EXPECT_EQ(deployments->front().affected_apps,
            (std::vector<std::string>{"/test/service/srv1", "/test/db/mongo1", "/test/frontend/app1"}));

  auto sparse = parseDeployments(R"([{"id": "d1"}, {"id": "d2", "affectedApps": ["/a", 7]}])", "GET");
  ASSERT_TRUE(sparse) << sparse.error().message();
  ASSERT_EQ(sparse->size(), 2u);
  EXPECT_TRUE(sparse->at(0).affected_apps.empty());
  EXPECT_EQ(sparse->at(1).affected_apps, std::vector<std::string>{"/a"});
  auto no_id = parseDeployments(R"([{"id": "d1"}, {"affectedApps": ["/a"]}])", "GET /v2/deployments");
  ASSERT_FALSE(no_id);
  EXPECT_NE(no_id.error().message().find("deployments[1] has no string id"), std::string::npos)
      << no_id.error().message();
  EXPECT_FALSE(parseDeployments(R"({"deployments": []})", "GET /v2/deployments"));
}

// The fields the sizer's safety rules read: task counts, health checks, the
// last configuration change and the last task failure (AppsResource_show.md's
// example, with the message of an OOM kill by Mesos' memory isolator).
TEST(MarathonParsers, ReadsCountsHealthAndTheLastTaskFailure) {
  const std::string body = R"({"apps": [{"id": "/toggle", "cpus": 0.5, "mem": 512, "instances": 3,
    "version": "2014-09-12T23:28:21.737Z",
    "versionInfo": {"lastScalingAt": "2014-09-12T23:28:21.737Z", "lastConfigChangeAt": "2014-09-11T10:00:00Z"},
    "healthChecks": [{"protocol": "HTTP", "path": "/health"}],
    "tasksStaged": 1, "tasksRunning": 2, "tasksHealthy": 1, "tasksUnhealthy": 1,
    "lastTaskFailure": {"appId": "/toggle", "host": "10.141.141.10",
      "message": "Memory limit exceeded: Requested: 544MB Maximum Used: 544MB\n\nMEMORY STATISTICS: \ncache 0",
      "state": "TASK_FAILED", "taskId": "toggle.cc427e60-5046-11e4-9e34-56847afe9799",
      "timestamp": "2014-09-12T23:23:41.711Z", "version": "2014-09-12T23:28:21.737Z", "slaveId": "s-1"}},
    {"id": "/plain", "cpus": 1, "mem": 128, "instances": 1, "tasksRunning": 1,
     "lastTaskFailure": {"state": "TASK_KILLED", "message": "Abnormal executor termination", "taskId": "t"}}]})";
  auto parsed = parseAppList(body, "GET /v2/apps");
  ASSERT_TRUE(parsed) << parsed.error().message();
  ASSERT_EQ(parsed->apps.size(), 2u);
  const MarathonApp& toggle = parsed->apps[0];
  EXPECT_EQ(toggle.tasks_staged, 1);
  EXPECT_EQ(toggle.tasks_running, 2);
  EXPECT_EQ(toggle.tasks_healthy, 1);
  EXPECT_EQ(toggle.tasks_unhealthy, 1);
  EXPECT_TRUE(toggle.health_checked);
  ASSERT_TRUE(toggle.config_changed_at);
  EXPECT_DOUBLE_EQ(toUnixSeconds(*toggle.config_changed_at), 1410429600.0);
  ASSERT_TRUE(toggle.last_task_failure);
  const TaskFailure& failure = *toggle.last_task_failure;
  EXPECT_TRUE(failure.oomKill());
  EXPECT_EQ(failure.task_id, "toggle.cc427e60-5046-11e4-9e34-56847afe9799");
  EXPECT_EQ(failure.version, "2014-09-12T23:28:21.737Z");
  ASSERT_TRUE(failure.version_at);
  EXPECT_NEAR(toUnixSeconds(*failure.version_at), 1410564501.737, 1e-6);
  ASSERT_TRUE(failure.at);
  EXPECT_NEAR(toUnixSeconds(*failure.at), 1410564221.711, 1e-6);
  EXPECT_EQ(failure.limit_mib, 544);
  const MarathonApp& plain = parsed->apps[1];
  EXPECT_FALSE(plain.health_checked);
  ASSERT_TRUE(plain.last_task_failure);
  EXPECT_FALSE(plain.last_task_failure->oomKill());
  EXPECT_FALSE(plain.last_task_failure->version_at);  // no version
}

TEST(MarathonParsers, AnUnusableAppKeepsItsIdAndABadFailureNamesItsField) {
  const std::string body = R"({"apps": [
    {"id": "/bad-count", "cpus": 1, "mem": 128, "tasksRunning": -1},
    {"id": "/bad-time", "cpus": 1, "mem": 128, "lastTaskFailure": {"state": "TASK_FAILED", "timestamp": "yesterday"}},
    {"cpus": 1, "mem": 128},
    {"id": "/bad-start", "cpus": 1, "mem": 128, "tasks": [{"id": "bad-start.1", "startedAt": "soon"}]}]})";
  auto parsed = parseAppList(body, "GET /v2/apps");
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_TRUE(parsed->apps.empty());
  ASSERT_EQ(parsed->unusable.size(), 4u);
  EXPECT_EQ(parsed->unusable[3].app_id, "/bad-start");
  EXPECT_NE(parsed->unusable[3].error.message().find("apps[3].tasks[0].startedAt: \"soon\" is not an ISO 8601 time"),
            std::string::npos)
      << parsed->unusable[3].error.message();
  EXPECT_EQ(parsed->unusable[0].app_id, "/bad-count");
  EXPECT_NE(parsed->unusable[0].error.message().find("apps[0].tasksRunning"), std::string::npos)
      << parsed->unusable[0].error.message();
  EXPECT_EQ(parsed->unusable[1].app_id, "/bad-time");
  EXPECT_NE(parsed->unusable[1].error.message().find("apps[1].lastTaskFailure.timestamp"), std::string::npos)
      << parsed->unusable[1].error.message();
  EXPECT_EQ(parsed->unusable[2].app_id, "");
}

// Times past the nanosecond clock's range (about 2262) are refused, not
// overflowed (found by marathon_fuzz).
TEST(MarathonParsers, TimesBeyond2200AreRefused) {
  const std::string body = R"({"apps": [
    {"id": "/far", "cpus": 1, "mem": 128, "versionInfo": {"lastConfigChangeAt": "3463-09-25T15:13:48.343Z"},
     "lastTaskFailure": {"state": "TASK_FAILED", "taskId": "t", "timestamp": "9999-01-01T00:00:00Z"}},
    {"id": "/near", "cpus": 1, "mem": 128, "versionInfo": {"lastConfigChangeAt": "2200-12-31T23:59:59Z"}}]})";
  auto parsed = parseAppList(body, "GET /v2/apps");
  ASSERT_TRUE(parsed) << parsed.error().message();
  ASSERT_EQ(parsed->unusable.size(), 1u);
  EXPECT_NE(parsed->unusable[0].error.message().find("apps[0].lastTaskFailure.timestamp"), std::string::npos)
      << parsed->unusable[0].error.message();
  ASSERT_EQ(parsed->apps.size(), 1u);
  EXPECT_TRUE(parsed->apps[0].config_changed_at);
}

// ISO 8601 allows an offset from UTC where Marathon writes "Z": the same
// instant; a malformed offset is refused.
TEST(MarathonParsers, TimesWithAnOffsetFromUtcAreTheSameInstant) {
  const std::string body = R"({"apps": [
    {"id": "/z", "cpus": 1, "mem": 128, "versionInfo": {"lastConfigChangeAt": "2026-12-07T10:00:00Z"}},
    {"id": "/colon", "cpus": 1, "mem": 128, "versionInfo": {"lastConfigChangeAt": "2026-12-07T10:00:00+00:00"}},
    {"id": "/east", "cpus": 1, "mem": 128, "versionInfo": {"lastConfigChangeAt": "2026-12-07T15:30:00.000+0530"}},
    {"id": "/west", "cpus": 1, "mem": 128, "versionInfo": {"lastConfigChangeAt": "2026-12-07T05:00:00-05:00"}},
    {"id": "/bad", "cpus": 1, "mem": 128,
     "lastTaskFailure": {"state": "TASK_FAILED", "taskId": "t", "timestamp": "2026-12-07T10:00:00+5:00"}}]})";
  auto parsed = parseAppList(body, "GET /v2/apps");
  ASSERT_TRUE(parsed) << parsed.error().message();
  ASSERT_EQ(parsed->apps.size(), 4u);
  for (const MarathonApp& app : parsed->apps) {
    ASSERT_TRUE(app.config_changed_at) << app.id;
    EXPECT_DOUBLE_EQ(toUnixSeconds(*app.config_changed_at), 1796637600.0) << app.id;
  }
  ASSERT_EQ(parsed->unusable.size(), 1u);
  EXPECT_EQ(parsed->unusable[0].app_id, "/bad");
}

TEST(MarathonParsers, ReadsTheLaunchQueue) {
  auto queue = parseQueue(readReference(kExamples + "queue.json"), "queue.json");
  ASSERT_TRUE(queue) << queue.error().message();
  ASSERT_FALSE(queue->empty());
  EXPECT_EQ(queue->front().app_id, "/tools/datadog-agent");
  EXPECT_EQ(queue->front().count, 1);
  EXPECT_TRUE(queue->front().overdue);
  EXPECT_FALSE(queue->front().backingOff());
  auto backing_off = parseQueue(
      R"({"queue": [{"app": {"id": "/web"}, "count": 2, "delay": {"timeLeftSeconds": 17, "overdue": false}}]})",
      "GET /v2/queue");
  ASSERT_TRUE(backing_off) << backing_off.error().message();
  ASSERT_EQ(backing_off->size(), 1u);
  EXPECT_TRUE(backing_off->front().backingOff());
  EXPECT_EQ(backing_off->front().delay_seconds, 17);
  EXPECT_FALSE(parseQueue(R"({"queue": [{"app": {"id": "/web"}, "delay": {"overdue": "no"}}]})", "q"));
  EXPECT_FALSE(parseQueue(R"([])", "q"));
}

TEST_F(MarathonClientTest, ListsAppsWithTasksAndSendsTheAuthorization) {
  first_.answer(200, readReference(kExamples + "app_list.json"));
  auto marathon = client({first_.url()}, "token=secret");
  auto apps = marathon.listApps();
  ASSERT_TRUE(apps) << apps.error().message();
  EXPECT_EQ(apps->apps.front().id, "/myapp");
  const auto requests = first_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].path, "/v2/apps");
  // Counts are embedded by default only while no embed is asked for.
  EXPECT_EQ(requests[0].query, "embed=apps.tasks&embed=apps.counts&embed=apps.deployments&embed=apps.lastTaskFailure");
  EXPECT_EQ(requests[0].header("Authorization"), "token=secret");
  EXPECT_EQ(codes_, std::vector<std::string>{"200"});
}

TEST_F(MarathonClientTest, PutsOnlyCpusAndMemWithoutForce) {
  first_.answer(200, readReference(kExamples + "deployments_result.json"));
  auto marathon = client({first_.url()});
  auto outcome = marathon.updateResources("/team/web", 0.35, 544, false, std::nullopt);
  ASSERT_TRUE(outcome) << outcome.error().message();
  EXPECT_EQ(outcome->result, UpdateOutcome::Result::kDeploying);
  EXPECT_EQ(outcome->deployment_id, "5ed4c0c5-9ff8-4a6f-a0cd-f57f59a34b43");
  const auto requests = first_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "PUT");
  EXPECT_EQ(requests[0].path, "/v2/apps/team/web");
  EXPECT_EQ(requests[0].query, "force=false");
  EXPECT_EQ(requests[0].body, R"({"cpus":0.35,"mem":544})");
  EXPECT_EQ(requests[0].header("Content-Type"), "application/json");
  EXPECT_TRUE(marathon.updateResources("/team/web", 0.35, 544, true, std::nullopt));
  EXPECT_EQ(first_.requests().back().query, "force=true");
}

// A burstable app's PUT carries its resourceLimits with its request, on the
// same step; a limit below its request is never sent.
TEST_F(MarathonClientTest, PutsResourceLimitsWithTheRequest) {
  first_.answer(200, readReference(kExamples + "deployments_result.json"));
  auto marathon = client({first_.url()});
  auto outcome =
      marathon.updateResources("/team/web", 0.35, 544, false, ResourceLimits{1.2000000000000002, kUnlimited});
  ASSERT_TRUE(outcome) << outcome.error().message();
  ASSERT_EQ(first_.requests().size(), 1u);
  EXPECT_EQ(first_.requests()[0].body, R"({"cpus":0.35,"mem":544,"resourceLimits":{"cpus":1.2,"mem":"unlimited"}})");
  ASSERT_TRUE(marathon.updateResources("/team/web", 0.35, 544, false, ResourceLimits{std::nullopt, 544}));
  EXPECT_EQ(first_.requests().back().body, R"({"cpus":0.35,"mem":544,"resourceLimits":{"mem":544}})");
  for (const ResourceLimits& bad : {ResourceLimits{0.3, std::nullopt}, ResourceLimits{std::nullopt, 0.0},
                                    ResourceLimits{std::nan(""), std::nullopt}}) {
    auto refused = marathon.updateResources("/team/web", 0.35, 544, false, bad);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind(), ErrorKind::kInvalidArgument);
  }
  auto below = marathon.updateResources("/team/web", 0.35, 544, false, ResourceLimits{0.3, std::nullopt});
  EXPECT_NE(below.error().message().find("resourceLimits.cpus 0.3 is below its request 0.35"), std::string::npos)
      << below.error().message();
  EXPECT_EQ(first_.requests().size(), 2u);
}

TEST_F(MarathonClientTest, LockedNotFoundAndInvalid) {
  auto marathon = client({first_.url()});
  first_.answer(409, kLockedBody);
  auto locked = marathon.updateResources("/test", 1, 128, false, std::nullopt);
  ASSERT_TRUE(locked);
  EXPECT_EQ(locked->result, UpdateOutcome::Result::kLocked);
  EXPECT_EQ(locked->locking_deployments, std::vector<std::string>{"5cd987cd-85ae-4e70-8df7-f1438367d9cb"});

  first_.answer(404, R"({"message":"App '/test' does not exist"})");
  auto missing = marathon.getApp("/test");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("HTTP 404: App '/test' does not exist"), std::string::npos);

  // A PUT answered 404 or 422 is a definite refusal, with Marathon's words.
  auto gone = marathon.updateResources("/test", 1, 128, false, std::nullopt);
  ASSERT_TRUE(gone) << gone.error().message();
  EXPECT_EQ(gone->result, UpdateOutcome::Result::kRefused);
  EXPECT_EQ(gone->message, "HTTP 404: App '/test' does not exist");

  first_.answer(422, R"({"message":"Object is not valid","details":[{"path":"/mem","errors":["error.min"]}]})");
  auto invalid = marathon.updateResources("/test", 1, 128, false, std::nullopt);
  ASSERT_TRUE(invalid) << invalid.error().message();
  EXPECT_EQ(invalid->result, UpdateOutcome::Result::kRefused);
  EXPECT_EQ(invalid->message, R"(HTTP 422: Object is not valid [{"path":"/mem","errors":["error.min"]}])");
  EXPECT_TRUE(invalid->deployment_id.empty());
  EXPECT_FALSE(marathon.updateResources("/test?force=true", 1, 128, false, std::nullopt));
  EXPECT_FALSE(marathon.updateResources("/test", 0, 128, false, std::nullopt));
  EXPECT_EQ(first_.requests().size(), 4u);  // the bad ones were never sent
}

TEST_F(MarathonClientTest, ListsDeploymentsInProgress) {
  first_.answer(200, readReference(kExamples + "deployments.json"));
  auto marathon = client({first_.url()});
  auto deployments = marathon.deployments();
  ASSERT_TRUE(deployments) << deployments.error().message();
  ASSERT_EQ(deployments->size(), 1u);
  EXPECT_EQ(deployments->front().id, "97c136bf-5a28-4821-9d94-480d9fbb01c8");
  ASSERT_EQ(first_.requests().size(), 1u);
  EXPECT_EQ(first_.requests()[0].method, "GET");
  EXPECT_EQ(first_.requests()[0].path, "/v2/deployments");
  first_.answer(200, "[]");
  auto none = marathon.deployments();
  ASSERT_TRUE(none) << none.error().message();
  EXPECT_TRUE(none->empty());
  first_.answer(401, R"({"message":"Unauthorized"})");
  auto refused = marathon.deployments();
  ASSERT_FALSE(refused);  // never an empty list: that would end every deployment followed
  EXPECT_NE(refused.error().message().find("GET /v2/deployments: HTTP 401"), std::string::npos)
      << refused.error().message();
}

TEST_F(MarathonClientTest, ReadsFailOverAndStickToTheMarathonThatAnswered) {
  first_.answer(503, R"({"message":"not the leader"})");
  second_.answer(200, R"({"apps": []})");
  auto marathon = client({deadUrl(), first_.url(), second_.url()});
  ASSERT_TRUE(marathon.listApps());
  EXPECT_EQ(codes_, (std::vector<std::string>{"error", "503", "200"}));
  ASSERT_TRUE(marathon.listApps());
  EXPECT_EQ(first_.requests().size(), 1u);  // the second read went straight to the one that answered
  EXPECT_EQ(second_.requests().size(), 2u);
  second_.answer(500, "{}");
  auto all_down = marathon.listApps();
  ASSERT_FALSE(all_down);
  EXPECT_NE(all_down.error().message().find("no Marathon answered (3 tried)"), std::string::npos)
      << all_down.error().message();
  EXPECT_NE(all_down.error().message().find("HTTP 500"), std::string::npos) << all_down.error().message();
}

TEST_F(MarathonClientTest, AWriteIsNeverSentTwice) {
  // A PUT that times out or gets a 5xx may have happened: it is not sent to
  // the other Marathon.
  first_.answer(200, readReference(kExamples + "deployments_result.json"), 1s);
  second_.answer(200, readReference(kExamples + "deployments_result.json"));
  HttpMarathonOptions options;
  options.urls = {first_.url(), second_.url()};
  options.timeout = 300ms;
  HttpMarathonClient marathon(http_, options);
  auto timed_out = marathon.updateResources("/web", 1, 128, false, std::nullopt);
  ASSERT_FALSE(timed_out);
  EXPECT_EQ(timed_out.error().kind(), ErrorKind::kUnavailable);
  first_.answer(502, "Bad Gateway");
  auto failed = marathon.updateResources("/web", 1, 128, false, std::nullopt);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().kind(), ErrorKind::kHttpStatus);
  EXPECT_TRUE(second_.requests().empty());
}

// The client against the Marathon double, which records what reaches it.
class MarathonClientWithFakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* id : {"/x", "/web", "/a"}) ASSERT_TRUE(marathon_.addApp({.id = id}).ok()) << id;
    ASSERT_TRUE(marathon_.start({"127.0.0.1", 0}).ok());
  }
  HttpMarathonClient client() {
    HttpMarathonOptions options;
    options.urls = {marathon_.url()};
    options.timeout = 5s;
    return HttpMarathonClient(http_, options);
  }

  ManualClock clock_;
  testing::FakeMarathon marathon_{clock_};
  CurlHttpClient http_;
};

// "/web/../x" used to pass, and libcurl squashes dot segments: the PUT meant
// for an app under /web changed /x.
TEST_F(MarathonClientWithFakeTest, IdsMarathonWouldResolveElsewhereAreRefusedUnsent) {
  auto marathon = client();
  for (const std::string id : {"/web/../x", "/x/../../v2/deployments", "/./a", "/web/.", "/Web", "/web-", "/x-"}) {
    auto got = marathon.getApp(id);
    ASSERT_FALSE(got) << id;
    EXPECT_EQ(got.error().kind(), ErrorKind::kInvalidArgument) << id;
    EXPECT_NE(got.error().message().find(id), std::string::npos) << got.error().message();
    auto put = marathon.updateResources(id, 0.25, 64, true, std::nullopt);
    ASSERT_FALSE(put) << id;
    EXPECT_EQ(put.error().kind(), ErrorKind::kInvalidArgument) << id;
    EXPECT_NE(put.error().message().find(id), std::string::npos) << put.error().message();
  }
  EXPECT_TRUE(marathon_.requests().empty());
  EXPECT_DOUBLE_EQ(marathon_.app("/x")->cpus, 1);

  auto web = marathon.getApp("/web");
  ASSERT_TRUE(web) << web.error().message();
  EXPECT_EQ(web->id, "/web");
  ASSERT_EQ(marathon_.requests().size(), 1u);
  EXPECT_EQ(marathon_.requests()[0].path, "/v2/apps/web");
}

TEST_F(MarathonClientWithFakeTest, PutBodyCarriesCpusAndMemRoundedToThreeDecimals) {
  auto marathon = client();
  auto outcome = marathon.updateResources("/a", 0.35000000000000006, 544.0000000001, false, std::nullopt);
  ASSERT_TRUE(outcome) << outcome.error().message();
  EXPECT_EQ(outcome->result, UpdateOutcome::Result::kDeploying);
  ASSERT_EQ(marathon_.requests().size(), 1u);
  EXPECT_EQ(marathon_.requests()[0].path, "/v2/apps/a");
  EXPECT_EQ(marathon_.requests()[0].body, R"({"cpus":0.35,"mem":544})");
  EXPECT_EQ(marathon_.requests()[0].status, 200);

  clock_.advance(1h);  // the deployment ends
  ASSERT_TRUE(marathon.updateResources("/a", 0.0005, 1023.99951, false, std::nullopt));
  EXPECT_EQ(marathon_.requests().back().body, R"({"cpus":0.001,"mem":1024})");

  // Below Marathon's minimum once rounded: refused, naming the figures.
  auto tiny = marathon.updateResources("/a", 0.0004, 64, true, std::nullopt);
  ASSERT_FALSE(tiny);
  EXPECT_EQ(tiny.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(tiny.error().message().find("PUT /v2/apps/a: cpus 4e-04 and mem 64 must be at least 0.001"),
            std::string::npos)
      << tiny.error().message();
  EXPECT_FALSE(marathon.updateResources("/a", 1, 0.0001, true, std::nullopt));
  EXPECT_EQ(marathon_.requests().size(), 2u);
}

}  // namespace
}  // namespace rightsize::sizing
