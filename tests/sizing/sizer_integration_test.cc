// The sizer through its real boundaries: the Marathon double over HTTP, a
// real redis-server on a free loopback port, and agent doubles serving
// /v1/containers for the tasks Marathon runs. Decision cycles are driven by
// hand on a manual clock shared with the Marathon double (so deployments end
// when the test says); the Redis lease runs on Redis' own clock.

#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <thread>

#include "sizer_process.h"

#include "rightsize/core/http.h"
#include "rightsize/core/json.h"
#include "rightsize/exporters/sizer_http.h"
#include "rightsize/sizing/redis_store.h"
#include "rightsize/sizing/sizer.h"
#include "rightsize/testing/fake_agent.h"
#include "rightsize/testing/fake_marathon.h"
#include "rightsize/testing/redis_harness.h"

namespace rightsize::sizing {
namespace {

using namespace std::chrono_literals;

class SizerIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto redis = testing::RedisServer::start({.persistence = true});
    ASSERT_TRUE(redis) << redis.error().message();
    redis_ = std::move(*redis);
    testing::FakeMarathonOptions marathon_options;
    marathon_options.deployment_duration = 2min;
    marathon_ = std::make_unique<testing::FakeMarathon>(clock_, marathon_options);
    testing::FakeAppSpec web;
    web.id = "/shop/web";
    web.cpus = 2.0;
    web.mem_mib = 1024;
    web.instances = 3;
    web.labels = {{"rightsize.enabled", "true"}};
    ASSERT_TRUE(marathon_->addApp(web).ok());
    ASSERT_TRUE(marathon_->start({"127.0.0.1", 0}).ok());
    agent_ = std::make_unique<testing::FakeAgent>(*marathon_);
    ASSERT_TRUE(agent_->start().ok());
    agent_->set("/shop/web", {0.3, 0.5, 700});  // 2 cores reserved: lying factor 1.8
  }

  SizerOptions options(const std::string& owner) const {
    SizerOptions o;
    o.mode = Mode::kApply;
    o.owner = owner;
    o.lease_ttl = 1s;  // Redis' real clock: a dead sizer's lease goes quickly
    o.agents = {"http://" + agent_->address()};
    // These tests are about the sizer's machinery: a shrink after one
    // --sustain of history (the rule of three has its own test).
    o.policy.min_history = o.policy.sustain;
    o.policy.min_task_age = 0s;  // whatever the age of its tasks
    o.failed_deployment_hold = failed_deployment_hold_;
    return o;
  }
  Duration failed_deployment_hold_ = std::chrono::hours(24);
  std::unique_ptr<SizerProcess> startSizer(const std::string& owner, Duration marathon_timeout = 2s) {
    return std::make_unique<SizerProcess>(marathon_->url(), *redis_, clock_, options(owner), marathon_timeout);
  }
  // Cycles every 30 s of the manual clock for `total`.
  static void cycles(ManualClock& clock, SizerProcess& sizer, Duration total) {
    for (Duration t{}; t < total; t += 30s) {
      sizer.sizer->runCycle();
      clock.advance(30s);
    }
  }
  // Runs cycles (really waiting `pause` between them) until the sizer leads;
  // bounded.
  static bool waitForLeadership(SizerProcess& sizer, Duration pause = 100ms) {
    for (int i = 0; i < 50; ++i) {
      sizer.sizer->runCycle();
      if (sizer.sizer->snapshot()->leader) return true;
      std::this_thread::sleep_for(pause);
    }
    return false;
  }
  std::string appState(SizerProcess& sizer, const std::string& app_id) {
    for (const auto& app : sizer.sizer->snapshot()->apps) {
      if (app.app_id == app_id) return std::string(appStateName(app.state));
    }
    return "absent";
  }
  // Whether the sizer's metrics count errors of this kind.
  static ::testing::AssertionResult counted(SizerProcess& sizer, const std::string& kind) {
    const std::string metrics = sizer.metrics.render(*sizer.sizer->snapshot());
    const std::string series = R"(rightsize_sizer_errors_total{kind=")" + kind + R"("})";
    if (metrics.find(series) == std::string::npos || metrics.find(series + " 0\n") != std::string::npos) {
      return ::testing::AssertionFailure() << "no " << series << " counted in\n" << metrics;
    }
    return ::testing::AssertionSuccess();
  }
  std::uint64_t acceptedPuts() const { return marathon_->puts("/shop/web").accepted; }
  std::uint64_t allPuts() const {
    const auto puts = marathon_->puts("/shop/web");
    return puts.accepted + puts.refused;
  }
  std::vector<std::string> decisionActions() { return storedDecisionActions(*redis_); }

  ManualClock clock_;
  std::unique_ptr<testing::RedisServer> redis_;
  std::unique_ptr<testing::FakeMarathon> marathon_;
  std::unique_ptr<testing::FakeAgent> agent_;
};

TEST_F(SizerIntegrationTest, AnAppIsResizedEndToEnd) {
  auto sizer = startSizer("sizer-a");
  ASSERT_TRUE(waitForLeadership(*sizer));
  cycles(clock_, *sizer, 11min);
  ASSERT_EQ(acceptedPuts(), 1u);
  auto app = marathon_->app("/shop/web");
  ASSERT_TRUE(app);
  // The agents measure 0.1 core of executor overhead in each container:
  // max(0.3 + 0.25, 0.5 * 1.1, the day's peak 0.5 * 1.2) - 0.1 = 0.5 cores.
  EXPECT_NEAR(app->cpus, 0.5, 1e-9);
  EXPECT_DOUBLE_EQ(app->mem_mib, 1024);
  EXPECT_EQ(appState(*sizer, "/shop/web"), "deploying");

  cycles(clock_, *sizer, 3min);  // the 2 min deployment ends
  EXPECT_EQ(appState(*sizer, "/shop/web"), "cooldown");
  EXPECT_EQ(acceptedPuts(), 1u);
  const auto actions = decisionActions();
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "resize"), 1);
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "deployment_done"), 1);

  // What an operator sees over HTTP.
  HttpServer server(HttpServerOptions{{"127.0.0.1", 0}});
  exporters::SizerRouteOptions route_options;
  route_options.stall_after = 10min;
  exporters::addSizerRoutes(server, *sizer->sizer, sizer->metrics, clock_, route_options);
  ASSERT_TRUE(server.start().ok());
  CurlHttpClient http;
  auto apps = http.get(server.baseUrl() + "/v1/apps", 2s);
  ASSERT_TRUE(apps);
  EXPECT_NE(apps->body.find(R"("app_id":"/shop/web")"), std::string::npos) << apps->body;
  EXPECT_NE(apps->body.find(R"("state":"cooldown")"), std::string::npos) << apps->body;
  auto metrics = http.get(server.baseUrl() + "/metrics", 2s);
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find(R"(rightsize_resizes_total{app_id="/shop/web",direction="down",resource="cpu"} 1)"),
            std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("rightsize_sizer_is_leader 1"), std::string::npos);
  EXPECT_NE(metrics->body.find(R"(rightsize_marathon_requests_total{code="200"})"), std::string::npos);
  auto decisions = http.get(server.baseUrl() + "/v1/decisions", 2s);
  ASSERT_TRUE(decisions);
  EXPECT_NE(decisions->body.find(R"("action":"deployment_done")"), std::string::npos) << decisions->body;
  server.stop();
}

TEST_F(SizerIntegrationTest, AKilledSizerRestartedMidDeploymentNeverPutsTwice) {
  {
    auto sizer = startSizer("sizer-a");
    ASSERT_TRUE(waitForLeadership(*sizer));
    cycles(clock_, *sizer, 11min);
    ASSERT_EQ(acceptedPuts(), 1u);
    // Its usage history is in Redis for the next leader, for as long as it looks back.
    auto connection = testing::RedisConnection::open(redis_->host(), redis_->port());
    ASSERT_TRUE(connection);
    // With the days it keeps: the closed buckets' memory peaks and CPU
    // histogram, kept for ten half-lives of the histogram (10 days).
    const std::string stored = (*connection)->text({"GET", "rightsize:history:/shop/web"});
    EXPECT_TRUE(stored.starts_with("v2\n")) << stored;
    EXPECT_NE(stored.find("\nday "), std::string::npos) << stored;
    EXPECT_NE(stored.find("\ncpu "), std::string::npos) << stored;
    EXPECT_GT(std::stoll((*connection)->text({"PTTL", "rightsize:history:/shop/web"})), 9 * 24 * 3600 * 1000LL);
    // Killed: no resign, the lease is left to expire.
  }
  clock_.advance(30s);  // the deployment is still running
  auto restarted = startSizer("sizer-a-restarted");
  ASSERT_TRUE(waitForLeadership(*restarted, 200ms));
  EXPECT_EQ(appState(*restarted, "/shop/web"), "deploying");
  cycles(clock_, *restarted, 5min);
  EXPECT_EQ(appState(*restarted, "/shop/web"), "cooldown");
  EXPECT_EQ(allPuts(), 1u);
  const auto actions = decisionActions();
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "deployment_done"), 1);
}

TEST_F(SizerIntegrationTest, OfTwoSizersOnlyTheLeaderWrites) {
  auto a = startSizer("sizer-a");
  auto b = startSizer("sizer-b");
  ASSERT_TRUE(waitForLeadership(*a));
  for (int i = 0; i < 30; ++i) {
    a->sizer->runCycle();
    b->sizer->runCycle();
    clock_.advance(30s);
  }
  EXPECT_EQ(allPuts(), 1u);
  EXPECT_TRUE(a->sizer->snapshot()->leader);
  EXPECT_FALSE(b->sizer->snapshot()->leader);
  EXPECT_EQ(appState(*b, "/shop/web"), "cooldown");  // b follows what the leader did, from Marathon
}

TEST_F(SizerIntegrationTest, WithRedisStoppedNothingIsWrittenAndItRecovers) {
  auto sizer = startSizer("sizer-a");
  ASSERT_TRUE(waitForLeadership(*sizer));
  cycles(clock_, *sizer, 5min);
  ASSERT_TRUE(redis_->stop().ok());
  cycles(clock_, *sizer, 15min);
  EXPECT_EQ(allPuts(), 0u);
  EXPECT_FALSE(sizer->sizer->snapshot()->leader);
  EXPECT_FALSE(sizer->sizer->snapshot()->store_ok);
  ASSERT_TRUE(redis_->restart().ok());
  ASSERT_TRUE(waitForLeadership(*sizer, 300ms));
  cycles(clock_, *sizer, 1min);
  EXPECT_EQ(acceptedPuts(), 1u);
}

TEST_F(SizerIntegrationTest, Marathon5xxTimeoutsAnd409sNeverCauseADuplicatePut) {
  auto sizer = startSizer("sizer-a", 500ms);
  ASSERT_TRUE(waitForLeadership(*sizer));
  cycles(clock_, *sizer, 10min);
  // The first PUT gets a 503 (not applied), the second is locked (409), the
  // third is applied but answered too late (the client gives up).
  testing::MarathonFault unavailable;
  unavailable.kind = testing::MarathonFault::Kind::kHttpStatus;
  unavailable.http_status = 503;
  unavailable.method = "PUT";
  marathon_->addFault(unavailable);
  testing::MarathonFault locked;
  locked.kind = testing::MarathonFault::Kind::kLocked;
  locked.method = "PUT";
  marathon_->addFault(locked);
  cycles(clock_, *sizer, 2min + 30s);
  // The 503 at 10:00 is given up on at 11:00 (a late answer could still
  // apply it), retried a minute later: 409.
  EXPECT_EQ(allPuts(), 2u);
  EXPECT_EQ(acceptedPuts(), 0u);
  testing::MarathonFault slow;
  slow.kind = testing::MarathonFault::Kind::kDelay;
  slow.delay = 1500ms;
  slow.method = "PUT";
  marathon_->addFault(slow);
  // Cycles until the sizer sends the PUT and gives up waiting for its answer.
  bool unconfirmed = false;
  for (int i = 0; i < 20 && !unconfirmed; ++i) {
    cycles(clock_, *sizer, 30s);
    const auto decisions = sizer->sizer->recentDecisions(1);
    unconfirmed = !decisions.empty() && decisions[0].action == DecisionAction::kResizeUnconfirmed;
  }
  ASSERT_TRUE(unconfirmed);
  // Cycles are 30 s apart in production: by the next one Marathon has long
  // applied the PUT whose answer was lost. Here: once the slow double has.
  for (int i = 0; i < 100 && acceptedPuts() == 0; ++i) std::this_thread::sleep_for(50ms);
  ASSERT_EQ(acceptedPuts(), 1u);
  cycles(clock_, *sizer, 10min);
  EXPECT_EQ(acceptedPuts(), 1u);
  EXPECT_EQ(allPuts(), 3u);
  EXPECT_EQ(appState(*sizer, "/shop/web"), "cooldown");
  auto app = marathon_->app("/shop/web");
  ASSERT_TRUE(app);
  EXPECT_NEAR(app->cpus, 0.5, 1e-9);
}

// The fault matrix (docs/faults.md): each test states the fault, and checks
// no crash, no duplicate or wrong redeploy, the failure visible, recovery.

TEST_F(SizerIntegrationTest, ADeploymentThatNeverEndsIsFollowedNeverForcedAndReleasedWhenCancelled) {
  marathon_->setDeploymentOutcome("/shop/web", testing::DeploymentOutcome::kNeverFinish);
  auto sizer = startSizer("sizer-a");
  ASSERT_TRUE(waitForLeadership(*sizer));
  cycles(clock_, *sizer, 11min);
  ASSERT_EQ(acceptedPuts(), 1u);
  cycles(clock_, *sizer, 40min);  // past the cooldown and every back-off
  EXPECT_EQ(allPuts(), 1u);       // never a second PUT, never force=true
  for (const auto& request : marathon_->requests()) {
    EXPECT_EQ(request.query.find("force=true"), std::string::npos) << request.method << " " << request.path;
  }
  EXPECT_EQ(appState(*sizer, "/shop/web"), "deploying");  // visible in /v1/apps and /metrics
  const std::string metrics = sizer->metrics.render(*sizer->sizer->snapshot());
  EXPECT_NE(metrics.find(R"(rightsize_sizer_apps{state="deploying"} 1)"), std::string::npos) << metrics;

  // An operator cancels it (DELETE /v2/deployments/{id}?force=true): the app
  // keeps the new definition; the sizer settles and does not redeploy.
  const auto running = marathon_->deployments();
  ASSERT_EQ(running.size(), 1u);
  HttpRequest cancel;
  cancel.method = "DELETE";
  cancel.path = "/v2/deployments/" + running[0].id;
  cancel.query = "force=true";
  ASSERT_EQ(marathon_->handle(cancel).status, 202);
  cycles(clock_, *sizer, 5min);
  EXPECT_NE(appState(*sizer, "/shop/web"), "deploying");
  EXPECT_EQ(allPuts(), 1u);
}

TEST_F(SizerIntegrationTest, AFailedDeploymentIsRecordedAndRetriedOnlyAfterTheCooldownAndTheHold) {
  failed_deployment_hold_ = 45min;  // longer than the 30m cooldown
  marathon_->setDeploymentOutcome("/shop/web", testing::DeploymentOutcome::kFail);
  auto sizer = startSizer("sizer-a");
  ASSERT_TRUE(waitForLeadership(*sizer));
  cycles(clock_, *sizer, 11min);
  ASSERT_EQ(acceptedPuts(), 1u);
  cycles(clock_, *sizer, 3min);  // the 2-minute deployment failed: rolled back
  const auto actions = decisionActions();
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "deployment_failed"), 1);
  EXPECT_EQ(appState(*sizer, "/shop/web"), "cooldown");
  EXPECT_NEAR(marathon_->app("/shop/web")->cpus, 2.0, 1e-9);
  cycles(clock_, *sizer, 25min);
  EXPECT_EQ(allPuts(), 1u);
  marathon_->setDeploymentOutcome("/shop/web", testing::DeploymentOutcome::kSucceed);
  cycles(clock_, *sizer, 10min);  // past the 30m cooldown, not the 45m hold on the failed version
  EXPECT_EQ(allPuts(), 1u);
  EXPECT_EQ(appState(*sizer, "/shop/web"), "sick");
  cycles(clock_, *sizer, 10min);  // past the hold: tried again, once
  EXPECT_EQ(acceptedPuts(), 2u);
}

TEST_F(SizerIntegrationTest, RedisEmptiedMidDeploymentCausesNoSecondPut) {
  auto sizer = startSizer("sizer-a");
  ASSERT_TRUE(waitForLeadership(*sizer));
  cycles(clock_, *sizer, 11min);
  ASSERT_EQ(acceptedPuts(), 1u);
  // Redis restarted empty (no persistence): records, lease and token gone.
  auto connection = testing::RedisConnection::open(redis_->host(), redis_->port());
  ASSERT_TRUE(connection);
  EXPECT_EQ((*connection)->text({"FLUSHALL"}), "OK");
  cycles(clock_, *sizer, 5s);
  ASSERT_TRUE(waitForLeadership(*sizer, 300ms));  // it takes a new lease
  cycles(clock_, *sizer, 40min);
  EXPECT_EQ(allPuts(), 1u);  // Marathon's deployment, then the new size, tell it all is done
  EXPECT_NE(appState(*sizer, "/shop/web"), "deploying");
}

TEST_F(SizerIntegrationTest, AnAgentAnsweringGarbageIsCountedAndItsAppsWaitForFigures) {
  agent_->setGarbage(true);
  auto sizer = startSizer("sizer-a");
  ASSERT_TRUE(waitForLeadership(*sizer));
  cycles(clock_, *sizer, 30min);
  EXPECT_EQ(allPuts(), 0u);
  EXPECT_EQ(appState(*sizer, "/shop/web"), "no_data");
  EXPECT_TRUE(counted(*sizer, "malformed"));

  agent_->setGarbage(false);  // recovery: figures again, a resize after --sustain
  cycles(clock_, *sizer, 11min);
  EXPECT_EQ(acceptedPuts(), 1u);
}

TEST_F(SizerIntegrationTest, AnAgentDownIsVisibleAndItsAppsAreNotResized) {
  SizerOptions o = options("sizer-a");
  o.agents = {"http://127.0.0.1:1"};  // nothing listens there: connection refused
  SizerProcess sizer(marathon_->url(), *redis_, clock_, o);
  ASSERT_TRUE(waitForLeadership(sizer));
  cycles(clock_, sizer, 15min);
  EXPECT_EQ(allPuts(), 0u);
  EXPECT_EQ(appState(sizer, "/shop/web"), "no_data");
  const std::string metrics = sizer.metrics.render(*sizer.sizer->snapshot());
  EXPECT_NE(metrics.find(R"(rightsize_sizer_apps{state="no_data"} 1)"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find(R"(rightsize_sizer_agents{state="known"} 1)"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find(R"(rightsize_sizer_agents{state="reachable"} 0)"), std::string::npos) << metrics;
}

// A look-only sizer (--mode recommend) on the same Redis, cycling first,
// never takes the lease: the apply sizer acts, and the look-only one shows
// what it recorded.
TEST_F(SizerIntegrationTest, ALookOnlySizerOnTheSameRedisNeverSilencesTheApplySizer) {
  SizerOptions look = options("sizer-look");
  look.mode = Mode::kRecommend;
  SizerProcess recommender(marathon_->url(), *redis_, clock_, look);
  auto apply = startSizer("sizer-a");
  for (Duration t{}; t < 11min; t += 30s) {
    recommender.sizer->runCycle();
    apply->sizer->runCycle();
    clock_.advance(30s);
  }
  EXPECT_EQ(acceptedPuts(), 1u);
  EXPECT_TRUE(apply->sizer->snapshot()->leader);
  EXPECT_FALSE(recommender.sizer->snapshot()->leader);
  EXPECT_TRUE(recommender.sizer->snapshot()->store_ok);
  auto connection = testing::RedisConnection::open(redis_->host(), redis_->port());
  ASSERT_TRUE(connection);
  EXPECT_TRUE((*connection)->text({"GET", "rightsize:leader"}).starts_with("sizer-a ")) << "the look-only sizer leads";
  recommender.sizer->runCycle();
  EXPECT_EQ(recommender.sizer->recentDecisions(10).size(), 1u) << "the stored decisions are not shown";
  EXPECT_EQ(appState(recommender, "/shop/web"), "deploying");
}

// One agent reports 1e18 bytes in use: no PUT, counted, and once it recovers
// the app is sized on true figures only.
TEST_F(SizerIntegrationTest, AnAgentLyingAboutMemoryCausesNoPut) {
  agent_->set("/shop/web", {0.3, 0.5, 1e18 / 1048576.0});
  auto sizer = startSizer("sizer-a");
  ASSERT_TRUE(waitForLeadership(*sizer));
  cycles(clock_, *sizer, 30min);
  EXPECT_EQ(allPuts(), 0u);
  EXPECT_EQ(appState(*sizer, "/shop/web"), "no_data");
  EXPECT_TRUE(counted(*sizer, "invalid_value"));
  agent_->set("/shop/web", {0.3, 0.5, 700});
  cycles(clock_, *sizer, 11min);
  EXPECT_EQ(acceptedPuts(), 1u);
  EXPECT_LE(marathon_->app("/shop/web")->mem_mib, 1024);
  EXPECT_TRUE(sizer->sizer->snapshot()->leader);
}

// A listing (a broken proxy, a hostile peer) naming an app whose id has dot
// segments: libcurl would collapse "/shop/x/../web" onto another app's path.
// Left alone, counted, never PUT.
TEST_F(SizerIntegrationTest, AnAppIdWithDotSegmentsIsNeverPut) {
  testing::MarathonFault listing;
  listing.kind = testing::MarathonFault::Kind::kHttpStatus;
  listing.http_status = 200;
  listing.body = R"({"apps": [{"id": "/shop/x/../web", "cpus": 2, "mem": 1024, "instances": 3,)"
                 R"( "labels": {"rightsize.enabled": "true"}, "tasks": []}]})";
  listing.count = -1;
  listing.method = "GET";
  listing.path_prefix = "/v2/apps";
  marathon_->addFault(listing);
  auto sizer = startSizer("sizer-a");
  ASSERT_TRUE(waitForLeadership(*sizer));
  cycles(clock_, *sizer, 30min);
  for (const auto& request : marathon_->requests()) EXPECT_NE(request.method, "PUT") << request.path;
  EXPECT_EQ(appState(*sizer, "/shop/x/../web"), "unusable");
  EXPECT_TRUE(counted(*sizer, "invalid_app"));
  const std::string metrics = sizer->metrics.render(*sizer->sizer->snapshot());
  EXPECT_NE(metrics.find(R"(rightsize_sizer_apps{state="unusable"} 1)"), std::string::npos) << metrics;
}

// Mesos' memory isolator kills a task: Marathon reports it as the app's
// lastTaskFailure and relaunches it after a back-off. The sizer grows memory
// at once, by VPA's rule, in one PUT (the app is sick meanwhile: that is the
// cure), counts the kill once, and never grows again for the same kill.
// An agent that measures the demand the quota held back (throttled time):
// the throttled app grows to it in one PUT, through the agent's JSON.
TEST_F(SizerIntegrationTest, AThrottledAppGrowsToTheDemandItsQuotaHeldBack) {
  // At its limit (2 cpus and the executor's 0.1), throttled in every
  // period, 0.9 cores held back: a demand of 3 cores.
  agent_->set("/shop/web",
              {.cpu_avg = 2.1, .cpu_p95 = 2.1, .mem_used_mib = 700, .throttled_ratio = 1.0, .throttled_cores = 0.9});
  auto sizer = startSizer("sizer-a");
  ASSERT_TRUE(waitForLeadership(*sizer));
  cycles(clock_, *sizer, 3min);  // saturated: a fifth of the sustain
  ASSERT_EQ(acceptedPuts(), 1u) << appState(*sizer, "/shop/web");
  // 3 x (1 + twice the 0.10 headroom) = 3.6 with the executor's 0.1.
  EXPECT_DOUBLE_EQ(marathon_->app("/shop/web")->cpus, 3.5);
  EXPECT_EQ(marathon_->app("/shop/web")->mem_mib, 1024);
  // The decision says why (rightsize:decisions).
  auto connection = testing::RedisConnection::open(redis_->host(), redis_->port());
  ASSERT_TRUE(connection);
  auto decisions = (*connection)->run({"XRANGE", "rightsize:decisions", "-", "+"});
  ASSERT_TRUE(decisions);
  bool said = false;
  for (const RedisReply& entry : decisions->elements) {
    for (const RedisReply& field : entry.elements[1].elements) {
      said = said ||
             field.text.find("cpu throttled in 100% of periods (0.90 cores of demand held back)") != std::string::npos;
    }
  }
  EXPECT_TRUE(said);
}

TEST_F(SizerIntegrationTest, AnOomKillGrowsMemoryInOnePut) {
  auto sizer = startSizer("sizer-a");
  ASSERT_TRUE(waitForLeadership(*sizer));
  cycles(clock_, *sizer, 2min);
  ASSERT_EQ(allPuts(), 0u);
  const auto app = marathon_->app("/shop/web");
  ASSERT_TRUE(app && !app->tasks.empty());
  ASSERT_TRUE(marathon_->oomKillTask(app->tasks.front().id).ok());
  cycles(clock_, *sizer, 30s);
  ASSERT_EQ(acceptedPuts(), 1u) << appState(*sizer, "/shop/web");
  EXPECT_EQ(marathon_->app("/shop/web")->mem_mib, 1248);  // max(1024 + 100, 1024 x 1.2), on the 32 MiB step
  EXPECT_EQ(marathon_->app("/shop/web")->cpus, 2.0);
  const std::string metrics = sizer->metrics.render(*sizer->sizer->snapshot());
  EXPECT_NE(metrics.find(R"(rightsize_app_oom_kills_total{app_id="/shop/web"} 1)"), std::string::npos) << metrics;
  cycles(clock_, *sizer, 1h);
  for (const auto& request : marathon_->requests()) {
    if (request.method != "PUT") continue;
    auto body = json::parse(request.body, "PUT body");
    ASSERT_TRUE(body) << request.body;
    EXPECT_GE((*body)["mem"].GetDouble(), 1248) << request.body;
  }
  EXPECT_NE(
      sizer->metrics.render(*sizer->sizer->snapshot()).find(R"(rightsize_app_oom_kills_total{app_id="/shop/web"} 1)"),
      std::string::npos);
}

}  // namespace
}  // namespace rightsize::sizing
