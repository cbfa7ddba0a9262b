// The sizer's decision cycle against in-memory Marathon, agents and store,
// on a manual clock: what it writes, when, and what it never does.

#include "rightsize/sizing/sizer.h"

#include <gtest/gtest.h>

#include "sizer_fakes.h"

namespace rightsize::sizing {
namespace {

using namespace std::chrono_literals;
using testing::InMemoryMarathon;
using testing::InMemoryStore;
using testing::ScriptedAgents;

const std::map<std::string, std::string> kEnabled = {{"rightsize.enabled", "true"}};

class SizerTest : public ::testing::Test {
 protected:
  SizerTest() : store_(clock_), agents_(marathon_) {
    options_.mode = Mode::kApply;
    options_.owner = "sizer-a";
    options_.lease_ttl = 90s;
    options_.agents = {"http://agent-1:9540"};
    // These tests are about the sizer's machinery: a shrink after one
    // --sustain of history (PolicyTest covers the rule of three).
    options_.policy.history_before_shrink = 1;
  }

  std::unique_ptr<Sizer> makeSizer(StateStore* store) {
    return std::make_unique<Sizer>(marathon_, agents_, store, clock_, errors_, options_);
  }
  Sizer& sizer() {
    if (!sizer_) sizer_ = makeSizer(&store_);
    return *sizer_;
  }
  // Runs a cycle every `step` for `total`.
  void runFor(Duration total, Duration step = 30s) {
    for (Duration t{}; t < total; t += step) {
      sizer().runCycle();
      clock_.advance(step);
    }
  }
  const AppView& view(const std::string& app_id) {
    snapshot_ = sizer().snapshot();
    for (const auto& app : snapshot_->apps) {
      if (app.app_id == app_id) return app;
    }
    ADD_FAILURE() << "no view of " << app_id;
    static const AppView none;
    return none;
  }
  // An app reserving 1 core and 1 GiB whose busiest task uses 1.15 cores
  // (p95 1.4) and 700 MiB: a hot spot, grown after a fifth of --sustain (2m),
  // whatever history the sizer has.
  void addHotApp(const std::string& id) {
    marathon_.add(id, 1.0, 1024, 3, kEnabled);
    agents_.figures[id] = {1.15, 1.4, 700, 720, 0, ""};
  }
  // An app reserving 2 cores and 1 GiB that uses 0.3 cores and 700 MiB.
  void addIdleApp(const std::string& id, std::map<std::string, std::string> labels = kEnabled) {
    marathon_.add(id, 2.0, 1024, 3, std::move(labels));
    agents_.figures[id] = {0.3, 0.5, 700, 750, 0, ""};
  }

  ManualClock clock_;
  InMemoryMarathon marathon_;
  InMemoryStore store_;
  ScriptedAgents agents_;
  CountingErrorSink errors_;
  SizerOptions options_;
  std::unique_ptr<Sizer> sizer_;
  std::shared_ptr<const SizerSnapshot> snapshot_;
};

TEST_F(SizerTest, RecommendModeReportsAndNeverWrites) {
  options_.mode = Mode::kRecommend;
  addIdleApp("/web");
  runFor(30min);
  EXPECT_TRUE(marathon_.puts.empty());
  const AppView& web = view("/web");
  EXPECT_EQ(web.state, "watching");
  ASSERT_TRUE(web.recommended_cpus);
  EXPECT_NEAR(*web.recommended_cpus, 0.55, 1e-9);
  EXPECT_NE(web.reason.find("cpu lying factor 1.70 above band"), std::string::npos) << web.reason;
  EXPECT_TRUE(snapshot_->leader);
}

TEST_F(SizerTest, RecommendModeWorksWithoutAStore) {
  options_.mode = Mode::kRecommend;
  addIdleApp("/web");
  sizer_ = makeSizer(nullptr);
  runFor(30min);
  EXPECT_TRUE(marathon_.puts.empty());
  EXPECT_EQ(view("/web").state, "watching");
}

TEST_F(SizerTest, ResizesAfterSustainFollowsTheDeploymentThenCoolsDown) {
  addIdleApp("/web");
  runFor(9min + 30s);
  EXPECT_TRUE(marathon_.puts.empty()) << "acted before --sustain (10m)";
  runFor(1min);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  EXPECT_NEAR(marathon_.puts[0].cpus, 0.55, 1e-9);
  EXPECT_DOUBLE_EQ(marathon_.puts[0].mem_mib, 1024);
  EXPECT_EQ(view("/web").state, "deploying");
  EXPECT_EQ(view("/web").deployment_id, "deployment-1");
  ASSERT_EQ(store_.count("resize"), 1u);
  EXPECT_EQ(store_.decisions.back().fencing_token, 1u);

  runFor(5min);  // the deployment runs: nothing more
  EXPECT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(store_.records.at("/web").deployment_id, "deployment-1");

  marathon_.finish("/web");
  runFor(30s);
  EXPECT_EQ(store_.count("deployment_done"), 1u);
  EXPECT_EQ(view("/web").state, "cooldown");
  EXPECT_FALSE(store_.records.at("/web").intent_cpus);
  EXPECT_EQ(store_.records.at("/web").resizes, 1u);
  EXPECT_EQ(snapshot_->resizes.at({"/web", "cpu", "down"}), 1u);

  // Using less memory now: a resize down waits the whole cooldown (30m).
  agents_.figures["/web"].mem_used_mib = 300;
  agents_.figures["/web"].mem_peak_mib = 320;
  runFor(29min);
  EXPECT_EQ(marathon_.puts.size(), 1u);
  runFor(2min);
  ASSERT_EQ(marathon_.puts.size(), 2u);
  EXPECT_LT(marathon_.puts[1].mem_mib, 1024);
}

TEST_F(SizerTest, AHotSpotGrowsAfterAFifthOfTheCooldown) {
  addIdleApp("/web");
  runFor(11min);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  marathon_.finish("/web");
  // Busier now, above the new reservation (0.55 cores): a hot spot.
  agents_.figures["/web"].cpu_avg = 0.9;
  agents_.figures["/web"].cpu_p95 = 1.0;
  runFor(5min);
  EXPECT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(view("/web").state, "cooldown");
  runFor(2min);
  ASSERT_EQ(marathon_.puts.size(), 2u);
  EXPECT_GT(marathon_.puts[1].cpus, 1.0);
}

// Fault matrix (docs/faults.md): the wall clock steps back an hour while an
// app is out of band, then forward a day while its deployment runs.
TEST_F(SizerTest, ClockJumpsRestartTheWaitAndNeverCauseASecondPut) {
  addIdleApp("/web");
  runFor(8min);
  clock_.advance(-1h);
  runFor(9min);  // the sustain and the history start over
  EXPECT_TRUE(marathon_.puts.empty());
  runFor(2min);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  clock_.advance(24h);
  runFor(5min);
  EXPECT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(view("/web").state, "deploying");
  marathon_.finish("/web");
  runFor(1h);
  EXPECT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(store_.count("deployment_done"), 1u);
}

TEST_F(SizerTest, ACooldownLabelOverridesTheDefault) {
  addIdleApp("/web", {{"rightsize.enabled", "true"}, {"rightsize.cooldown", "2h"}});
  runFor(11min);
  marathon_.finish("/web");
  agents_.figures["/web"].cpu_avg = 0.9;  // a hot spot: a fifth of the cooldown, 24m
  agents_.figures["/web"].cpu_p95 = 1.0;
  runFor(23min);
  EXPECT_EQ(marathon_.puts.size(), 1u);
  runFor(2min);
  EXPECT_EQ(marathon_.puts.size(), 2u);
}

TEST_F(SizerTest, OnlyEnabledAppsUnlessApplyAll) {
  addIdleApp("/on");
  addIdleApp("/off", {});
  addIdleApp("/never", {{"rightsize.enabled", "false"}});
  runFor(11min);
  EXPECT_EQ(marathon_.putsFor("/on"), 1u);
  EXPECT_EQ(marathon_.putsFor("/off"), 0u);
  EXPECT_EQ(view("/off").state, "disabled");
  EXPECT_FALSE(view("/off").enabled);

  marathon_.finish("/on");
  marathon_.puts.clear();
  options_.apply_all = true;
  options_.owner = "sizer-b";
  store_.holder.reset();
  sizer_ = makeSizer(&store_);
  runFor(11min);
  EXPECT_EQ(marathon_.putsFor("/off"), 1u);
  marathon_.finish("/off");
  runFor(11min);
  EXPECT_EQ(marathon_.putsFor("/never"), 0u) << "--apply-all overrode rightsize.enabled=false";
}

TEST_F(SizerTest, OneDeploymentAtATime) {
  addIdleApp("/a");
  addIdleApp("/b");
  addIdleApp("/c");
  runFor(15min);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  EXPECT_NE(view("/b").reason.find("waiting: 1 deployment(s) of the sizer in progress"), std::string::npos)
      << view("/b").reason;
  marathon_.finish(marathon_.puts[0].app_id);
  runFor(30s);
  EXPECT_EQ(marathon_.puts.size(), 2u);

  options_.max_concurrent_deployments = 3;
  options_.owner = "sizer-b";
  store_.holder.reset();
  store_.histories.clear();  // expired, or never written (an older sizer)
  sizer_ = makeSizer(&store_);
  runFor(5min);  // a new sizer without a history shrinks nothing before --sustain of it
  EXPECT_EQ(marathon_.puts.size(), 2u);
  EXPECT_NE(view("/c").reason.find("of history (has"), std::string::npos) << view("/c").reason;
  runFor(5min + 30s);
  EXPECT_EQ(marathon_.puts.size(), 3u);  // the third app, alongside the one in flight
}

TEST_F(SizerTest, NeverActsOnAnAppInSomeoneElsesDeployment) {
  addIdleApp("/web");
  marathon_.apps["/web"].deployment_ids = {"operator-deployment"};
  runFor(20min);
  EXPECT_TRUE(marathon_.puts.empty());
  EXPECT_EQ(view("/web").state, "deploying");
  EXPECT_EQ(view("/web").deployment_id, "operator-deployment");
}

TEST_F(SizerTest, ALostAnswerIsNeverFollowedByASecondPut) {
  addIdleApp("/web");
  marathon_.lost_answers = 1;  // Marathon applies the PUT, the answer times out
  runFor(11min);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(store_.count("resize_unconfirmed"), 1u);
  runFor(5min);
  EXPECT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(store_.records.at("/web").deployment_id, "deployment-1");  // adopted from Marathon
  marathon_.finish("/web");
  runFor(30s);
  EXPECT_EQ(store_.count("deployment_done"), 1u);
  EXPECT_EQ(marathon_.puts.size(), 1u);
}

TEST_F(SizerTest, AFailedPutIsRetriedWithBackoff) {
  addIdleApp("/web");
  marathon_.failed_puts = 2;  // 503, nothing applied
  runFor(10min);
  runFor(30s);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  // Given up 1 min after the PUT (a late answer may still apply it), then
  // retried 1 min later.
  runFor(1min + 30s);
  EXPECT_EQ(marathon_.puts.size(), 1u);
  runFor(30s);
  EXPECT_EQ(marathon_.puts.size(), 2u);
  runFor(2min + 30s);  // second failure: given up after 1 min, then 2 min
  EXPECT_EQ(marathon_.puts.size(), 2u);
  runFor(30s);
  EXPECT_EQ(marathon_.puts.size(), 3u);
  EXPECT_EQ(view("/web").state, "deploying");
  EXPECT_GE(errors_.count("sizer", "http_status"), 2u);
}

TEST_F(SizerTest, A409IsRetriedLaterNotForced) {
  addIdleApp("/web");
  marathon_.locked_puts = 1;
  runFor(10min);
  runFor(30s);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(store_.count("resize_refused"), 1u);
  runFor(30s);
  EXPECT_EQ(marathon_.puts.size(), 1u);
  runFor(1min);
  EXPECT_EQ(marathon_.puts.size(), 2u);
  EXPECT_EQ(store_.count("resize"), 1u);
}

// DESIGN.md: the sizer follows the returned deploymentId through GET
// /v2/deployments, not through the apps' embedded deployments.
TEST_F(SizerTest, FollowsItsDeploymentThroughTheDeploymentsListOncePerCycle) {
  marathon_.embed_deployments = false;
  addHotApp("/web");
  runFor(2min + 30s);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(marathon_.deployment_reads, 0u) << "read while nothing was in flight";
  runFor(5min);  // ten cycles
  EXPECT_EQ(marathon_.deployment_reads, 10u);
  EXPECT_EQ(view("/web").state, "deploying");
  EXPECT_EQ(view("/web").deployment_id, "deployment-1");
  EXPECT_EQ(store_.count("deployment_done"), 0u);

  marathon_.finish("/web");
  runFor(30s);
  EXPECT_EQ(marathon_.deployment_reads, 11u);
  EXPECT_EQ(store_.count("deployment_done"), 1u);
  EXPECT_EQ(store_.decisions.back().deployment_id, "deployment-1");
  EXPECT_EQ(view("/web").state, "cooldown");
  runFor(5min);
  EXPECT_EQ(marathon_.deployment_reads, 11u) << "read with nothing in flight";
  EXPECT_EQ(marathon_.puts.size(), 1u);
}

TEST_F(SizerTest, AnUnreadableDeploymentsListNeverEndsAResize) {
  addHotApp("/web");
  runFor(2min + 30s);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  marathon_.deployments_down = true;
  marathon_.finish("/web");  // the app shows the new size and no deployment
  runFor(5min);
  EXPECT_EQ(view("/web").state, "deploying");
  EXPECT_NE(view("/web").reason.find("could not be read"), std::string::npos) << view("/web").reason;
  EXPECT_EQ(store_.count("deployment_done"), 0u);
  EXPECT_TRUE(store_.records.at("/web").intent_cpus);
  EXPECT_GE(errors_.count("sizer", "http_status"), 10u);
  marathon_.deployments_down = false;
  runFor(30s);
  EXPECT_EQ(store_.count("deployment_done"), 1u);
  EXPECT_EQ(marathon_.puts.size(), 1u);
}

TEST_F(SizerTest, ADeploymentGoneWithoutTheNewSizeIsRecordedAsFailed) {
  addHotApp("/web");
  runFor(2min + 30s);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  marathon_.rollBack("/web", 1.0, 1024);
  runFor(30s);
  EXPECT_EQ(store_.count("deployment_failed"), 1u);
  EXPECT_EQ(view("/web").state, "cooldown");
  runFor(25min);
  EXPECT_EQ(marathon_.puts.size(), 1u);
}

TEST_F(SizerTest, AnAppDeletedDuringItsResizeFreesTheSizersDeploymentSlot) {
  addHotApp("/a");
  addHotApp("/b");
  runFor(2min + 30s);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  const std::string first = marathon_.puts[0].app_id;
  const std::string second = first == "/a" ? "/b" : "/a";
  marathon_.apps.erase(first);  // with its deployment
  runFor(30s);
  EXPECT_EQ(store_.count("deployment_failed"), 1u);
  EXPECT_FALSE(store_.records.contains(first));
  runFor(30s);
  ASSERT_EQ(marathon_.puts.size(), 2u);
  EXPECT_EQ(marathon_.puts[1].app_id, second);
}

// 404 (the app is gone) and 422 (Marathon finds the changed app invalid)
// are definite: nothing applied, and the same PUT would be refused again.
TEST_F(SizerTest, A404OnPutIsRefusedAndNotRetriedBeforeTheCooldown) {
  addHotApp("/web");
  marathon_.refused_puts = 1;
  marathon_.refusal = "HTTP 404: App '/web' does not exist";
  runFor(2min + 30s);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  ASSERT_EQ(store_.count("resize_refused"), 1u);
  EXPECT_NE(store_.decisions.back().reason.find("HTTP 404: App '/web' does not exist"), std::string::npos)
      << store_.decisions.back().reason;
  EXPECT_EQ(errors_.count("sizer", "invalid_value"), 1u);
  const AppRecord& record = store_.records.at("/web");
  EXPECT_FALSE(record.intent_cpus);
  EXPECT_EQ(record.refusal, "HTTP 404: App '/web' does not exist");
  EXPECT_EQ(view("/web").state, "cooldown");
  EXPECT_NE(view("/web").reason.find("Marathon refused"), std::string::npos) << view("/web").reason;

  runFor(29min);  // no retry loop, no back-off series: one cooldown (30m)
  EXPECT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(store_.count("resize_refused"), 1u);
  runFor(1min + 30s);
  ASSERT_EQ(marathon_.puts.size(), 2u);
  EXPECT_EQ(store_.count("resize"), 1u);
  EXPECT_TRUE(store_.records.at("/web").refusal.empty());
}

TEST_F(SizerTest, A422OnPutIsRefusedUntilTheAppChanges) {
  addHotApp("/web");
  marathon_.apps["/web"].version = "2026-11-20T10:00:00.000Z";
  marathon_.refused_puts = 1;
  runFor(2min + 30s);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  ASSERT_EQ(store_.count("resize_refused"), 1u);
  EXPECT_NE(store_.decisions.back().reason.find("HTTP 422: Object is not valid"), std::string::npos)
      << store_.decisions.back().reason;
  EXPECT_EQ(store_.records.at("/web").refused_version, "2026-11-20T10:00:00.000Z");
  // The figures move (another recommendation): still the same app, not asked again.
  agents_.figures["/web"].cpu_p95 = 1.6;
  runFor(10min);
  EXPECT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(view("/web").state, "cooldown");
  // An operator fixes the app: a new version, asked again at once.
  marathon_.apps["/web"].version = "2026-11-20T10:20:00.000Z";
  runFor(30s);
  ASSERT_EQ(marathon_.puts.size(), 2u);
  EXPECT_GT(marathon_.puts[1].cpus, marathon_.puts[0].cpus);
  EXPECT_EQ(store_.count("resize"), 1u);
  EXPECT_EQ(errors_.count("sizer", "invalid_value"), 1u);
}

// The app's hash holds the state /v1/apps shows (DESIGN.md: "state, last
// change, in-flight deployment id, cooldown").
TEST_F(SizerTest, TheCheckpointHoldsTheStateShownInApps) {
  addHotApp("/web");
  addIdleApp("/off", {});
  runFor(1min);
  EXPECT_EQ(store_.records.at("/web").state, "watching");
  EXPECT_EQ(store_.records.at("/off").state, "disabled");
  runFor(1min + 30s);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(store_.records.at("/web").state, "deploying");
  EXPECT_EQ(store_.records.at("/web").deployment_id, "deployment-1");
  marathon_.finish("/web");
  runFor(30s);
  EXPECT_EQ(store_.records.at("/web").state, "cooldown");
  EXPECT_EQ(store_.records.at("/web").state, view("/web").state);
}

TEST_F(SizerTest, ARestartedSizerResumesTheDeploymentAndNeverPutsTwice) {
  addIdleApp("/web");
  runFor(11min);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  sizer_.reset();  // killed: the lease stays until its TTL
  options_.owner = "sizer-a-restarted";
  runFor(5min);  // waits for the lease, then picks up the record
  EXPECT_EQ(marathon_.puts.size(), 1u);
  EXPECT_TRUE(view("/web").state == "deploying") << view("/web").state;
  // Since the first sizer decided it, 10 minutes in.
  EXPECT_EQ(view("/web").resizing_since, fromUnixSeconds(1'700'000'000) + 10min);
  EXPECT_EQ(store_.holder->owner, "sizer-a-restarted");
  EXPECT_EQ(store_.holder->token, 2u);
  marathon_.finish("/web");
  runFor(30s);
  EXPECT_EQ(store_.count("deployment_done"), 1u);
  EXPECT_EQ(marathon_.puts.size(), 1u);
}

TEST_F(SizerTest, ARestartedSizerKeepsTheUsageHistoryItCheckpointed) {
  addIdleApp("/web");                     // 2 cores, using 0.3: shrinks after --sustain (10m)
  agents_.figures["/web"].cpu_p95 = 1.5;  // a burst first
  runFor(5min);
  agents_.figures["/web"].cpu_p95 = 0.5;
  runFor(3min);
  ASSERT_TRUE(store_.histories.contains("/web"));
  EXPECT_EQ(store_.history_writes, 2u);  // at the start and a bucket (5m) later
  sizer_.reset();                        // killed at 8m: the lease stays until its TTL
  options_.owner = "sizer-a-restarted";
  runFor(6min);  // takes the lease at 9m, restores the history, acts at 10m
  ASSERT_EQ(marathon_.puts.size(), 1u);
  // On the 10 minutes of history it restored, the burst included: 1.5 x 1.1.
  // With its own 1 minute it would neither shrink yet nor remember the burst.
  EXPECT_NEAR(marathon_.puts[0].cpus, 1.65, 1e-9);
  EXPECT_EQ(errors_.count("sizer", "invalid_value"), 0u);
}

TEST_F(SizerTest, ADamagedStoredHistoryIsCountedAndIgnored) {
  addIdleApp("/web");
  store_.histories["/web"] = {"v1\n1 2 not-a-number 1 0.2 0 0 0\n", clock_.now() + 1h};
  runFor(30s);
  EXPECT_EQ(errors_.count("sizer", "invalid_value"), 1u);
  EXPECT_EQ(view("/web").state, "watching");
  runFor(11min);  // its own history then
  EXPECT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(errors_.count("sizer", "invalid_value"), 1u);  // restored once per lease
}

TEST_F(SizerTest, ACrashBetweenIntentAndPutIsSettledByReadingMarathon) {
  addIdleApp("/web");
  // What a sizer killed after writing its intent but before the PUT left.
  AppRecord record;
  record.app_id = "/web";
  record.intent_cpus = 0.55;
  record.intent_mem_mib = 1024;
  record.intent_id = "dead-1";
  record.intent_at = clock_.now();
  store_.records["/web"] = record;
  runFor(1min);  // the PUT, if it was sent, may still be applied: wait
  EXPECT_EQ(view("/web").state, "deploying");
  runFor(30s);
  EXPECT_TRUE(marathon_.puts.empty());
  EXPECT_FALSE(store_.records.at("/web").intent_cpus);  // Marathon never got it: dropped
  EXPECT_EQ(view("/web").state, "cooldown");
}

TEST_F(SizerTest, TwoSizersOnlyTheLeaderWrites) {
  addIdleApp("/web");
  options_.owner = "sizer-b";
  auto follower = makeSizer(&store_);
  options_.owner = "sizer-a";
  for (int i = 0; i < 30; ++i) {
    sizer().runCycle();
    follower->runCycle();
    clock_.advance(30s);
  }
  EXPECT_EQ(marathon_.puts.size(), 1u);
  EXPECT_TRUE(sizer().snapshot()->leader);
  EXPECT_FALSE(follower->snapshot()->leader);
  // It still reports, and sees the leader's deployment.
  EXPECT_EQ(follower->snapshot()->apps.at(0).state, "deploying");
  EXPECT_EQ(follower->snapshot()->apps.at(0).deployment_id, "deployment-1");

  // The leader resigns: the follower takes over, with the leader's records.
  sizer().resign();
  sizer_.reset();
  follower->runCycle();
  EXPECT_TRUE(follower->snapshot()->leader);
  EXPECT_EQ(follower->snapshot()->apps.at(0).state, "deploying");
}

TEST_F(SizerTest, AStoreThatGoesAwayStopsEveryWriteUntilItReturns) {
  addIdleApp("/web");
  runFor(5min);
  store_.down = true;
  runFor(20min);
  EXPECT_TRUE(marathon_.puts.empty());
  EXPECT_FALSE(view("/web").state.empty());
  EXPECT_FALSE(snapshot_->leader);
  EXPECT_FALSE(snapshot_->store_ok);
  EXPECT_GT(errors_.count("sizer", "unavailable"), 0u);
  store_.down = false;
  runFor(2min);  // the lease expired meanwhile: taken again, token 2
  EXPECT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(store_.decisions.back().fencing_token, 2u);
}

TEST_F(SizerTest, ALeaseLostToAnotherSizerStopsWrites) {
  addIdleApp("/web");
  runFor(5min);
  // Someone else took the lease (this sizer stalled past its TTL).
  store_.holder = Lease{"sizer-z", 7};
  store_.lease_expires = clock_.now() + 1h;
  runFor(20min);
  EXPECT_TRUE(marathon_.puts.empty());
  EXPECT_FALSE(view("/web").state.empty());
  EXPECT_FALSE(snapshot_->leader);
  EXPECT_GT(errors_.count("sizer", "conflict"), 0u);
}

TEST_F(SizerTest, MarathonDownMeansNoDecisions) {
  addIdleApp("/web");
  marathon_.down = true;
  runFor(20min);
  EXPECT_FALSE(sizer().snapshot()->marathon_ok);
  EXPECT_GT(errors_.count("sizer", "unavailable"), 0u);
  marathon_.down = false;
  runFor(30s);
  EXPECT_TRUE(sizer().snapshot()->marathon_ok);
  EXPECT_TRUE(marathon_.puts.empty());  // the app's time out of band starts when it is seen
}

TEST_F(SizerTest, BadLabelsAreReportedAndTheDefaultsUsed) {
  addIdleApp("/web", {{"rightsize.enabled", "true"}, {"rightsize.cpu.band", "0.6:-0.1"}});
  runFor(11min);
  const AppView& web = view("/web");
  ASSERT_EQ(web.label_errors.size(), 1u);
  EXPECT_NE(web.label_errors[0].find("rightsize.cpu.band"), std::string::npos) << web.label_errors[0];
  EXPECT_EQ(marathon_.puts.size(), 1u);  // the default band applies
  EXPECT_GT(errors_.count("labels", "invalid_value"), 0u);
}

TEST_F(SizerTest, EachAppsBandsAreInItsView) {
  addIdleApp("/wide",
             {{"rightsize.enabled", "true"}, {"rightsize.cpu.band", "-0.3:0.9"}, {"rightsize.mem.band", "-128:1024"}});
  addIdleApp("/plain");
  runFor(1min);
  const AppView& wide = view("/wide");
  ASSERT_TRUE(wide.cpu_band_cores && wide.mem_band_mib);
  EXPECT_DOUBLE_EQ(wide.cpu_band_cores->low, -0.3);
  EXPECT_DOUBLE_EQ(wide.cpu_band_cores->high, 0.9);
  EXPECT_DOUBLE_EQ(wide.mem_band_mib->low, -128);
  EXPECT_DOUBLE_EQ(wide.mem_band_mib->high, 1024);
  const AppView& plain = view("/plain");
  ASSERT_TRUE(plain.cpu_band_cores && plain.mem_band_mib);
  EXPECT_DOUBLE_EQ(plain.cpu_band_cores->low, -0.1);  // the defaults
  EXPECT_DOUBLE_EQ(plain.mem_band_mib->high, 512);
}

TEST_F(SizerTest, NoFiguresNoAction) {
  marathon_.add("/quiet", 4, 4096, 2, kEnabled);
  runFor(30min);
  EXPECT_EQ(view("/quiet").state, "no_data");
  EXPECT_TRUE(marathon_.puts.empty());
}

TEST_F(SizerTest, ALaggingConsumerIsNotShrunk) {
  addIdleApp("/consumer");
  agents_.figures["/consumer"].lag_status = "WARN";
  runFor(30min);
  EXPECT_TRUE(marathon_.puts.empty());
  EXPECT_NE(view("/consumer").reason.find("Kafka consumer group"), std::string::npos) << view("/consumer").reason;
}

TEST_F(SizerTest, AgentsFromTheAgentAppsTasks) {
  options_.agents.clear();
  auto& agent_app = marathon_.add("/rightsize/agent", 0.2, 128, 2);
  agent_app.tasks[0].host = "10.0.0.1";
  agent_app.tasks[0].ports = {9540};
  agent_app.tasks[1].host = "10.0.0.2";
  agent_app.tasks[1].ports = {9540};
  sizer().runCycle();
  ASSERT_EQ(agents_.reads.size(), 1u);
  EXPECT_EQ(agents_.reads[0], (std::vector<std::string>{"http://10.0.0.1:9540", "http://10.0.0.2:9540"}));
}

TEST_F(SizerTest, DeletedAppsAreForgotten) {
  addIdleApp("/web");
  runFor(5min);
  EXPECT_TRUE(store_.records.contains("/web"));
  marathon_.apps.erase("/web");
  runFor(30s);
  EXPECT_FALSE(store_.records.contains("/web"));
}

}  // namespace
}  // namespace rightsize::sizing
