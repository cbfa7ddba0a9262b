// The sizer's HTTP surface over a real socket: /v1/apps, /v1/decisions,
// /metrics (checked by promtool), /healthz, and Alertmanager's webhook.

#include "rightsize/exporters/sizer_http.h"

#include <gtest/gtest.h>

#include <atomic>

#include "test_support.h"

#include "rightsize/core/json.h"
#include "rightsize/testing/fake_sizer_boundaries.h"

namespace rightsize::exporters {
namespace {

using namespace std::chrono_literals;

const std::string kToken = "s3cret-token";

// Alertmanager's notification (version 4) of one firing CPU hot spot, grouped
// as deploy/alertmanager routes hot spots to the sizer (by app_id and env).
std::string notification(const std::string& app_id) {
  return R"({"version": "4", "receiver": "rightsize-sizer", "status": "firing",
    "groupKey": "{}/{app_id=~\"^(?:.+)$\"}:{app_id=\")" +
         app_id + R"(\", env=\"prod\"}", "truncatedAlerts": 0,
    "groupLabels": {"app_id": ")" +
         app_id + R"(", "env": "prod"},
    "commonLabels": {"alertname": "RightsizeContainerCpuHotSpot", "app_id": ")" +
         app_id + R"(", "env": "prod", "severity": "warning"},
    "commonAnnotations": {}, "externalURL": "http://alertmanager.example.com:9093",
    "alerts": [{"status": "firing", "labels": {"alertname": "RightsizeContainerCpuHotSpot", "app_id": ")" +
         app_id + R"(", "env": "prod", "severity": "warning"}, "annotations": {},
      "startsAt": "2026-11-23T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "http://prometheus.example.com:9090/graph", "fingerprint": "c6b5a1e1a2f0d3e4"}]})";
}

class SizerHttpTest : public ::testing::Test {
 protected:
  SizerHttpTest() : store_(clock_), agents_(marathon_) {}

  void SetUp() override {
    marathon_.add("/web", 2.0, 1024, 2, {{"rightsize.enabled", "true"}});
    agents_.figures["/web"] = {0.3, 0.5, 700, 750, 0};
    marathon_.add("/hot", 1.0, 1024, 2, {{"rightsize.enabled", "true"}, {"rightsize.cpu.max", "zero"}});
    agents_.figures["/hot"] = {1.15, 1.4, 500, 520, 0};
    marathon_.add("/new", 1.0, 256, 1);
    sizing::SizerOptions options;
    options.mode = sizing::Mode::kApply;
    options.owner = "test";
    options.agents = {"http://agent:9540"};
    sizer_ = std::make_unique<sizing::Sizer>(marathon_, agents_, &store_, clock_, metrics_, options);
  }
  void start(std::string token) {
    SizerRouteOptions options;
    options.stall_after = 5min;
    options.webhook_token = std::move(token);
    options.on_alert = [this] { ++alerts_; };
    addSizerRoutes(server_, *sizer_, metrics_, clock_, options);
    ASSERT_TRUE(server_.start().ok());
  }
  Expected<HttpResponse> get(const std::string& path) { return http_.get(server_.baseUrl() + path, 2s); }
  Expected<HttpResponse> post(const std::string& body, const std::string& authorization) {
    HttpClientRequest request;
    request.method = "POST";
    request.url = server_.baseUrl() + "/v1/alerts";
    request.body = body;
    request.headers = {{"Content-Type", "application/json"}};
    if (!authorization.empty()) request.headers.emplace_back("Authorization", authorization);
    request.timeout = 2s;
    return http_.send(request);
  }

  ManualClock clock_;
  testing::FakeMarathonClient marathon_;
  testing::FakeStateStore store_;
  testing::FakeAgentSource agents_;
  SizerMetrics metrics_;
  std::unique_ptr<sizing::Sizer> sizer_;
  HttpServer server_{HttpServerOptions{{"127.0.0.1", 0}}};
  CurlHttpClient http_;
  std::atomic<int> alerts_{0};
};

TEST_F(SizerHttpTest, AppsAsDesignedAndHealthFollowsTheCycles) {
  start(kToken);
  auto starting = get("/healthz");
  ASSERT_TRUE(starting);
  EXPECT_EQ(starting->status, 503);
  EXPECT_NE(starting->body.find(R"("status":"starting")"), std::string::npos);

  sizer_->runCycle();
  auto apps = get("/v1/apps");
  ASSERT_TRUE(apps);
  EXPECT_EQ(apps->content_type, "application/json");
  auto document = json::parse(apps->body, "/v1/apps");
  ASSERT_TRUE(document) << apps->body;
  EXPECT_TRUE((*document)["leader"].GetBool());
  EXPECT_STREQ((*document)["mode"].GetString(), "apply");
  const auto& list = (*document)["apps"];
  ASSERT_EQ(list.Size(), 3u);
  const auto& hot = list[0];
  EXPECT_STREQ(hot["app_id"].GetString(), "/hot");
  for (const char* key : {"app_id", "enabled", "instances", "cpus", "mem", "recommended_cpus", "recommended_mem",
                          "state", "reason", "deployment_id", "waiting_for_slot", "forecast_peak_cpus",
                          "forecast_peak_at", "usage_anomaly_score", "usage_anomaly", "label_errors"}) {
    EXPECT_TRUE(hot.HasMember(key)) << key;
  }
  EXPECT_EQ(hot["label_errors"].Size(), 1u);
  EXPECT_TRUE(hot["deployment_id"].IsNull());
  EXPECT_FALSE(hot["waiting_for_slot"].GetBool());
  // No days seen yet: no forecast, no anomaly.
  EXPECT_TRUE(hot["forecast_peak_cpus"].IsNull());
  EXPECT_TRUE(hot["usage_anomaly_score"].IsNull());
  EXPECT_FALSE(hot["usage_anomaly"].GetBool());
  const auto& fresh = list[1];
  EXPECT_STREQ(fresh["app_id"].GetString(), "/new");
  EXPECT_STREQ(fresh["state"].GetString(), "no_data");
  EXPECT_TRUE(fresh["recommended_cpus"].IsNull());
  EXPECT_FALSE(fresh["enabled"].GetBool());
  EXPECT_DOUBLE_EQ(list[2]["mem"].GetDouble(), 1024);

  auto healthy = get("/healthz");
  ASSERT_TRUE(healthy);
  EXPECT_EQ(healthy->status, 200);
  EXPECT_NE(healthy->body.find(R"("status":"ok")"), std::string::npos) << healthy->body;
  store_.down = true;
  sizer_->runCycle();
  auto degraded = get("/healthz");
  ASSERT_TRUE(degraded);
  EXPECT_EQ(degraded->status, 200);
  EXPECT_NE(degraded->body.find(R"("status":"degraded")"), std::string::npos) << degraded->body;
  clock_.advance(6min);
  auto stalled = get("/healthz");
  ASSERT_TRUE(stalled);
  EXPECT_EQ(stalled->status, 503);
  EXPECT_NE(stalled->body.find(R"("status":"stalled")"), std::string::npos);
}

TEST_F(SizerHttpTest, MetricsPassPromtool) {
  start(kToken);
  for (int i = 0; i < 25; ++i) {
    sizer_->runCycle();
    metrics_.observeCycle(12ms);
    clock_.advance(30s);
  }
  metrics_.countMarathonResponse("200");
  metrics_.countMarathonResponse("error");
  auto metrics = get("/metrics");
  ASSERT_TRUE(metrics);
  for (const char* expected :
       {R"(rightsize_app_cpu_recommended_cores{app_id="/web"} 0.6)", "rightsize_app_memory_recommended_bytes{",
        R"(rightsize_resizes_total{app_id="/hot",direction="up",resource="cpu"} 1)", "rightsize_sizer_is_leader 1",
        R"(rightsize_marathon_requests_total{code="error"} 1)", "rightsize_sizer_cycle_duration_seconds_count 25",
        R"(rightsize_sizer_errors_total{kind="invalid_value"})"}) {
    EXPECT_NE(metrics->body.find(expected), std::string::npos) << expected << "\n" << metrics->body;
  }
  const auto check = testing::promtoolCheckMetrics(metrics->body);
  EXPECT_EQ(check.exit_code, 0) << check.output;

  auto decisions = get("/v1/decisions");
  ASSERT_TRUE(decisions);
  auto document = json::parse(decisions->body, "/v1/decisions");
  ASSERT_TRUE(document) << decisions->body;
  const auto& list = (*document)["decisions"];
  ASSERT_GE(list.Size(), 1u);
  EXPECT_STREQ(list[0]["action"].GetString(), "resize");
  EXPECT_STREQ(list[0]["app_id"].GetString(), "/hot");  // hot spots first: /web waits for it
  EXPECT_DOUBLE_EQ(list[0]["from_cpus"].GetDouble(), 1.0);
}

// Apps whose resize waits for a deployment slot, counted apart when at risk
// (deploy/prometheus/rules/sizer.yml alerts on those); both always present.
TEST(SizerMetricsTest, CountsTheAppsWaitingForASlot) {
  sizing::SizerSnapshot snapshot;
  SizerMetrics metrics;
  const std::string none = metrics.render(snapshot);
  EXPECT_NE(none.find("rightsize_sizer_apps_waiting_for_slot{at_risk=\"true\"} 0\n"), std::string::npos) << none;
  EXPECT_NE(none.find("rightsize_sizer_apps_waiting_for_slot{at_risk=\"false\"} 0\n"), std::string::npos) << none;
  sizing::AppView hot;
  hot.app_id = "/hot";
  hot.waiting_for_slot = true;
  hot.waiting_at_risk = true;
  sizing::AppView idle;
  idle.app_id = "/idle";
  idle.waiting_for_slot = true;
  sizing::AppView other = idle;
  other.app_id = "/other";
  sizing::AppView deploying;
  deploying.app_id = "/deploying";
  deploying.state = sizing::AppState::kDeploying;
  snapshot.apps = {deploying, hot, idle, other};
  const std::string text = metrics.render(snapshot);
  EXPECT_NE(text.find("# TYPE rightsize_sizer_apps_waiting_for_slot gauge\n"), std::string::npos) << text;
  EXPECT_NE(text.find("rightsize_sizer_apps_waiting_for_slot{at_risk=\"true\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("rightsize_sizer_apps_waiting_for_slot{at_risk=\"false\"} 2\n"), std::string::npos) << text;
  const auto check = testing::promtoolCheckMetrics(text);
  EXPECT_EQ(check.exit_code, 0) << check.output;
}

// Each app's bands, for rules and dashboards that judge it by its own band
// (deploy/prometheus/rules/hotspots.yml); none for an app without them.
TEST(SizerMetricsTest, ExportsEachAppsBands) {
  sizing::SizerSnapshot snapshot;
  sizing::AppView web;
  web.app_id = "/web";
  web.cpu_band_cores = sizing::Band{-0.25, 1.5};
  web.mem_band_mib = sizing::Band{-128, 1024};
  sizing::AppView fresh;
  fresh.app_id = "/fresh";
  snapshot.apps = {fresh, web};
  SizerMetrics metrics;
  const std::string text = metrics.render(snapshot);
  for (const char* expected : {
           "# TYPE rightsize_app_cpu_band_low_cores gauge\n"
           "rightsize_app_cpu_band_low_cores{app_id=\"/web\"} -0.25\n",
           "rightsize_app_cpu_band_high_cores{app_id=\"/web\"} 1.5\n",
           "rightsize_app_memory_band_low_bytes{app_id=\"/web\"} -134217728\n",
           "rightsize_app_memory_band_high_bytes{app_id=\"/web\"} 1073741824\n",
       }) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n" << text;
  }
  EXPECT_EQ(text.find(R"(band_low_cores{app_id="/fresh"})"), std::string::npos) << text;
  const auto check = testing::promtoolCheckMetrics(text);
  EXPECT_EQ(check.exit_code, 0) << check.output;

  snapshot.apps = {fresh};
  EXPECT_EQ(metrics.render(snapshot).find("_band_"), std::string::npos);
}

// The time of day: each app's forecast peak and anomaly, once known.
TEST(SizerMetricsTest, ExportsEachAppsAnomalyAndForecast) {
  sizing::SizerSnapshot snapshot;
  sizing::AppView outage;
  outage.app_id = "/web";
  outage.usage_anomaly_score = 7.25;
  outage.usage_anomaly = true;
  outage.forecast_peak_cpus = 1.65;
  sizing::AppView usual;
  usual.app_id = "/db";
  usual.usage_anomaly_score = -0.5;
  sizing::AppView fresh;
  fresh.app_id = "/fresh";
  snapshot.apps = {usual, fresh, outage};
  SizerMetrics metrics;
  const std::string text = metrics.render(snapshot);
  for (const char* expected : {
           "# TYPE rightsize_app_usage_anomaly gauge\n"
           "rightsize_app_usage_anomaly{app_id=\"/db\"} 0\n"
           "rightsize_app_usage_anomaly{app_id=\"/web\"} 1\n",
           "rightsize_app_usage_anomaly_score{app_id=\"/db\"} -0.5\n"
           "rightsize_app_usage_anomaly_score{app_id=\"/web\"} 7.25\n",
           "# TYPE rightsize_app_cpu_forecast_peak_cores gauge\n"
           "rightsize_app_cpu_forecast_peak_cores{app_id=\"/web\"} 1.65\n",
       }) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n" << text;
  }
  // A fresh app has no anomaly nor forecast gauge (only its OOM kills, 0).
  for (const char* gauge : {"rightsize_app_usage_anomaly{", "rightsize_app_usage_anomaly_score{",
                            "rightsize_app_cpu_forecast_peak_cores{"}) {
    EXPECT_EQ(text.find(std::string(gauge) + R"(app_id="/fresh"})"), std::string::npos) << gauge << "\n" << text;
  }
  const auto check = testing::promtoolCheckMetrics(text);
  EXPECT_EQ(check.exit_code, 0) << check.output;
}

TEST(SizerMetricsTest, ExportsTheAgeOfEachResizeInFlight) {
  sizing::SizerSnapshot snapshot;
  snapshot.timestamp = fromUnixSeconds(1'700'003'600.5);
  sizing::AppView deploying;
  deploying.app_id = "/web";
  deploying.state = sizing::AppState::kDeploying;
  deploying.resizing_since = fromUnixSeconds(1'700'000'000);
  sizing::AppView idle;
  idle.app_id = "/idle";
  snapshot.apps = {idle, deploying};
  SizerMetrics metrics;
  const std::string text = metrics.render(snapshot);
  EXPECT_NE(text.find("# TYPE rightsize_app_deployment_age_seconds gauge\n"
                      "rightsize_app_deployment_age_seconds{app_id=\"/web\"} 3600.5\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find(R"(deployment_age_seconds{app_id="/idle"})"), std::string::npos) << text;
  const auto check = testing::promtoolCheckMetrics(text);
  EXPECT_EQ(check.exit_code, 0) << check.output;
}

TEST_F(SizerHttpTest, TheWebhookIsOffWithoutAToken) {
  start("");
  auto answer = post(notification("/hot"), "Bearer ");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 403);
  EXPECT_NE(answer->body.find("RIGHTSIZE_WEBHOOK_TOKEN"), std::string::npos);
  EXPECT_EQ(alerts_, 0);
}

TEST_F(SizerHttpTest, TheWebhookWantsTheBearerTokenAndAValidBody) {
  start(kToken);
  for (const std::string& authorization : {std::string(), std::string("Bearer wrong"), "Basic " + kToken,
                                           "Bearer " + kToken + "x", std::string("Bearer s3cret-toke")}) {
    auto answer = post(notification("/hot"), authorization);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 401) << authorization;
  }
  // Alertmanager's version 4 with a member left out.
  std::string body = notification("/hot");
  const std::string fingerprint = R"(, "fingerprint": "c6b5a1e1a2f0d3e4")";
  ASSERT_NE(body.find(fingerprint), std::string::npos);
  body.erase(body.find(fingerprint), fingerprint.size());
  auto bad = post(body, "Bearer " + kToken);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("alerts[0].fingerprint: missing"), std::string::npos) << bad->body;
  auto get_instead = get("/v1/alerts");
  ASSERT_TRUE(get_instead);
  EXPECT_EQ(get_instead->status, 405);
  EXPECT_EQ(alerts_, 0);
  sizer_->runCycle();
  const std::string text = metrics_.render(*sizer_->snapshot());
  EXPECT_NE(text.find(R"(rightsize_sizer_errors_total{kind="invalid_argument"} 5)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(rightsize_sizer_errors_total{kind="missing_field"} 1)"), std::string::npos) << text;
}

TEST_F(SizerHttpTest, AnAlertGrowsTheNamedHotAppAtOnce) {
  start(kToken);
  sizer_->runCycle();
  clock_.advance(30s);
  sizer_->runCycle();  // /hot has been hot for 30 s: growing waits for 2 min
  EXPECT_EQ(marathon_.putsFor("/hot"), 0u);
  auto answer = post(notification("/hot"), "Bearer " + kToken);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, R"({"apps":["/hot"]})");
  EXPECT_EQ(alerts_, 1);
  sizer_->runCycle();  // what on_alert starts at once in the daemon
  ASSERT_EQ(marathon_.putsFor("/hot"), 1u);
  EXPECT_GT(marathon_.puts.back().cpus, 1.0);
  // The alert is consumed: it does not hurry later cycles.
  EXPECT_EQ(alerts_, 1);
}

TEST_F(SizerHttpTest, AFollowerAnswers503SoThatAlertmanagerRetries) {
  store_.holder = sizing::Lease{"the-leader", 1};
  store_.lease_expires = clock_.now() + 1h;
  start(kToken);
  sizer_->runCycle();
  auto answer = post(notification("/hot"), "Bearer " + kToken);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 503);
  EXPECT_NE(answer->body.find("not the leader"), std::string::npos);
  EXPECT_EQ(alerts_, 0);
}

// A look-only sizer (--mode recommend with Redis) never leads: Alertmanager
// is sent on to the sizer in apply mode.
TEST_F(SizerHttpTest, ALookOnlySizerSendsAlertmanagerToRetry) {
  sizing::SizerOptions options;
  options.mode = sizing::Mode::kRecommend;
  options.owner = "look";
  options.agents = {"http://agent:9540"};
  sizer_ = std::make_unique<sizing::Sizer>(marathon_, agents_, &store_, clock_, metrics_, options);
  start(kToken);
  sizer_->runCycle();
  auto answer = post(notification("/hot"), "Bearer " + kToken);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 503);
  EXPECT_NE(answer->body.find("only recommends"), std::string::npos) << answer->body;
  EXPECT_EQ(alerts_, 0);
  EXPECT_FALSE(store_.holder);
}

// An OOM kill is counted per app, and /v1/apps shows it with the states a
// sick or unusable app takes.
TEST_F(SizerHttpTest, OomKillsAreExportedAndShown) {
  sizing::TaskFailure failure;
  failure.task_id = "web.task-1";
  failure.state = "TASK_FAILED";
  failure.message = "Memory limit exceeded: Requested: 1056MB Maximum Used: 1056MB";
  failure.at = clock_.now();
  failure.version = "v1";
  marathon_.apps["/web"].version = "v1";
  marathon_.apps["/web"].last_task_failure = failure;
  start(kToken);
  sizer_->runCycle();
  auto metrics = get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find(R"(rightsize_app_oom_kills_total{app_id="/web"} 1)"), std::string::npos)
      << metrics->body;
  // An app never killed is at 0: increase() counts a first kill only against
  // an earlier reading.
  for (const auto& [id, app] : marathon_.apps) {
    if (id == "/web") continue;
    EXPECT_NE(metrics->body.find(R"(rightsize_app_oom_kills_total{app_id=")" + id + R"("} 0)"), std::string::npos)
        << id << "\n"
        << metrics->body;
  }
  EXPECT_NE(metrics->body.find(R"(rightsize_sizer_apps{state="unusable"} 0)"), std::string::npos);
  EXPECT_NE(metrics->body.find(R"(rightsize_sizer_apps{state="sick"} 0)"), std::string::npos);
  auto apps = get("/v1/apps");
  ASSERT_TRUE(apps);
  EXPECT_NE(apps->body.find(R"("oom_kills":1,"last_oom_kill":1700000000)"), std::string::npos) << apps->body;
}

// That the token is never logged either is checked on the binary's output
// (tests/cli/sizer_command_test.cc).
TEST_F(SizerHttpTest, TheTokenIsNeverEchoed) {
  start(kToken);
  sizer_->runCycle();
  for (const std::string& authorization :
       {std::string("Bearer guessed-token"), "Bearer " + kToken + "-and-more", std::string("Basic guessed-token")}) {
    auto answer = post(notification("/hot"), authorization);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 401);
    for (const auto& [name, value] : answer->headers) {
      EXPECT_EQ(value.find("guessed"), std::string::npos) << name;
      EXPECT_EQ(value.find(kToken), std::string::npos) << name;
    }
    EXPECT_EQ(answer->body.find("guessed"), std::string::npos) << answer->body;
    EXPECT_EQ(answer->body.find(kToken), std::string::npos) << answer->body;
  }
  auto accepted = post(notification("/hot"), "Bearer " + kToken);
  ASSERT_TRUE(accepted);
  EXPECT_EQ(accepted->status, 200);
  EXPECT_EQ(accepted->body.find(kToken), std::string::npos) << accepted->body;
  sizer_->runCycle();
  for (const char* path : {"/v1/apps", "/v1/decisions", "/metrics", "/healthz"}) {
    auto answer = get(path);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->body.find(kToken), std::string::npos) << path;
  }
}

TEST_F(SizerHttpTest, OversizedAlertBodiesAre413AndCounted) {
  start(kToken);
  // Without the token the body is not even read: 401, not 413.
  auto stranger = post(std::string((1 << 20) + 1, ' '), "Bearer wrong");
  ASSERT_TRUE(stranger);
  EXPECT_EQ(stranger->status, 401);
  auto oversized = post(std::string((1 << 20) + 1, ' '), "Bearer " + kToken);
  ASSERT_TRUE(oversized);
  EXPECT_EQ(oversized->status, 413);
  EXPECT_NE(oversized->body.find("exceeds the limit of 1048576 bytes"), std::string::npos) << oversized->body;
  EXPECT_EQ(alerts_, 0);
  const std::string text = metrics_.render(*sizer_->snapshot());
  EXPECT_NE(text.find(R"(rightsize_sizer_errors_total{kind="invalid_value"} 1)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(rightsize_sizer_errors_total{kind="invalid_argument"} 1)"), std::string::npos) << text;
}

}  // namespace
}  // namespace rightsize::exporters
