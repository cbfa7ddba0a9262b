// The `rightsize agent` binary end to end: against the Mesos agent double on
// loopback, scraped over HTTP, checked by promtool, stopped by signal; with
// --redis, against a real redis-server (its checkpoint across a SIGKILL, a
// Redis that is down at start, a damaged checkpoint). And the checkpoint's
// flags.

#include "agent_command.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <thread>

#include "test_support.h"

#include "rightsize/core/http.h"
#include "rightsize/core/json.h"
#include "rightsize/testing/fake_kafka_cluster.h"
#include "rightsize/testing/fake_mesos_agent.h"
#include "rightsize/testing/redis_harness.h"

namespace rightsize::cli {
namespace {

using namespace std::chrono_literals;

class AgentBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fake = testing::FakeMesosAgent::create(clock_, testing::readFixture("mesos/agent_state.json"),
                                                testing::readFixture("mesos/monitor_statistics_port_mapping.json"));
    ASSERT_TRUE(fake.ok());
    fake_ = std::move(*fake);
    fake_->setAttribute("instance_type", "m5.xlarge");
    fake_->addExecutor(
        {.executor_id = "web.instance-6a3e0d2c-1d6f-11ee-be56-0242ac120002._app.1",
         .container_id = "c-web",
         .app_id = "/web",
         .cpus_limit = 1.1,
         .labels = {{"env", "prod"}}},
        {.used_cores = 0.4, .resident_bytes = 90'000'000, .throttled_ratio = 0.1, .throttled_cores = 0.3});
    fake_->addExecutor({.executor_id = "batch.instance-7b4f1e3d-1d6f-11ee-be56-0242ac120002._app.1",
                        .container_id = "c-batch",
                        .app_id = "/batch",
                        .cpus_limit = 2.1},
                       {.used_cores = 1.5, .resident_bytes = 500'000'000});
    ASSERT_TRUE(fake_->start(HostPort{"127.0.0.1", 0}).ok());
  }

  // Starts the agent and returns its base URL, read from its log.
  std::string startAgent(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {testing::rightsizeBinary(),
                                     "agent",
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--interval",
                                     "200ms",
                                     "--window",
                                     window_,
                                     "--host",
                                     "test-host"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    agent_ = testing::spawn(argv, {"RIGHTSIZE_MESOS_URL=" + fake_->url()});
    const std::string line = agent_->waitForLine("listening on", 10s);
    // "... listening on 127.0.0.1:PORT (...)"
    const auto at = line.find("127.0.0.1:");
    const auto end = line.find(' ', at);
    if (at == std::string::npos) {
      ADD_FAILURE() << "no listening line; output:\n" << agent_->output();
      return {};
    }
    return "http://" + line.substr(at, end - at);
  }

  // Polls (bounded) until the agent has completed `cycles` more cycles,
  // then returns /v1/containers.
  rapidjson::Document waitForCycles(const std::string& base, std::uint64_t cycles) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    std::uint64_t target = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      auto health = http_.get(base + "/healthz", 2s);
      if (health && (health->status == 200 || health->status == 503)) {
        auto document = json::parse(health->body, "healthz");
        if (document && document->HasMember("cycles")) {
          const std::uint64_t now = (*document)["cycles"].GetUint64();
          if (target == 0) target = now + cycles;
          if (now >= target) {
            auto containers = http_.get(base + "/v1/containers", 2s);
            if (containers && containers->status == 200) {
              auto parsed = json::parse(containers->body, "containers");
              if (parsed) return std::move(*parsed);
            }
          }
        }
      }
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "the agent did not complete " << cycles << " cycles";
    return rapidjson::Document();
  }

  // The value of one series in /metrics ("" when absent or unreachable).
  std::string metricValue(const std::string& base, const std::string& series) {
    auto metrics = http_.get(base + "/metrics", 2s);
    if (!metrics || metrics->status != 200) return "";
    const auto at = metrics->body.find(series + " ");
    if (at == std::string::npos) return "";
    const auto start = at + series.size() + 1;
    return metrics->body.substr(start, metrics->body.find('\n', start) - start);
  }

  // Polls (bounded) until `done` holds.
  static bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  static const rapidjson::Value* container(const rapidjson::Document& containers, const std::string& id) {
    if (!containers.IsObject() || !containers.HasMember("containers")) return nullptr;
    for (const auto& c : containers["containers"].GetArray()) {
      if (c["container_id"].GetString() == id) return &c;
    }
    return nullptr;
  }

  static constexpr const char* kCheckpointKey = "rightsize:agent:test-host";

  SystemClock clock_;
  std::unique_ptr<testing::FakeMesosAgent> fake_;
  std::unique_ptr<ChildProcess> agent_;
  CurlHttpClient http_;
  std::string window_ = "2s";
};

TEST_F(AgentBinaryTest, MeasuresTheDoublesContainersAndServesValidMetrics) {
  const std::string base = startAgent();
  ASSERT_FALSE(base.empty());
  // 25 cycles of 200 ms: several time constants of the 2 s moving average,
  // so that the first, coarse rates have decayed out of it.
  const rapidjson::Document containers = waitForCycles(base, 25);
  ASSERT_TRUE(containers.IsObject());
  ASSERT_EQ(containers["containers"].Size(), 2u);
  EXPECT_STREQ(containers["host"].GetString(), "test-host");
  for (const auto& c : containers["containers"].GetArray()) {
    const std::string app = c["app_id"].GetString();
    const double expected = app == "/web" ? 0.4 : 1.5;
    // Counters are written with 2 decimals (10 ms of CPU) as Mesos does, so
    // single 200 ms rates are coarse; their moving average is not.
    EXPECT_NEAR(c["cpu"]["used_cores_avg"].GetDouble(), expected, 0.1 * expected) << app;
    EXPECT_DOUBLE_EQ(c["cpu"]["reserved_cores"].GetDouble(), app == "/web" ? 1.1 : 2.1);
    // From Mesos' cpus_throttled_time_secs: the demand the quota held back.
    EXPECT_NEAR(c["cpu"]["throttled_cores"].GetDouble(), app == "/web" ? 0.3 : 0.0, 0.03) << app;
    EXPECT_EQ(c["instance_type"].GetString(), std::string("m5.xlarge"));
  }

  auto metrics = http_.get(base + "/metrics", 2s);
  ASSERT_TRUE(metrics.ok());
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->content_type.find("text/plain"), std::string::npos);
  EXPECT_NE(
      metrics->body.find(
          R"(rightsize_container_cpu_reserved_cores{app_id="/web",container_id="c-web",env="prod",host="test-host",instance_type="m5.xlarge",task_id="web.instance-6a3e0d2c-1d6f-11ee-be56-0242ac120002._app.1"} 1.1)"),
      std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("rightsize_host_cpu_capacity_cores{host=\"test-host\"} 1"), std::string::npos);
  const auto promtool = testing::promtoolCheckMetrics(metrics->body);
  EXPECT_EQ(promtool.exit_code, 0) << promtool.output;

  auto health = http_.get(base + "/healthz", 2s);
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200);
  EXPECT_NE(health->body.find(R"("status":"ok")"), std::string::npos);

  const int status = agent_->stop(SIGTERM, 10s);
  ASSERT_TRUE(WIFEXITED(status)) << agent_->output();
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(AgentBinaryTest, KeepsServingThroughAMesosOutageAndCountsIt) {
  const std::string base = startAgent();
  ASSERT_FALSE(base.empty());
  (void)waitForCycles(base, 2);
  fake_->setFault({.kind = testing::FakeFault::Kind::kGarbage, .path_filter = "/monitor/statistics"});
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  std::string body;
  while (std::chrono::steady_clock::now() < deadline) {
    auto metrics = http_.get(base + "/metrics", 2s);
    // The counter is exposed at 0 from the start; wait for it to move.
    const std::string series = R"(rightsize_agent_errors_total{kind="malformed",source="mesos"} )";
    const auto at = metrics ? metrics->body.find(series) : std::string::npos;
    if (at != std::string::npos && metrics->body.compare(at + series.size(), 2, "0\n") != 0) {
      body = metrics->body;
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_FALSE(body.empty()) << "errors were never counted";
  auto health = http_.get(base + "/healthz", 2s);
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200);
  EXPECT_NE(health->body.find(R"("status":"degraded")"), std::string::npos) << health->body;
  fake_->clearFault();
  (void)waitForCycles(base, 2);
  // The error was logged once, however many times it happened.
  agent_->stop(SIGTERM, 10s);
  const std::string& log = agent_->output();
  const auto first = log.find("mesos error (malformed)");
  ASSERT_NE(first, std::string::npos) << log;
  EXPECT_EQ(log.find("mesos error (malformed)", first + 1), std::string::npos) << log;
}

TEST_F(AgentBinaryTest, MeasuresKafkaLagOfTheGroupsItsAppsName) {
  auto mock = testing::FakeKafkaCluster::create(3);
  ASSERT_TRUE(mock.ok());
  auto& kafka = **mock;
  ASSERT_TRUE(kafka.createTopic("orders", 2).ok());
  ASSERT_TRUE(kafka.produce("orders", 0, 100, 1'700'000'000'000, 1000).ok());
  ASSERT_TRUE(kafka.commit("billing", "orders", 0, 40).ok());
  fake_->addExecutor({.executor_id = "consumer.instance-8c5e2f1a-1d6f-11ee-be56-0242ac120002._app.1",
                      .container_id = "c-consumer",
                      .app_id = "/consumer",
                      .labels = {{"rightsize.kafka.groups", "billing"}, {"env", "prod"}}},
                     {.used_cores = 0.2, .resident_bytes = 50'000'000});
  const std::string base =
      startAgent({"--kafka-brokers", kafka.bootstrap(), "--kafka-group", "audit", "--kafka-timeout", "1s"});
  ASSERT_FALSE(base.empty());
  (void)waitForCycles(base, 3);
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  rapidjson::Document lag;
  bool ready = false;
  while (!ready && std::chrono::steady_clock::now() < deadline) {
    auto response = http_.get(base + "/v1/lag", 2s);
    if (response && response->status == 200) {
      auto parsed = json::parse(response->body, "lag");
      // Until the first full cycle: a new client takes a few cycles to connect.
      if (parsed && (*parsed)["groups"].Size() == 2 && (*parsed)["groups"][1]["partitions"].Size() > 0 &&
          !(*parsed)["groups"][1]["partitions"][0]["stale"].GetBool()) {
        lag = std::move(*parsed);
        ready = true;
      }
    }
    if (!ready) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(ready) << agent_->output();
  const auto& audit = lag["groups"][0];
  EXPECT_STREQ(audit["group"].GetString(), "audit");
  EXPECT_STREQ(audit["status"].GetString(), "NO_COMMIT");
  const auto& billing = lag["groups"][1];
  EXPECT_STREQ(billing["group"].GetString(), "billing");
  EXPECT_STREQ(billing["app_id"].GetString(), "/consumer");
  EXPECT_STREQ(billing["env"].GetString(), "prod");
  EXPECT_EQ(billing["partitions"][0]["lag_messages"].GetInt64(), 60);
  EXPECT_DOUBLE_EQ(billing["partitions"][0]["lag_seconds"].GetDouble(), 59);

  auto metrics = http_.get(base + "/metrics", 2s);
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(
      metrics->body.find(
          R"(rightsize_kafka_consumer_lag_seconds{group="billing",app_id="/consumer",env="prod",partition="0",topic="orders"} 59)"),
      std::string::npos)
      << metrics->body;
  const auto promtool = testing::promtoolCheckMetrics(metrics->body);
  EXPECT_EQ(promtool.exit_code, 0) << promtool.output;
  const int status = agent_->stop(SIGTERM, 10s);
  ASSERT_TRUE(WIFEXITED(status)) << agent_->output();
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(AgentBinaryTest, RefusesBadFlagsWithAClearMessage) {
  auto bad = testing::spawn({testing::rightsizeBinary(), "agent", "--window", "5x"});
  const int status = bad->wait(10s);
  bad->drain(100ms);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_NE(WEXITSTATUS(status), 0);
  EXPECT_NE(bad->output().find("--window"), std::string::npos) << bad->output();
  EXPECT_NE(bad->output().find("'5x'"), std::string::npos) << bad->output();
}

TEST_F(AgentBinaryTest, ARestartedAgentContinuesTheWindowsItCheckpointedInRedis) {
  auto redis = testing::RedisServer::start();
  ASSERT_TRUE(redis) << redis.error().message();
  auto raw = testing::RedisConnection::open("127.0.0.1", (*redis)->port());
  ASSERT_TRUE(raw) << raw.error().message();
  const std::string redis_url = "redis://127.0.0.1:" + std::to_string((*redis)->port()) + "/0";
  const std::vector<std::string> flags = {"--redis", redis_url, "--redis-interval", "200ms"};
  window_ = "10s";  // longer than the test: every sample stays in the window

  std::string base = startAgent(flags);
  ASSERT_FALSE(base.empty());
  const rapidjson::Document before = waitForCycles(base, 15);
  const rapidjson::Value* web_before = container(before, "c-web");
  ASSERT_NE(web_before, nullptr);
  const std::uint64_t samples_before = (*web_before)["samples"].GetUint64();
  ASSERT_GE(samples_before, 15u);
  // Both containers checkpointed, in one hash that expires after 3 windows.
  ASSERT_TRUE(eventually([&] { return (*raw)->text({"HLEN", kCheckpointKey}) == "2"; })) << agent_->output();
  const long long ttl_ms = std::stoll((*raw)->text({"PTTL", kCheckpointKey}));
  EXPECT_GT(ttl_ms, 25'000);
  EXPECT_LE(ttl_ms, 30'000);
  // A crash: nothing is written at exit.
  (void)waitForCycles(base, 2);
  const int killed = agent_->stop(SIGKILL, 10s);
  ASSERT_TRUE(WIFSIGNALED(killed));

  base = startAgent(flags);
  ASSERT_FALSE(base.empty());
  EXPECT_NE(agent_->waitForLine("containers to continue", 10s).find(": 2 containers"), std::string::npos)
      << agent_->output();
  // The first snapshots: a fresh agent would have at most one sample per
  // cycle it ran and no CPU figures before its second cycle.
  rapidjson::Document after;
  std::uint64_t cycles = 0;
  ASSERT_TRUE(eventually([&] {
    auto containers = http_.get(base + "/v1/containers", 2s);
    auto health = http_.get(base + "/healthz", 2s);
    if (!containers || !health) return false;
    auto parsed = json::parse(containers->body, "containers");
    auto healthz = json::parse(health->body, "healthz");
    if (!parsed || !healthz || (*parsed)["containers"].Size() != 2) return false;
    after = std::move(*parsed);
    cycles = (*healthz)["cycles"].GetUint64();
    return true;
  }));
  const rapidjson::Value* web = container(after, "c-web");
  ASSERT_NE(web, nullptr);
  EXPECT_GE((*web)["samples"].GetUint64(), samples_before);
  EXPECT_GT((*web)["samples"].GetUint64(), cycles + 10);
  ASSERT_TRUE((*web)["cpu"]["used_cores"].IsNumber()) << "no rate from the checkpointed counters";
  ASSERT_TRUE((*web)["cpu"]["used_cores_p95"].IsNumber());
  ASSERT_TRUE((*web)["cpu"]["used_cores_avg"].IsNumber());
  EXPECT_NEAR((*web)["cpu"]["used_cores_avg"].GetDouble(), 0.4, 0.1);
  EXPECT_NEAR((*web)["cpu"]["lying_factor_cores"].GetDouble(), 0.7, 0.1);
  EXPECT_EQ((*web)["mem"]["used_bytes_peak"].GetDouble(), (*web_before)["mem"]["used_bytes_peak"].GetDouble());
  EXPECT_EQ(metricValue(base, R"(rightsize_agent_errors_total{kind="malformed",source="redis"})"), "0");
  EXPECT_EQ(metricValue(base, R"(rightsize_agent_errors_total{kind="invalid_argument",source="redis"})"), "0");

  // A graceful stop writes the last state.
  const int status = agent_->stop(SIGTERM, 10s);
  ASSERT_TRUE(WIFEXITED(status)) << agent_->output();
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(agent_->output().find("checkpoint written to redis 127.0.0.1:"), std::string::npos) << agent_->output();
}

// SIGHUP (a closed terminal, an init system's reload) stops the agent as
// SIGTERM does: logged, and its last checkpoint written on the way out.
TEST_F(AgentBinaryTest, SighupStopsInOrderWritingTheLastCheckpoint) {
  auto redis = testing::RedisServer::start();
  ASSERT_TRUE(redis) << redis.error().message();
  auto raw = testing::RedisConnection::open("127.0.0.1", (*redis)->port());
  ASSERT_TRUE(raw) << raw.error().message();
  // The first cycle's checkpoint, then none for an hour: any later write is
  // the one taken at the stop.
  const std::string base =
      startAgent({"--redis", "redis://127.0.0.1:" + std::to_string((*redis)->port()) + "/0", "--redis-interval", "1h"});
  ASSERT_FALSE(base.empty());
  ASSERT_TRUE(eventually([&] { return (*raw)->text({"HLEN", kCheckpointKey}) == "2"; })) << agent_->output();
  ASSERT_EQ((*raw)->text({"DEL", kCheckpointKey}), "1");
  (void)waitForCycles(base, 2);

  const int status = agent_->stop(SIGHUP, 10s);
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status << "\n" << agent_->output();
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(agent_->output().find("received SIGHUP, stopping"), std::string::npos) << agent_->output();
  EXPECT_NE(agent_->output().find("checkpoint written to redis 127.0.0.1:"), std::string::npos) << agent_->output();
  EXPECT_EQ((*raw)->text({"HLEN", kCheckpointKey}), "2");
}

TEST_F(AgentBinaryTest, ARedisDownAtStartIsCountedAndCheckpointsBeginWhenItComesUp) {
  auto redis = testing::RedisServer::start();
  ASSERT_TRUE(redis) << redis.error().message();
  const std::uint16_t port = (*redis)->port();
  ASSERT_TRUE((*redis)->stop().ok());

  const std::string base =
      startAgent({"--redis", "redis://127.0.0.1:" + std::to_string(port) + "/0", "--redis-interval", "200ms"});
  ASSERT_FALSE(base.empty());
  const std::string unavailable = R"(rightsize_agent_errors_total{kind="unavailable",source="redis"})";
  ASSERT_TRUE(eventually([&] {
    const std::string value = metricValue(base, unavailable);
    return !value.empty() && value != "0" && value != "1";  // the load at start, then writes
  })) << agent_->output();
  const rapidjson::Document containers = waitForCycles(base, 2);
  ASSERT_TRUE(containers.IsObject());
  EXPECT_EQ(containers["containers"].Size(), 2u);
  auto health = http_.get(base + "/healthz", 2s);
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200) << health->body;

  ASSERT_TRUE((*redis)->restart().ok()) << (*redis)->log();
  auto raw = testing::RedisConnection::open("127.0.0.1", port);
  ASSERT_TRUE(raw) << raw.error().message();
  ASSERT_TRUE(eventually([&] { return (*raw)->text({"HLEN", kCheckpointKey}) == "2"; })) << agent_->output();
  EXPECT_TRUE((*raw)->text({"HGET", kCheckpointKey, "c-web"}).starts_with(R"({"version":1,)"));

  agent_->stop(SIGTERM, 10s);
  const std::string& log = agent_->output();
  const auto first = log.find("redis error (unavailable)");
  ASSERT_NE(first, std::string::npos) << log;
  EXPECT_EQ(log.find("redis error (unavailable)", first + 1), std::string::npos) << log;
}

TEST_F(AgentBinaryTest, ADamagedCheckpointEntryIsSkippedAndCounted) {
  auto redis = testing::RedisServer::start();
  ASSERT_TRUE(redis) << redis.error().message();
  auto raw = testing::RedisConnection::open("127.0.0.1", (*redis)->port());
  ASSERT_TRUE(raw) << raw.error().message();
  ASSERT_EQ((*raw)->text({"HSET", kCheckpointKey, "c-web", R"({"version":1,"seen)", "c-batch",
                          R"({"version":1,"seen_at_ns":1,"last_seen_ns":1,"used_cores":-1})"}),
            "2");

  const std::string base = startAgent(
      {"--redis", "redis://127.0.0.1:" + std::to_string((*redis)->port()) + "/0", "--redis-interval", "200ms"});
  ASSERT_FALSE(base.empty());
  EXPECT_NE(agent_->waitForLine("containers to continue", 10s).find(": 0 containers"), std::string::npos)
      << agent_->output();
  const rapidjson::Document containers = waitForCycles(base, 2);
  ASSERT_TRUE(containers.IsObject());
  EXPECT_EQ(containers["containers"].Size(), 2u);
  EXPECT_EQ(metricValue(base, R"(rightsize_agent_errors_total{kind="malformed",source="redis"})"), "1");
  EXPECT_EQ(metricValue(base, R"(rightsize_agent_errors_total{kind="invalid_value",source="redis"})"), "1");
  // The next checkpoint replaces the damaged entries.
  ASSERT_TRUE(eventually([&] {
    return (*raw)->text({"HGET", kCheckpointKey, "c-web"}).starts_with(R"({"version":1,"seen_at_ns":)");
  }));
  agent_->stop(SIGTERM, 10s);
  EXPECT_NE(agent_->output().find("redis error (malformed): redis 127.0.0.1:"), std::string::npos) << agent_->output();
}

TEST(AgentRedisFlagsTest, NoRedisByDefault) {
  AgentFlags flags;
  flags.host = "h1";
  auto settings = resolveAgentSettings(flags);
  ASSERT_TRUE(settings.ok()) << settings.error().message();
  EXPECT_FALSE(settings->redis);
  EXPECT_EQ(settings->flags.redis_prefix, "rightsize:");
  EXPECT_EQ(settings->redis_interval, std::chrono::seconds(30));
}

TEST(AgentRedisFlagsTest, ReadsTheUrlFromTheEnvironmentAndThePasswordFromItsVariable) {
  testing::ScopedEnvironment environment;
  environment.set("RIGHTSIZE_REDIS", "redis://10.0.0.7:6380/3");
  environment.set("RIGHTSIZE_REDIS_PASSWORD", "agent-redis-pw");
  CLI::App app("test");
  AgentFlags flags;
  addAgentCommand(app, flags);
  std::vector<std::string> args = {"1m", "--window", "test-host", "--host", "agent"};  // reversed, as CLI11 takes it
  app.parse(args);
  auto settings = resolveAgentSettings(flags);
  ASSERT_TRUE(settings.ok()) << settings.error().message();
  ASSERT_TRUE(settings->redis);
  EXPECT_EQ(settings->redis->host, "10.0.0.7");
  EXPECT_EQ(settings->redis->port, 6380);
  EXPECT_EQ(settings->redis->database, 3);
  EXPECT_EQ(settings->redis->password, "agent-redis-pw");
  EXPECT_EQ(settings->redis->timeout, std::chrono::seconds(1));
  EXPECT_EQ(settings->redis_key, "rightsize:agent:test-host");
  // Three windows, or three writes when those are rarer.
  EXPECT_EQ(settings->redis_ttl, std::chrono::minutes(3));
  flags.redis_interval = "2m";
  flags.redis_prefix = "rs:";
  settings = resolveAgentSettings(flags);
  ASSERT_TRUE(settings.ok()) << settings.error().message();
  EXPECT_EQ(settings->redis_ttl, std::chrono::minutes(6));
  EXPECT_EQ(settings->redis_key, "rs:agent:test-host");
}

TEST(AgentRedisFlagsTest, RefusesBadUrlsPasswordsInUrlsAndIntervals) {
  AgentFlags flags;
  flags.redis = "redis://:hunter2@127.0.0.1:6379/0";
  auto secret = resolveAgentSettings(flags);
  ASSERT_FALSE(secret.ok());
  EXPECT_NE(secret.error().message().find("--redis"), std::string::npos) << secret.error().message();
  EXPECT_EQ(secret.error().message().find("hunter2"), std::string::npos) << secret.error().message();

  flags.redis = "http://127.0.0.1:6379";
  auto scheme = resolveAgentSettings(flags);
  ASSERT_FALSE(scheme.ok());
  EXPECT_NE(scheme.error().message().find("--redis"), std::string::npos) << scheme.error().message();

  flags.redis = "redis://127.0.0.1:6379/0";
  flags.redis_interval = "0";
  auto zero = resolveAgentSettings(flags);
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.error().message().find("--redis-interval"), std::string::npos) << zero.error().message();
}

}  // namespace
}  // namespace rightsize::cli
