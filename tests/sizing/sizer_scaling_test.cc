// Horizontal scaling through the sizer's real cycle and boundaries: the
// Marathon double over HTTP (a PUT of instances alone is a ScaleApplication:
// tasks started or stopped, the others kept), a real redis-server on a free
// loopback port, and an agent double serving /v1/containers and /v1/lag.
// Cycles are driven by hand on a manual clock shared with the double.

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>

#include "sizer_process.h"

#include "rightsize/core/http.h"
#include "rightsize/exporters/sizer_http.h"
#include "rightsize/sizing/redis_store.h"
#include "rightsize/sizing/sizer.h"
#include "rightsize/testing/fake_agent.h"
#include "rightsize/testing/fake_marathon.h"
#include "rightsize/testing/redis_harness.h"

namespace rightsize::sizing {
namespace {

using namespace std::chrono_literals;

class SizerScalingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto redis = testing::RedisServer::start({});
    ASSERT_TRUE(redis) << redis.error().message();
    redis_ = std::move(*redis);
    testing::FakeMarathonOptions marathon_options;
    marathon_options.deployment_duration = 2min;
    marathon_ = std::make_unique<testing::FakeMarathon>(clock_, marathon_options);
    ASSERT_TRUE(marathon_->start({"127.0.0.1", 0}).ok());
    agent_ = std::make_unique<testing::FakeAgent>(*marathon_);
    ASSERT_TRUE(agent_->start().ok());
  }

  // An enabled app of 1 cpu and 1024 MiB with these labels too.
  void addApp(const std::string& id, int instances, std::map<std::string, std::string> labels) {
    testing::FakeAppSpec spec;
    spec.id = id;
    spec.cpus = 1.0;
    spec.mem_mib = 1024;
    spec.instances = instances;
    spec.labels = std::move(labels);
    spec.labels["rightsize.enabled"] = "true";
    ASSERT_TRUE(marathon_->addApp(spec).ok());
  }

  SizerOptions options(const std::string& owner) const {
    SizerOptions o;
    o.mode = Mode::kApply;
    o.owner = owner;
    o.lease_ttl = 1s;
    o.agents = {"http://" + agent_->address()};
    o.policy.min_history = o.policy.sustain;
    o.policy.min_task_age = 0s;
    return o;
  }
  std::unique_ptr<SizerProcess> startSizer(const std::string& owner) {
    return std::make_unique<SizerProcess>(marathon_->url(), *redis_, clock_, options(owner));
  }
  static bool waitForLeadership(SizerProcess& sizer) {
    for (int i = 0; i < 50; ++i) {
      sizer.sizer->runCycle();
      if (sizer.sizer->snapshot()->leader) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }
  // One cycle, then 30 s on.
  void cycle(SizerProcess& sizer) {
    sizer.sizer->runCycle();
    clock_.advance(30s);
  }
  static const AppView* view(SizerProcess& sizer, const std::string& app_id) {
    static thread_local std::shared_ptr<const SizerSnapshot> kept;
    kept = sizer.sizer->snapshot();
    for (const auto& app : kept->apps) {
      if (app.app_id == app_id) return &app;
    }
    return nullptr;
  }
  int instances(const std::string& app_id) const {
    auto app = marathon_->app(app_id);
    return app ? app->instances : -1;
  }
  std::set<std::string> taskIds(const std::string& app_id) const {
    std::set<std::string> ids;
    if (auto app = marathon_->app(app_id)) {
      for (const auto& task : app->tasks) ids.insert(task.id);
    }
    return ids;
  }
  std::vector<std::string> putBodies(const std::string& app_id) const {
    std::vector<std::string> bodies;
    for (const auto& request : marathon_->requests()) {
      if (request.method == "PUT" && request.path == "/v2/apps" + app_id && request.status == 200) {
        bodies.push_back(request.body);
      }
    }
    return bodies;
  }
  std::vector<std::string> decisionActions() { return storedDecisionActions(*redis_); }
  // `lag_seconds` of lag on each of `partitions` partitions of topic "orders",
  // for group "orders" of `app_id`.
  void setLag(const std::string& app_id, int partitions, double lag_seconds, wire::LagStatus status) {
    wire::LagGroup group;
    group.group = "orders";
    group.app_id = app_id;
    group.status = status;
    for (int p = 0; p < partitions; ++p) {
      wire::LagPartition partition;
      partition.topic = "orders";
      partition.partition = p;
      partition.lag_messages = static_cast<std::int64_t>(lag_seconds * 100);
      partition.lag_seconds = lag_seconds;
      partition.status = status;
      group.partitions.push_back(partition);
    }
    agent_->setLag({group});
  }

  ManualClock clock_;
  std::unique_ptr<testing::RedisServer> redis_;
  std::unique_ptr<testing::FakeMarathon> marathon_;
  std::unique_ptr<testing::FakeAgent> agent_;
};

// Each task at 95 % of what its container reserves (1 cpu + the executor's
// 0.1): inside the CPU band, so no resize; the mean is above 80 %.
constexpr testing::FakeAgent::Figures kBusy{1.045, 1.045, 700, 0};

// One deployment slot, two apps to scale out: the second waits for the
// slot, and says so in /v1/apps and the metrics.
TEST_F(SizerScalingTest, AScaleWaitsForADeploymentSlot) {
  for (const char* id : {"/shop/api", "/shop/web"}) {
    addApp(id, 2, {{"rightsize.instances.min", "2"}, {"rightsize.instances.max", "6"}});
    agent_->set(id, kBusy);
  }
  auto sizer = startSizer("sizer-a");
  ASSERT_TRUE(waitForLeadership(*sizer));
  for (int i = 0; i < 4; ++i) cycle(*sizer);
  ASSERT_EQ(putBodies("/shop/api"), std::vector<std::string>{R"({"instances":3})"});
  EXPECT_TRUE(putBodies("/shop/web").empty());
  const AppView* waiting = view(*sizer, "/shop/web");
  ASSERT_NE(waiting, nullptr);
  EXPECT_TRUE(waiting->waiting_for_slot);
  EXPECT_FALSE(waiting->waiting_at_risk);
  EXPECT_NE(waiting->scale_reason.find("waiting: 1 deployment(s) of the sizer in progress"), std::string::npos)
      << waiting->scale_reason;
  EXPECT_FALSE(view(*sizer, "/shop/api")->waiting_for_slot);
  const std::string metrics = sizer->metrics.render(*sizer->sizer->snapshot());
  EXPECT_NE(metrics.find(R"(rightsize_sizer_apps_waiting_for_slot{at_risk="false"} 1)"), std::string::npos) << metrics;
  for (int i = 0; i < 6; ++i) cycle(*sizer);  // the 2-minute deployment ends; /shop/web's starts
  EXPECT_EQ(putBodies("/shop/web"), std::vector<std::string>{R"({"instances":3})"});
  EXPECT_FALSE(view(*sizer, "/shop/web")->waiting_for_slot);
}

TEST_F(SizerScalingTest, AnAppAt95PercentCpuOfTwoInstancesGetsMoreWithinItsBounds) {
  addApp("/shop/api", 2, {{"rightsize.instances.min", "2"}, {"rightsize.instances.max", "6"}});
  agent_->set("/shop/api", kBusy);
  const std::set<std::string> first_tasks = taskIds("/shop/api");
  auto sizer = startSizer("sizer-a");
  ASSERT_TRUE(waitForLeadership(*sizer));
  // Above 80 % for --scale-sustain (1m): out by one.
  for (int i = 0; i < 4; ++i) cycle(*sizer);
  ASSERT_EQ(putBodies("/shop/api"), std::vector<std::string>{R"({"instances":3})"});
  EXPECT_EQ(instances("/shop/api"), 3);
  const auto deployments = marathon_->deployments();
  ASSERT_EQ(deployments.size(), 1u);
  EXPECT_EQ(deployments[0].actions, std::vector<std::string>{"ScaleApplication"});
  EXPECT_EQ(std::string(appStateName(view(*sizer, "/shop/api")->state)), "deploying");
  for (int i = 0; i < 6; ++i) cycle(*sizer);  // the 2-minute deployment ends
  // Scaling started a task and restarted none.
  const std::set<std::string> after = taskIds("/shop/api");
  EXPECT_EQ(after.size(), 3u);
  EXPECT_TRUE(std::includes(after.begin(), after.end(), first_tasks.begin(), first_tasks.end()));
  const auto app = marathon_->app("/shop/api");
  EXPECT_DOUBLE_EQ(app->cpus, 1.0);
  EXPECT_DOUBLE_EQ(app->mem_mib, 1024);

  // Still busy: one more every interval (5m), never above 6.
  int most = 0;
  for (int i = 0; i < 90; ++i) {
    cycle(*sizer);
    most = std::max(most, instances("/shop/api"));
  }
  EXPECT_EQ(most, 6);
  EXPECT_EQ(instances("/shop/api"), 6);
  EXPECT_EQ(putBodies("/shop/api").size(), 4u);
  EXPECT_EQ(marathon_->puts("/shop/api").refused, 0u);
  const AppView* shown = view(*sizer, "/shop/api");
  ASSERT_NE(shown, nullptr);
  EXPECT_EQ(shown->recommended_instances, 6);
  EXPECT_NE(shown->scale_reason.find("at its maximum of 6 instances"), std::string::npos) << shown->scale_reason;
  const auto actions = decisionActions();
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "scale"), 4);
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "resize"), 0);

  // What an operator sees over HTTP.
  HttpServer server(HttpServerOptions{{"127.0.0.1", 0}});
  exporters::SizerRouteOptions route_options;
  route_options.stall_after = 10min;
  exporters::addSizerRoutes(server, *sizer->sizer, sizer->metrics, clock_, route_options);
  ASSERT_TRUE(server.start().ok());
  CurlHttpClient http;
  auto apps = http.get(server.baseUrl() + "/v1/apps", 2s);
  ASSERT_TRUE(apps);
  EXPECT_NE(apps->body.find(R"("instances":6,"recommended_instances":6,"scale_reason":"cpu at 95% of its reservation)"),
            std::string::npos)
      << apps->body;
  auto metrics = http.get(server.baseUrl() + "/metrics", 2s);
  ASSERT_TRUE(metrics);
  for (const char* series : {R"(rightsize_app_instances{app_id="/shop/api"} 6)",
                             R"(rightsize_app_instances_recommended{app_id="/shop/api"} 6)",
                             R"(rightsize_scales_total{app_id="/shop/api",direction="out"} 4)"}) {
    EXPECT_NE(metrics->body.find(series), std::string::npos) << series << "\n" << metrics->body;
  }
  auto decisions = http.get(server.baseUrl() + "/v1/decisions", 2s);
  ASSERT_TRUE(decisions);
  EXPECT_NE(decisions->body.find(R"("from_instances":5,"to_instances":6)"), std::string::npos) << decisions->body;
  server.stop();
}

TEST_F(SizerScalingTest, AScaleKeepsTheResourceLimitsSoThatNoTaskRestarts) {
  testing::FakeAppSpec spec;
  spec.id = "/shop/burst";
  spec.cpus = 1.0;
  spec.mem_mib = 1024;
  spec.instances = 2;
  spec.resource_limits = testing::FakeResourceLimits{2.0, 2048.0};
  spec.labels = {{"rightsize.enabled", "true"},
                 {"rightsize.instances.min", "2"},
                 {"rightsize.instances.max", "3"},
                 // Its use is within the band it would have as burstable too.
                 {"rightsize.cpu.band", "-0.1:2"}};
  ASSERT_TRUE(marathon_->addApp(spec).ok());
  agent_->set("/shop/burst", kBusy);
  const std::set<std::string> first_tasks = taskIds("/shop/burst");
  auto sizer = startSizer("sizer-a");
  ASSERT_TRUE(waitForLeadership(*sizer));
  for (int i = 0; i < 4; ++i) cycle(*sizer);
  ASSERT_EQ(putBodies("/shop/burst"),
            std::vector<std::string>{R"({"instances":3,"resourceLimits":{"cpus":2,"mem":2048}})"});
  EXPECT_EQ(marathon_->deployments().at(0).actions, std::vector<std::string>{"ScaleApplication"});
  for (int i = 0; i < 6; ++i) cycle(*sizer);
  const std::set<std::string> after = taskIds("/shop/burst");
  EXPECT_TRUE(std::includes(after.begin(), after.end(), first_tasks.begin(), first_tasks.end()));
  EXPECT_EQ(marathon_->app("/shop/burst")->resource_limits, (testing::FakeResourceLimits{2.0, 2048.0}));
}

TEST_F(SizerScalingTest, AConsumerLaggingNotThrottledAtItsPartitionsGetsNoMoreInstances) {
  addApp("/stream/orders", 4,
         {{"rightsize.instances.min", "1"},
          {"rightsize.instances.max", "8"},
          {"rightsize.scale.metric", "kafka_lag_seconds"}});
  agent_->set("/stream/orders", {0.5, 0.6, 700, 0});
  setLag("/stream/orders", 4, 300, wire::LagStatus::kWarn);
  auto sizer = startSizer("sizer-a");
  ASSERT_TRUE(waitForLeadership(*sizer));
  for (int i = 0; i < 40; ++i) cycle(*sizer);  // 20 minutes
  EXPECT_EQ(marathon_->puts("/stream/orders").accepted + marathon_->puts("/stream/orders").refused, 0u);
  EXPECT_EQ(instances("/stream/orders"), 4);
  const AppView* shown = view(*sizer, "/stream/orders");
  ASSERT_NE(shown, nullptr);
  EXPECT_EQ(shown->recommended_instances, 4);
  EXPECT_NE(shown->scale_reason.find("consumer lag 300s (above 60s) with 4 instances on 4 partitions, not throttled"),
            std::string::npos)
      << shown->scale_reason;
  EXPECT_NE(shown->scale_reason.find("the bottleneck is elsewhere"), std::string::npos) << shown->scale_reason;
}

TEST_F(SizerScalingTest, ALaggingConsumerGetsInstancesUpToItsPartitionsNeverMore) {
  addApp("/stream/orders", 3,
         {{"rightsize.instances.min", "1"},
          {"rightsize.instances.max", "8"},
          {"rightsize.scale.step", "2"},
          {"rightsize.scale.metric", "kafka_lag_seconds"}});
  agent_->set("/stream/orders", {0.5, 0.6, 700, 0});
  setLag("/stream/orders", 4, 300, wire::LagStatus::kWarn);
  auto sizer = startSizer("sizer-a");
  ASSERT_TRUE(waitForLeadership(*sizer));
  for (int i = 0; i < 40; ++i) cycle(*sizer);
  EXPECT_EQ(putBodies("/stream/orders"), std::vector<std::string>{R"({"instances":4})"});  // 3 + 2, but 4 partitions
  EXPECT_EQ(instances("/stream/orders"), 4);
}

TEST_F(SizerScalingTest, ALaggingThrottledConsumerGetsMoreCpuNotMoreInstances) {
  addApp("/stream/orders", 2,
         {{"rightsize.instances.min", "1"},
          {"rightsize.instances.max", "8"},
          {"rightsize.scale.metric", "kafka_lag_seconds"}});
  agent_->set("/stream/orders", {0.9, 1.0, 700, 0.4});
  setLag("/stream/orders", 4, 300, wire::LagStatus::kWarn);
  auto sizer = startSizer("sizer-a");
  ASSERT_TRUE(waitForLeadership(*sizer));
  for (int i = 0; i < 24; ++i) cycle(*sizer);  // 12 minutes: the resize's --sustain is 10
  const AppView* shown = view(*sizer, "/stream/orders");
  ASSERT_NE(shown, nullptr);
  EXPECT_EQ(instances("/stream/orders"), 2);
  const auto app = marathon_->app("/stream/orders");
  EXPECT_GT(app->cpus, 1.0);
  const auto bodies = putBodies("/stream/orders");
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_EQ(bodies[0].find("instances"), std::string::npos) << bodies[0];
  EXPECT_NE(shown->scale_reason.find("more CPU per instance (a resize), not more instances"), std::string::npos)
      << shown->scale_reason;
}

TEST_F(SizerScalingTest, AnIdleAppScalesInNoLowerThanItsMinimumAndNotBeforeItsInterval) {
  addApp("/shop/idle", 4,
         {{"rightsize.instances.min", "2"},
          {"rightsize.instances.max", "6"},
          {"rightsize.scale.interval", "5m"},
          // Idle at 5 % of its CPU: kept out of the resize's way.
          {"rightsize.cpu.band", "-0.1:2"}});
  agent_->set("/shop/idle", {0.055, 0.06, 700, 0});
  auto sizer = startSizer("sizer-a");
  ASSERT_TRUE(waitForLeadership(*sizer));
  const TimePoint start = clock_.now();
  std::vector<Duration> changes;  // when the instances changed, since the start
  int last = instances("/shop/idle");
  for (int i = 0; i < 80; ++i) {  // 40 minutes
    cycle(*sizer);
    const int now = instances("/shop/idle");
    if (now != last) changes.push_back(clock_.now() - start);
    EXPECT_GE(now, 2);
    last = now;
  }
  EXPECT_EQ(instances("/shop/idle"), 2);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_GE(changes[0], 5min);               // below 30 % for the whole interval first
  EXPECT_GE(changes[1] - changes[0], 5min);  // and an interval between decisions
  EXPECT_EQ(putBodies("/shop/idle"), (std::vector<std::string>{R"({"instances":3})", R"({"instances":2})"}));
  const AppView* shown = view(*sizer, "/shop/idle");
  ASSERT_NE(shown, nullptr);
  EXPECT_NE(shown->scale_reason.find("at its minimum of 2 instances"), std::string::npos) << shown->scale_reason;
  EXPECT_EQ(std::string(appStateName(shown->state)), "idle");
}

// Alertmanager's notification asking /shop/api to scale out, as the rule of
// deploy/prometheus/rules/scaling.yml fires it.
std::string scaleAlert(const std::string& direction) {
  return R"({"receiver": "rightsize-sizer", "status": "firing", "version": "4", "groupKey": "{}:{}",
    "truncatedAlerts": 0, "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
    "externalURL": "http://alertmanager.example.com:9093",
    "alerts": [{"status": "firing", "labels": {"alertname": "RightsizeScaleOut", "app_id": "/shop/api",
                "rightsize_scale": ")" +
         direction + R"("}, "annotations": {}, "startsAt": "2026-11-23T10:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": "a1"}]})";
}

TEST_F(SizerScalingTest, AnAlertScalesOutOnceWithinTheBoundsAndTheInterval) {
  // Half its reservation: no scale of its own.
  addApp("/shop/api", 2, {{"rightsize.instances.min", "2"}, {"rightsize.instances.max", "3"}});
  agent_->set("/shop/api", {0.55, 0.6, 700, 0});
  auto sizer = startSizer("sizer-a");
  ASSERT_TRUE(waitForLeadership(*sizer));
  HttpServer server(HttpServerOptions{{"127.0.0.1", 0}});
  exporters::SizerRouteOptions route_options;
  route_options.stall_after = 10min;
  route_options.webhook_token = "hook-token";
  int alerts = 0;
  route_options.on_alert = [&alerts] { ++alerts; };
  exporters::addSizerRoutes(server, *sizer->sizer, sizer->metrics, clock_, route_options);
  ASSERT_TRUE(server.start().ok());
  CurlHttpClient http;
  auto post = [&](const std::string& body) {
    HttpClientRequest request;
    request.method = "POST";
    request.url = server.baseUrl() + "/v1/alerts";
    request.headers = {{"Authorization", "Bearer hook-token"}};
    request.body = body;
    return http.send(request);
  };
  for (int i = 0; i < 4; ++i) cycle(*sizer);
  EXPECT_TRUE(putBodies("/shop/api").empty());
  auto answer = post(scaleAlert("out"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200) << answer->body;
  EXPECT_EQ(answer->body, R"({"apps":["/shop/api"]})");
  EXPECT_EQ(alerts, 1);
  cycle(*sizer);  // the cycle the alert starts
  EXPECT_EQ(putBodies("/shop/api"), std::vector<std::string>{R"({"instances":3})"});
  EXPECT_NE(view(*sizer, "/shop/api")->scale_reason.find("an alert asked to scale out: 2 -> 3 instances"),
            std::string::npos)
      << view(*sizer, "/shop/api")->scale_reason;
  // Once: the next cycles scale nothing on their own, and the same alert
  // again, at the maximum, asks nothing more.
  for (int i = 0; i < 20; ++i) cycle(*sizer);
  ASSERT_TRUE(post(scaleAlert("out")));
  for (int i = 0; i < 4; ++i) cycle(*sizer);
  EXPECT_EQ(putBodies("/shop/api").size(), 1u);
  EXPECT_EQ(instances("/shop/api"), 3);
  // In, once the interval since the last decision has passed (12 minutes).
  answer = post(scaleAlert("in"));
  ASSERT_TRUE(answer);
  cycle(*sizer);
  EXPECT_EQ(putBodies("/shop/api").size(), 2u);
  EXPECT_EQ(instances("/shop/api"), 2);
  for (int i = 0; i < 6; ++i) cycle(*sizer);  // its deployment ends
  // Out again 3 minutes after that decision: not before the interval.
  ASSERT_TRUE(post(scaleAlert("out")));
  cycle(*sizer);
  EXPECT_EQ(putBodies("/shop/api").size(), 2u);
  EXPECT_NE(view(*sizer, "/shop/api")->scale_reason.find("the next scale decision from"), std::string::npos)
      << view(*sizer, "/shop/api")->scale_reason;
  // A bad direction is refused by name and counted.
  ASSERT_TRUE(post(scaleAlert("sideways")));
  const std::string metrics = sizer->metrics.render(*sizer->sizer->snapshot());
  EXPECT_EQ(metrics.find(R"(rightsize_sizer_errors_total{kind="invalid_value"} 0)"), std::string::npos) << metrics;
  server.stop();
}

// A scale has a resize's safety: a PUT answered 503 (not applied) is
// settled by reading Marathon, a 409 backs off, and the scale is made once.
TEST_F(SizerScalingTest, A503AndA409NeverCauseASecondScale) {
  addApp("/shop/api", 2, {{"rightsize.instances.min", "2"}, {"rightsize.instances.max", "3"}});
  agent_->set("/shop/api", kBusy);
  testing::MarathonFault unavailable;
  unavailable.kind = testing::MarathonFault::Kind::kHttpStatus;
  unavailable.http_status = 503;
  unavailable.method = "PUT";
  marathon_->addFault(unavailable);
  testing::MarathonFault locked;
  locked.kind = testing::MarathonFault::Kind::kLocked;
  locked.method = "PUT";
  marathon_->addFault(locked);
  auto sizer = startSizer("sizer-a");
  ASSERT_TRUE(waitForLeadership(*sizer));
  int most = 0;
  for (int i = 0; i < 40; ++i) {  // 20 minutes
    cycle(*sizer);
    most = std::max(most, instances("/shop/api"));
  }
  EXPECT_EQ(most, 3);
  EXPECT_EQ(instances("/shop/api"), 3);
  EXPECT_EQ(marathon_->puts("/shop/api").accepted, 1u);
  EXPECT_EQ(marathon_->puts("/shop/api").refused, 2u);
  const auto actions = decisionActions();
  EXPECT_EQ(actions, (std::vector<std::string>{"resize_unconfirmed", "resize_refused", "scale", "deployment_done"}));
  EXPECT_EQ(std::string(appStateName(view(*sizer, "/shop/api")->state)), "idle");
}

TEST_F(SizerScalingTest, BadScalingLabelsAreShownCountedAndScaleNothing) {
  addApp("/shop/api", 2, {{"rightsize.instances.min", "two"}, {"rightsize.instances.max", "6"}});
  agent_->set("/shop/api", kBusy);
  auto sizer = startSizer("sizer-a");
  ASSERT_TRUE(waitForLeadership(*sizer));
  for (int i = 0; i < 20; ++i) cycle(*sizer);
  EXPECT_EQ(marathon_->puts("/shop/api").accepted + marathon_->puts("/shop/api").refused, 0u);
  const AppView* shown = view(*sizer, "/shop/api");
  ASSERT_NE(shown, nullptr);
  EXPECT_EQ(shown->label_errors,
            std::vector<std::string>{"rightsize.instances.min: 'two' is not a whole number from 1 to 10000"});
  EXPECT_EQ(shown->recommended_instances, std::nullopt);
  const std::string metrics = sizer->metrics.render(*sizer->sizer->snapshot());
  EXPECT_EQ(metrics.find(R"(rightsize_sizer_errors_total{kind="invalid_value"} 0)"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find(R"(rightsize_sizer_errors_total{kind="invalid_value"})"), std::string::npos) << metrics;
  EXPECT_EQ(metrics.find("rightsize_app_instances_recommended"), std::string::npos) << metrics;
}

TEST_F(SizerScalingTest, ARestartedSizerFollowsItsScaleFromRedisAndNeverPutsTwice) {
  addApp("/shop/api", 2, {{"rightsize.instances.min", "2"}, {"rightsize.instances.max", "6"}});
  agent_->set("/shop/api", kBusy);
  {
    auto sizer = startSizer("sizer-a");
    ASSERT_TRUE(waitForLeadership(*sizer));
    for (int i = 0; i < 4; ++i) cycle(*sizer);
    ASSERT_EQ(putBodies("/shop/api").size(), 1u);
    // Killed mid-deployment: no resign, the lease expires on Redis' clock.
  }
  auto sizer = startSizer("sizer-b");
  ASSERT_TRUE(waitForLeadership(*sizer));
  const AppView* shown = view(*sizer, "/shop/api");
  ASSERT_NE(shown, nullptr);
  EXPECT_EQ(std::string(appStateName(shown->state)), "deploying");
  EXPECT_EQ(shown->reason, "scaling to 3 instances");
  // The deployment ends; the next scale waits the interval from the first
  // decision, which the new leader read from Redis.
  for (int i = 0; i < 6; ++i) cycle(*sizer);
  EXPECT_EQ(putBodies("/shop/api").size(), 1u);
  EXPECT_EQ(marathon_->puts("/shop/api").refused, 0u);
  const auto actions = decisionActions();
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "scale"), 1);
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "deployment_done"), 1);
  EXPECT_EQ(instances("/shop/api"), 3);
}

}  // namespace
}  // namespace rightsize::sizing
