// `rightsize sizer`: its flags and environment, then the binary end to end
// against the Marathon double, an agent double and a real redis-server.

#include "sizer_command.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <tuple>
#include <utility>

#include "test_support.h"

#include "rightsize/core/http.h"
#include "rightsize/core/json.h"
#include "rightsize/core/text.h"
#include "rightsize/testing/fake_agent.h"
#include "rightsize/testing/fake_marathon.h"
#include "rightsize/testing/redis_harness.h"

namespace rightsize::cli {
namespace {

using namespace std::chrono_literals;

// An Alertmanager webhook notification (version 4, every member as
// Alertmanager sends it) of a firing alert on /shop/web.
constexpr const char* kAlertOnWeb = R"({"version": "4", "groupKey": "{}:{alertname=\"RightsizeCpuThrottled\"}",
  "truncatedAlerts": 0, "status": "firing", "receiver": "rightsize",
  "groupLabels": {"alertname": "RightsizeCpuThrottled"},
  "commonLabels": {"alertname": "RightsizeCpuThrottled", "app_id": "/shop/web"},
  "commonAnnotations": {}, "externalURL": "http://alertmanager:9093",
  "alerts": [{"status": "firing", "labels": {"alertname": "RightsizeCpuThrottled", "app_id": "/shop/web"},
              "annotations": {}, "startsAt": "2026-11-24T03:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
              "generatorURL": "http://prometheus:9090/graph", "fingerprint": "5bd1f1e3f4a1c2b7"}]})";

TEST(SizerFlagsTest, DefaultsAreRecommendModeWithoutRedis) {
  SizerFlags flags;
  auto settings = resolveSizerSettings(flags);
  ASSERT_TRUE(settings) << settings.error().message();
  EXPECT_EQ(settings->sizer.mode, sizing::Mode::kRecommend);
  EXPECT_FALSE(settings->redis);
  EXPECT_EQ(settings->interval, 30s);
  EXPECT_EQ(settings->sizer.lease_ttl, 90s);
  EXPECT_EQ(settings->sizer.policy.sustain, 10min);
  EXPECT_EQ(settings->sizer.policy.min_history, 6h);
  EXPECT_EQ(settings->sizer.defaults.cooldown, 30min);
  EXPECT_EQ(settings->sizer.defaults.max_downsizes, 1);
  EXPECT_EQ(settings->sizer.defaults.min_change, 0.1);
  EXPECT_EQ(settings->sizer.defaults.min_change_cpus, 0.25);
  EXPECT_EQ(settings->sizer.defaults.min_change_mem_mib, 512);
  EXPECT_EQ(settings->sizer.downsize_window, 24h);
  EXPECT_EQ(settings->sizer.scale.interval, 5min);
  EXPECT_EQ(settings->sizer.scale.sustain, 1min);
  EXPECT_EQ(settings->sizer.policy.min_task_age, 6h);
  EXPECT_EQ(settings->sizer.policy.min_app_age, 24h);
  EXPECT_EQ(settings->sizer.history.mem_days, 7);
  EXPECT_EQ(settings->sizer.history.cpu_half_life, 24h);
  EXPECT_EQ(settings->sizer.history.floor_min_days, 1);
  EXPECT_EQ(settings->sizer.history.profile_min_days, 2);
  EXPECT_EQ(settings->sizer.history.anomaly_min_days, 3);
  EXPECT_EQ(settings->sizer.history.anomaly_sigmas, 3);
  EXPECT_EQ(settings->sizer.search_back_window, std::chrono::days(7));
  EXPECT_EQ(settings->sizer.policy.wrong_shrink_hold, 48h);
  EXPECT_FALSE(settings->sizer.defaults.allow_single_instance);
  EXPECT_FALSE(settings->sizer.defaults.burstable);
  EXPECT_EQ(settings->sizer.policy.hot_host, 0.9);
  EXPECT_EQ(settings->sizer.max_concurrent_deployments, 1u);
  EXPECT_EQ(settings->sizer.max_concurrent_oom_deployments, 2u);
  EXPECT_EQ(settings->sizer.retry_after, 1min);
  EXPECT_EQ(settings->sizer.unconfirmed_grace, 1min);
  EXPECT_EQ(settings->listen.port, 9541);
  // No wait for the tasks' age, and single-instance apps shrunk too.
  flags.policy.min_task_age = "0s";
  flags.policy.min_app_age = "0s";
  flags.allow_single_instance = true;
  flags.limits = "burstable";  // every enabled app burstable
  flags.hot_host = 0.8;
  flags.scale_interval = "10m";
  flags.max_concurrent_oom_deployments = 0;
  flags.retry_after = "30s";
  flags.policy.forecast_days = 3;
  flags.policy.anomaly_days = 5;
  flags.policy.anomaly_sigmas = 4.5;
  flags.unconfirmed_grace = "2m";
  settings = resolveSizerSettings(flags);
  ASSERT_TRUE(settings) << settings.error().message();
  EXPECT_EQ(settings->sizer.policy.min_task_age, 0s);
  EXPECT_EQ(settings->sizer.policy.min_app_age, 0s);
  EXPECT_TRUE(settings->sizer.defaults.allow_single_instance);
  EXPECT_TRUE(settings->sizer.defaults.burstable);
  EXPECT_EQ(settings->sizer.policy.hot_host, 0.8);
  EXPECT_EQ(settings->sizer.scale.interval, 10min);
  EXPECT_EQ(settings->sizer.max_concurrent_oom_deployments, 0u);
  EXPECT_EQ(settings->sizer.retry_after, 30s);
  EXPECT_EQ(settings->sizer.history.profile_min_days, 3);
  EXPECT_EQ(settings->sizer.history.anomaly_min_days, 5);
  EXPECT_EQ(settings->sizer.history.anomaly_sigmas, 4.5);
  EXPECT_EQ(settings->sizer.unconfirmed_grace, 2min);
  EXPECT_TRUE(settings->webhook_token.empty());
}

// The deployment slots' flags as the command line and the environment give
// them: --max-concurrent-oom-deployments from 0 to 1000.
TEST(SizerFlagsTest, DeploymentSlotsComeFromFlagsOrTheEnvironment) {
  const auto parse = [](std::vector<std::string> args) {
    CLI::App app("test");
    SizerFlags flags;
    addSizerCommand(app, flags);
    args.insert(args.begin(), "sizer");
    std::reverse(args.begin(), args.end());  // CLI11 takes a reversed vector
    std::string error;
    try {
      app.parse(args);
    } catch (const CLI::ParseError& e) {
      error = e.what();
    }
    return std::pair{flags, error};
  };
  auto [flags, error] = parse({"--max-concurrent-oom-deployments", "5"});
  EXPECT_EQ(error, "");
  EXPECT_EQ(flags.max_concurrent_oom_deployments, 5u);
  ::setenv("RIGHTSIZE_MAX_CONCURRENT_OOM_DEPLOYMENTS", "0", 1);
  std::tie(flags, error) = parse({});
  ::unsetenv("RIGHTSIZE_MAX_CONCURRENT_OOM_DEPLOYMENTS");
  EXPECT_EQ(error, "");
  EXPECT_EQ(flags.max_concurrent_oom_deployments, 0u);
  std::tie(flags, error) = parse({"--max-concurrent-oom-deployments", "1001"});
  EXPECT_NE(error.find("--max-concurrent-oom-deployments"), std::string::npos) << error;
  // The order of the resizes that can wait: the apps' ids by default.
  std::tie(flags, error) = parse({});
  EXPECT_EQ(flags.slot_order, "ids");
  ::setenv("RIGHTSIZE_SLOT_ORDER", "largest", 1);
  std::tie(flags, error) = parse({});
  ::unsetenv("RIGHTSIZE_SLOT_ORDER");
  EXPECT_EQ(error, "");
  EXPECT_EQ(flags.slot_order, "largest");
  auto settings = resolveSizerSettings(flags);
  ASSERT_TRUE(settings) << settings.error().message();
  EXPECT_EQ(settings->sizer.slot_order, sizing::SlotOrder::kLargest);
  std::tie(flags, error) = parse({"--slot-order", "smallest"});
  EXPECT_NE(error.find("--slot-order"), std::string::npos) << error;
}

// The minimum change, as the command line and the environment give it: the
// apps' defaults, which their labels override.
TEST(SizerFlagsTest, TheMinimumChangeComesFromFlagsOrTheEnvironment) {
  CLI::App app("test");
  SizerFlags flags;
  addSizerCommand(app, flags);
  ::setenv("RIGHTSIZE_MIN_CHANGE_MEM", "128", 1);
  std::vector<std::string> args = {"sizer", "--min-change-cpus", "0.5", "--min-change", "0.2"};
  std::reverse(args.begin(), args.end());  // CLI11 takes a reversed vector
  app.parse(args);
  ::unsetenv("RIGHTSIZE_MIN_CHANGE_MEM");
  auto settings = resolveSizerSettings(flags);
  ASSERT_TRUE(settings) << settings.error().message();
  EXPECT_EQ(settings->sizer.defaults.min_change, 0.2);
  EXPECT_EQ(settings->sizer.defaults.min_change_cpus, 0.5);
  EXPECT_EQ(settings->sizer.defaults.min_change_mem_mib, 128);
  CLI::App other("test");
  SizerFlags rejected;
  addSizerCommand(other, rejected);
  std::vector<std::string> negative = {"sizer", "--min-change-mem", "-1"};
  std::reverse(negative.begin(), negative.end());
  EXPECT_THROW(other.parse(negative), CLI::ValidationError);
}

TEST(SizerFlagsTest, BadFlagsAreRefusedNamingTheFlag) {
  const std::vector<std::pair<std::function<void(SizerFlags&)>, std::string>> cases = {
      {[](SizerFlags& f) { f.mode = "apply"; }, "--mode apply needs --redis"},
      {[](SizerFlags& f) { f.marathon_url = "marathon:8080"; }, "--marathon-url"},
      {[](SizerFlags& f) { f.marathon_url = "http://user:pw@marathon:8080"; }, "credentials do not belong"},
      {[](SizerFlags& f) { f.marathon_url = ""; }, "--marathon-url: no URL"},
      {[](SizerFlags& f) { f.agents = "agent-1"; }, "--agents"},
      {[](SizerFlags& f) { f.cpu_band = "0.6:-0.1"; }, "--cpu-band"},
      {[](SizerFlags& f) { f.sustain = "0s"; }, "--sustain"},
      {[](SizerFlags& f) { f.interval = "soon"; }, "--interval"},
      {[](SizerFlags& f) { f.downsize_window = "0s"; }, "--downsize-window"},
      {[](SizerFlags& f) { f.retry_after = "0s"; }, "--retry-after"},
      {[](SizerFlags& f) { f.policy.forecast_days = 0; }, "--forecast-days"},
      {[](SizerFlags& f) { f.policy.anomaly_days = 31; }, "--anomaly-days"},
      {[](SizerFlags& f) { f.policy.anomaly_sigmas = 0; }, "--anomaly-sigmas"},
      {[](SizerFlags& f) { f.unconfirmed_grace = "soon"; }, "--unconfirmed-grace"},
      {[](SizerFlags& f) { f.scale_interval = "0s"; }, "--scale-interval"},
      {[](SizerFlags& f) { f.scale_sustain = "a while"; }, "--scale-sustain"},
      {[](SizerFlags& f) { f.policy.min_history = "half an hour"; }, "--min-history"},
      {[](SizerFlags& f) { f.policy.min_history = "13h"; }, "--min-history (13h) is longer than the history kept"},
      {[](SizerFlags& f) { f.policy.min_task_age = "-1h"; }, "--min-task-age"},
      {[](SizerFlags& f) { f.policy.min_app_age = "a day"; }, "--min-app-age"},
      {[](SizerFlags& f) { f.policy.cpu_half_life = "a day"; }, "--cpu-half-life"},
      {[](SizerFlags& f) { f.policy.search_back_window = "0s"; }, "--search-back-window: must be longer than 0"},
      {[](SizerFlags& f) { f.policy.wrong_shrink_hold = "-1h"; }, "--wrong-shrink-hold: invalid duration"},
      {[](SizerFlags& f) { f.policy.wrong_shrink_hold = "100000d"; },
       "--wrong-shrink-hold: invalid duration '100000d': too long: at most 3650d"},
      {[](SizerFlags& f) { f.cooldown = "100000d"; }, "--cooldown: invalid duration '100000d': too long"},
      {[](SizerFlags& f) { f.policy.peak_days = 8; }, "--peak-days"},
      {[](SizerFlags& f) { f.policy.memory_days = -1; }, "--memory-days"},
      {[](SizerFlags& f) { f.limits = "burst"; }, "--limits: 'burst' is neither none nor burstable"},
      {[](SizerFlags& f) { f.hot_host = 0.2; }, "--hot-host"},
      {[](SizerFlags& f) { f.usage_source = "redis"; }, "--usage-source: 'redis' is neither agents nor prometheus"},
      {[](SizerFlags& f) { f.usage_source = "prometheus"; }, "--prometheus: --usage-source prometheus needs"},
      {[](SizerFlags& f) {
         f.usage_source = "prometheus";
         f.prometheus = "http://u:pw@prometheus:9090";
       },
       "credentials do not belong"},
      {[](SizerFlags& f) { f.redis = "redis://:secret@redis:6379/0"; }, "--redis"},
  };
  for (const auto& [change, expected] : cases) {
    SizerFlags flags;
    change(flags);
    auto settings = resolveSizerSettings(flags);
    ASSERT_FALSE(settings) << expected;
    EXPECT_NE(settings.error().message().find(expected), std::string::npos)
        << expected << " -> " << settings.error().message();
    EXPECT_EQ(settings.error().message().find("secret"), std::string::npos) << settings.error().message();
  }
}

TEST(SizerFlagsTest, SecretsComeFromTheEnvironment) {
  testing::TempDir dir;
  dir.write("token", "hook-token\n");
  testing::ScopedEnvironment environment;
  environment.set("RIGHTSIZE_REDIS_PASSWORD", "redis-password");
  environment.set("RIGHTSIZE_WEBHOOK_TOKEN_FILE", dir.path() + "/token");
  SizerFlags flags;
  flags.mode = "apply";
  flags.redis = "redis://127.0.0.1:6390/2";
  flags.agents = "10.0.0.1:9540,10.0.0.2:9540";
  auto settings = resolveSizerSettings(flags);
  ASSERT_TRUE(settings) << settings.error().message();
  ASSERT_TRUE(settings->redis);
  EXPECT_EQ(settings->redis->password, "redis-password");
  EXPECT_EQ(settings->redis->port, 6390);
  EXPECT_EQ(settings->redis->database, 2);
  EXPECT_EQ(settings->webhook_token, "hook-token");
  EXPECT_EQ(settings->sizer.agents, (std::vector<std::string>{"http://10.0.0.1:9540", "http://10.0.0.2:9540"}));
}

class SizerBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::FakeMarathonOptions options;
    options.deployment_duration = 1s;
    marathon_ = std::make_unique<testing::FakeMarathon>(clock_, options);
    testing::FakeAppSpec web;
    web.id = "/shop/web";
    web.cpus = 2.0;
    web.mem_mib = 1024;
    web.instances = 2;
    web.labels = {{"rightsize.enabled", "true"}};
    ASSERT_TRUE(marathon_->addApp(web).ok());
    ASSERT_TRUE(marathon_->start({"127.0.0.1", 0}).ok());
    agent_ = std::make_unique<testing::FakeAgent>(*marathon_, testing::FakeAgent::Options{.executor_share = false});
    ASSERT_TRUE(agent_->start().ok());
    // 0.3 of the 2 cores reserved, 700 MiB: idle.
    agent_->set("/shop/web", {0.3, 0.4, 700});
  }

  std::string startSizer(const std::vector<std::string>& extra, const std::vector<std::string>& environment = {},
                         const std::string& interval = "200ms", const std::string& sustain = "1s") {
    std::vector<std::string> argv = {testing::rightsizeBinary(),
                                     "sizer",
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--interval",
                                     interval,
                                     "--agents",
                                     agent_->address(),
                                     "--sustain",
                                     sustain,
                                     "--min-history",
                                     sustain,
                                     "--min-task-age",
                                     "0s"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    std::vector<std::string> env = {"RIGHTSIZE_MARATHON_URL=" + marathon_->url()};
    env.insert(env.end(), environment.begin(), environment.end());
    sizer_ = testing::spawn(argv, env);
    const std::string line = sizer_->waitForLine("listening on", 10s);
    const auto at = line.find("127.0.0.1:");
    if (at == std::string::npos) {
      ADD_FAILURE() << "no listening line; output:\n" << sizer_->output();
      return {};
    }
    return "http://" + line.substr(at, line.find(' ', at) - at);
  }
  // Polls /v1/apps (bounded) until the app is in `state`.
  bool waitForState(const std::string& base, const std::string& state) {
    return waitForApps(base, {R"("state":")" + state + "\""});
  }
  // Polls /v1/apps (bounded) until its body holds every one of `needles`.
  bool waitForApps(const std::string& base, const std::vector<std::string>& needles) {
    for (int i = 0; i < 150; ++i) {
      auto apps = http_.get(base + "/v1/apps", 2s);
      if (apps && std::all_of(needles.begin(), needles.end(), [&apps](const std::string& needle) {
            return apps->body.find(needle) != std::string::npos;
          })) {
        return true;
      }
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }
  std::size_t deploymentReads() const {
    const auto requests = marathon_->requests();
    return static_cast<std::size_t>(std::count_if(requests.begin(), requests.end(), [](const auto& request) {
      return request.method == "GET" && request.path == "/v2/deployments";
    }));
  }
  // GET /v2/apps requests: one per decision cycle.
  std::size_t appListings() const {
    const auto requests = marathon_->requests();
    return static_cast<std::size_t>(std::count_if(requests.begin(), requests.end(), [](const auto& request) {
      return request.method == "GET" && request.path == "/v2/apps";
    }));
  }
  // Waits (bounded) until the sizer has run `count` more decision cycles.
  bool waitForCycles(std::size_t count) {
    const std::size_t until = appListings() + count;
    for (int i = 0; i < 200 && appListings() < until; ++i) std::this_thread::sleep_for(50ms);
    return appListings() >= until;
  }
  std::size_t putRequests() const {
    const auto requests = marathon_->requests();
    return static_cast<std::size_t>(
        std::count_if(requests.begin(), requests.end(), [](const auto& request) { return request.method == "PUT"; }));
  }
  // The decisions stream as (action, deployment id), oldest first.
  static std::vector<std::pair<std::string, std::string>> decisions(testing::RedisConnection& redis) {
    std::vector<std::pair<std::string, std::string>> out;
    auto reply = redis.run({"XRANGE", "rightsize:decisions", "-", "+"});
    if (!reply) return out;
    for (const RedisReply& element : reply->elements) {
      const RedisReply& fields = element.elements[1];
      std::pair<std::string, std::string> entry;
      for (std::size_t f = 0; f + 1 < fields.elements.size(); f += 2) {
        const std::string& name = fields.elements[f].text;
        if (name == "action") entry.first = fields.elements[f + 1].text;
        if (name == "deployment_id") entry.second = fields.elements[f + 1].text;
      }
      out.push_back(std::move(entry));
    }
    return out;
  }

  SystemClock clock_;
  std::unique_ptr<testing::FakeMarathon> marathon_;
  std::unique_ptr<testing::FakeAgent> agent_;
  std::unique_ptr<ChildProcess> sizer_;
  CurlHttpClient http_;
};

TEST_F(SizerBinaryTest, RecommendsWithoutWriting) {
  const std::string base = startSizer({});
  ASSERT_FALSE(base.empty());
  ASSERT_TRUE(waitForState(base, "watching")) << sizer_->output();
  auto apps = http_.get(base + "/v1/apps", 2s);
  ASSERT_TRUE(apps);
  EXPECT_NE(apps->body.find(R"("mode":"recommend")"), std::string::npos) << apps->body;
  // max(0.3 + 0.1345, 0.4 * 1.1) rounded up to 0.05
  EXPECT_NE(apps->body.find(R"("recommended_cpus":0.45)"), std::string::npos) << apps->body;
  ASSERT_TRUE(waitForCycles(10));  // 2 s of cycles, past --sustain (1s): still nothing written
  EXPECT_EQ(marathon_->puts("/shop/web").accepted + marathon_->puts("/shop/web").refused, 0u);
  const int status = sizer_->stop(SIGTERM, 10s);
  ASSERT_TRUE(WIFEXITED(status)) << sizer_->output();
  EXPECT_EQ(WEXITSTATUS(status), 0) << sizer_->output();
}

TEST_F(SizerBinaryTest, AppliesThroughMarathonWithRedisAndAcceptsAlerts) {
  auto redis = testing::RedisServer::start();
  ASSERT_TRUE(redis) << redis.error().message();
  const std::string redis_url = "redis://127.0.0.1:" + std::to_string((*redis)->port()) + "/0";
  const std::string base =
      startSizer({"--mode", "apply", "--redis", redis_url}, {"RIGHTSIZE_WEBHOOK_TOKEN=hook", "RIGHTSIZE_COOLDOWN=1h"});
  ASSERT_FALSE(base.empty());
  ASSERT_TRUE(waitForState(base, "cooldown")) << sizer_->output();
  EXPECT_EQ(marathon_->puts("/shop/web").accepted, 1u);
  auto app = marathon_->app("/shop/web");
  ASSERT_TRUE(app);
  EXPECT_NEAR(app->cpus, 0.45, 1e-9);  // Docker-like containers: no executor overhead measured

  HttpClientRequest alert;
  alert.method = "POST";
  alert.url = base + "/v1/alerts";
  alert.headers = {{"Authorization", "Bearer hook"}};
  alert.body = kAlertOnWeb;
  auto answer = http_.send(alert);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, R"({"apps":["/shop/web"]})");

  auto health = http_.get(base + "/healthz", 2s);
  ASSERT_TRUE(health);
  EXPECT_NE(health->body.find(R"("leader":true)"), std::string::npos) << health->body;
  const int status = sizer_->stop(SIGTERM, 10s);
  ASSERT_TRUE(WIFEXITED(status)) << sizer_->output();
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // The lease was given back on the way out.
  auto connection = testing::RedisConnection::open("127.0.0.1", (*redis)->port());
  ASSERT_TRUE(connection);
  EXPECT_EQ((*connection)->text({"EXISTS", "rightsize:leader"}), "0");
  EXPECT_EQ(sizer_->output().find("hook"), std::string::npos) << "the webhook token was logged";
}

// SIGHUP (a closed terminal, an init system's reload) stops the sizer as
// SIGTERM does: logged, and the lease given back so that another sizer
// takes over at once rather than after its TTL.
TEST_F(SizerBinaryTest, SighupStopsInOrderGivingTheLeaseBack) {
  auto redis = testing::RedisServer::start();
  ASSERT_TRUE(redis) << redis.error().message();
  auto connection = testing::RedisConnection::open("127.0.0.1", (*redis)->port());
  ASSERT_TRUE(connection) << connection.error().message();
  const std::string redis_url = "redis://127.0.0.1:" + std::to_string((*redis)->port()) + "/0";
  const std::string base = startSizer({"--mode", "apply", "--redis", redis_url}, {"RIGHTSIZE_COOLDOWN=1h"});
  ASSERT_FALSE(base.empty());
  ASSERT_TRUE(waitForApps(base, {R"("leader":true)"})) << sizer_->output();
  EXPECT_EQ((*connection)->text({"EXISTS", "rightsize:leader"}), "1");

  const int status = sizer_->stop(SIGHUP, 10s);
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status << "\n" << sizer_->output();
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(sizer_->output().find("received SIGHUP, stopping"), std::string::npos) << sizer_->output();
  EXPECT_EQ((*connection)->text({"EXISTS", "rightsize:leader"}), "0");
}

// The sizer SIGKILLed in the middle of its deployment and started again:
// the new process takes over the checkpoint, follows that deployment
// through GET /v2/deployments to its end, and never PUTs the change again.
TEST_F(SizerBinaryTest, AKilledSizerRestartedMidDeploymentFollowsItToItsEndWithOnePut) {
  // The deployment runs until the test lets it end, however slow the machine.
  marathon_->setDeploymentOutcome("/shop/web", testing::DeploymentOutcome::kNeverFinish);
  agent_->set("/shop/web", {2.5, 2.6, 700});  // a hot spot: grown after a fifth of --sustain
  auto redis = testing::RedisServer::start();
  ASSERT_TRUE(redis) << redis.error().message();
  auto connection = testing::RedisConnection::open("127.0.0.1", (*redis)->port());
  ASSERT_TRUE(connection) << connection.error().message();
  testing::RedisConnection& raw = **connection;
  const std::vector<std::string> flags = {"--mode", "apply", "--redis",
                                          "redis://127.0.0.1:" + std::to_string((*redis)->port()) + "/0"};
  const std::vector<std::string> environment = {"RIGHTSIZE_COOLDOWN=1h"};

  std::string base = startSizer(flags, environment);
  ASSERT_FALSE(base.empty());
  ASSERT_TRUE(waitForState(base, "deploying")) << sizer_->output();
  const auto running = marathon_->deployments();
  ASSERT_EQ(running.size(), 1u);
  const std::string deployment_id = running[0].id;
  ASSERT_TRUE(waitForApps(base, {R"("deployment_id":")" + deployment_id + "\""})) << sizer_->output();
  EXPECT_EQ(raw.text({"HGET", "rightsize:app:/shop/web", "deployment_id"}), deployment_id);
  EXPECT_EQ(raw.text({"HGET", "rightsize:app:/shop/web", "state"}), "deploying");
  EXPECT_EQ(marathon_->puts("/shop/web").accepted, 1u);

  const pid_t killed_pid = sizer_->pid();
  const int killed = sizer_->stop(SIGKILL, 10s);
  ASSERT_TRUE(WIFSIGNALED(killed) && WTERMSIG(killed) == SIGKILL) << killed;
  ASSERT_EQ(marathon_->deployments().size(), 1u) << "the deployment ended before the kill";
  // The dead sizer's lease would hold for its TTL (at least 15 s): its
  // expiry is brought forward on Redis' clock rather than waited for.
  EXPECT_EQ(raw.text({"PEXPIRE", "rightsize:leader", "1"}), "1");

  const std::size_t reads_before = deploymentReads();
  base = startSizer(flags, environment);
  ASSERT_FALSE(base.empty());
  ASSERT_NE(sizer_->pid(), killed_pid);
  ASSERT_TRUE(
      waitForApps(base, {R"("leader":true)", R"("state":"deploying")", R"("deployment_id":")" + deployment_id + "\""}))
      << sizer_->output();
  // It follows the deployment through /v2/deployments, cycle after cycle.
  for (int i = 0; i < 100 && deploymentReads() < reads_before + 3; ++i) std::this_thread::sleep_for(100ms);
  EXPECT_GE(deploymentReads(), reads_before + 3);
  EXPECT_EQ(putRequests(), 1u);

  ASSERT_TRUE(marathon_->setRunningDeploymentOutcome(deployment_id, testing::DeploymentOutcome::kSucceed));
  ASSERT_TRUE(waitForState(base, "cooldown")) << sizer_->output();
  EXPECT_EQ(raw.text({"HGET", "rightsize:app:/shop/web", "state"}), "cooldown");
  EXPECT_EQ(raw.text({"HEXISTS", "rightsize:app:/shop/web", "deployment_id"}), "0");
  EXPECT_GT(marathon_->app("/shop/web")->cpus, 2.5);

  // Past the end, a few more cycles: still the one PUT.
  const std::size_t reads_after = deploymentReads();
  ASSERT_TRUE(waitForCycles(5));
  EXPECT_EQ(deploymentReads(), reads_after) << "nothing in flight: /v2/deployments is not read";
  EXPECT_EQ(putRequests(), 1u);
  EXPECT_EQ(marathon_->puts("/shop/web").accepted, 1u);
  EXPECT_EQ(marathon_->puts("/shop/web").refused, 0u);
  const auto actions = decisions(raw);
  const std::vector<std::pair<std::string, std::string>> expected = {{"resize", deployment_id},
                                                                     {"deployment_done", deployment_id}};
  EXPECT_EQ(actions, expected);
  const int status = sizer_->stop(SIGTERM, 10s);
  ASSERT_TRUE(WIFEXITED(status)) << sizer_->output();
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// Alertmanager's webhook makes the leader evaluate the named apps at once,
// and grow the hot spot it reports without waiting for its own evidence:
// with an hour between scheduled cycles and a hot spot otherwise grown after
// 12 minutes (a fifth of --sustain 1h), only the alert explains the resize.
TEST_F(SizerBinaryTest, AnAlertReevaluatesTheAppAtOnce) {
  agent_->set("/shop/web", {2.5, 2.6, 700});
  auto redis = testing::RedisServer::start();
  ASSERT_TRUE(redis) << redis.error().message();
  const std::string redis_url = "redis://127.0.0.1:" + std::to_string((*redis)->port()) + "/0";
  const std::string base = startSizer({"--mode", "apply", "--redis", redis_url},
                                      {"RIGHTSIZE_WEBHOOK_TOKEN=hook", "RIGHTSIZE_COOLDOWN=1h"}, "1h", "1h");
  ASSERT_FALSE(base.empty());
  // The first cycle, at start: the hot spot is seen, and would wait 12m.
  ASSERT_TRUE(waitForApps(base, {R"("leader":true)", R"("state":"watching")"})) << sizer_->output();
  EXPECT_EQ(putRequests(), 0u);

  HttpClientRequest alert;
  alert.method = "POST";
  alert.url = base + "/v1/alerts";
  alert.headers = {{"Authorization", "Bearer hook"}};
  alert.body = kAlertOnWeb;
  const auto posted = std::chrono::steady_clock::now();
  auto answer = http_.send(alert);
  ASSERT_TRUE(answer) << answer.error().message();
  ASSERT_EQ(answer->status, 200) << answer->body;
  for (int i = 0; i < 100 && marathon_->puts("/shop/web").accepted == 0; ++i) std::this_thread::sleep_for(50ms);
  const auto waited = std::chrono::steady_clock::now() - posted;
  ASSERT_EQ(marathon_->puts("/shop/web").accepted, 1u) << sizer_->output();
  EXPECT_LT(waited, 5s);
  EXPECT_EQ(putRequests(), 1u);
  // The cycle publishes its decisions with its view of the apps.
  ASSERT_TRUE(waitForState(base, "deploying")) << sizer_->output();
  auto recent = http_.get(base + "/v1/decisions", 2s);
  ASSERT_TRUE(recent);
  EXPECT_NE(recent->body.find(R"("action":"resize")"), std::string::npos) << recent->body;
  EXPECT_NE(recent->body.find(R"("app_id":"/shop/web")"), std::string::npos) << recent->body;
  const int status = sizer_->stop(SIGTERM, 10s);
  ASSERT_TRUE(WIFEXITED(status)) << sizer_->output();
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// Every secret the sizer is given, from the environment, and a wrong token
// presented to its webhook: none shows in its output or on its endpoints.
TEST_F(SizerBinaryTest, SecretsShowNowhere) {
  const std::string redis_password = "redis-pw-7f3a";
  const std::string marathon_token = "marathon-token-9c1e";
  const std::string webhook_token = "webhook-token-4b2d";
  const std::string guessed_token = "guessed-token-0a5f";
  auto redis = testing::RedisServer::start({.password = redis_password});
  ASSERT_TRUE(redis) << redis.error().message();
  const std::string redis_url = "redis://127.0.0.1:" + std::to_string((*redis)->port()) + "/0";
  const std::string base =
      startSizer({"--mode", "apply", "--redis", redis_url},
                 {"RIGHTSIZE_REDIS_PASSWORD=" + redis_password, "RIGHTSIZE_MARATHON_TOKEN=" + marathon_token,
                  "RIGHTSIZE_WEBHOOK_TOKEN=" + webhook_token, "RIGHTSIZE_COOLDOWN=1h"});
  ASSERT_FALSE(base.empty());
  ASSERT_TRUE(waitForState(base, "cooldown")) << sizer_->output();
  HttpClientRequest alert;
  alert.method = "POST";
  alert.url = base + "/v1/alerts";
  alert.headers = {{"Authorization", "Bearer " + guessed_token}};
  alert.body = R"({"version": "4", "status": "firing", "alerts": []})";
  auto refused = http_.send(alert);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  std::string served = refused->body;
  for (const char* path : {"/v1/apps", "/v1/decisions", "/metrics", "/healthz"}) {
    auto answer = http_.get(base + path, 2s);
    ASSERT_TRUE(answer) << path;
    served += answer->body;
  }
  EXPECT_NE(served.find("resize"), std::string::npos) << served;  // the decisions are there
  EXPECT_FALSE(sizer_->waitForLine("without the right bearer token", 5s).empty()) << sizer_->output();
  EXPECT_NE(sizer_->output().find("credentials cross the network unencrypted"), std::string::npos);
  const int status = sizer_->stop(SIGTERM, 10s);
  ASSERT_TRUE(WIFEXITED(status)) << sizer_->output();
  for (const std::string& secret : {redis_password, marathon_token, webhook_token, guessed_token}) {
    EXPECT_EQ(sizer_->output().find(secret), std::string::npos) << secret << " logged:\n" << sizer_->output();
    EXPECT_EQ(served.find(secret), std::string::npos) << secret << " served:\n" << served;
  }
}

// Redis refusing the password: the error names the server, not the password.
TEST_F(SizerBinaryTest, ARefusedRedisPasswordIsNotLogged) {
  auto redis = testing::RedisServer::start({.password = "the-right-one"});
  ASSERT_TRUE(redis) << redis.error().message();
  const std::string redis_url = "redis://127.0.0.1:" + std::to_string((*redis)->port()) + "/0";
  const std::string base =
      startSizer({"--mode", "apply", "--redis", redis_url}, {"RIGHTSIZE_REDIS_PASSWORD=wrong-pw-3e8c"});
  ASSERT_FALSE(base.empty());
  EXPECT_FALSE(sizer_->waitForLine("AUTH refused", 10s).empty()) << sizer_->output();
  sizer_->stop(SIGTERM, 10s);
  EXPECT_EQ(sizer_->output().find("wrong-pw-3e8c"), std::string::npos) << sizer_->output();
  EXPECT_EQ(sizer_->output().find("the-right-one"), std::string::npos) << sizer_->output();
}

// A password in --redis is refused, and neither the refusal nor anything
// else printed repeats it.
TEST_F(SizerBinaryTest, ARedisUrlWithAPasswordIsRefusedWithoutPrintingIt) {
  auto sizer = testing::spawn({testing::rightsizeBinary(), "sizer", "--listen", "127.0.0.1:0", "--redis",
                               "redis://:url-pw-6d1b@127.0.0.1:6379/0"},
                              {"RIGHTSIZE_MARATHON_URL=" + marathon_->url()});
  const int status = sizer->wait(10s);
  ASSERT_TRUE(WIFEXITED(status)) << sizer->output();
  EXPECT_EQ(WEXITSTATUS(status), 2) << sizer->output();
  EXPECT_NE(sizer->output().find("--redis"), std::string::npos) << sizer->output();
  EXPECT_EQ(sizer->output().find("url-pw-6d1b"), std::string::npos) << sizer->output();
}

}  // namespace
}  // namespace rightsize::cli
