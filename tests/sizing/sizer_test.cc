// The sizer's decision cycle against in-memory Marathon, agents and store,
// on a manual clock: what it writes, when, and what it never does.

#include "rightsize/sizing/sizer.h"

#include <gtest/gtest.h>

#include "rightsize/testing/fake_sizer_boundaries.h"

namespace rightsize::sizing {
namespace {

using namespace std::chrono_literals;
using testing::FakeAgentSource;
using testing::FakeMarathonClient;
using testing::FakeStateStore;

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
    options_.policy.min_history = 10min;  // one --sustain
    // ... and whatever the age of its tasks (a test of its own covers it).
    options_.policy.min_task_age = 0s;
    // ... and whatever the app's age (the same).
    options_.policy.min_app_age = 0s;
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
    agents_.figures[id] = {1.15, 1.4, 700, 720, 0};
  }
  // An app reserving 2 cores and 1 GiB that uses 0.3 cores and 700 MiB.
  void addIdleApp(const std::string& id, std::map<std::string, std::string> labels = kEnabled) {
    marathon_.add(id, 2.0, 1024, 3, std::move(labels));
    agents_.figures[id] = {0.3, 0.5, 700, 750, 0};
  }

  // A usage history as a leader checkpoints it: figures every 30 s from
  // `from` to `to` of an app at 0.3 cores and 700 MiB, but for 4000 MiB
  // from `peak_at` for `peak_for`; encoded.
  std::string checkpointed(TimePoint from, TimePoint to, TimePoint peak_at, Duration peak_for) const {
    UsageHistory history(options_.history);
    for (TimePoint at = from; at < to; at += 30s) {
      const bool peak = at >= peak_at && at < peak_at + peak_for;
      AppUsage usage;
      usage.tasks = 3;
      usage.cpu_used_avg = 0.3;
      usage.cpu_used_p95 = 0.5;
      usage.mem_used_mib = peak ? 4000 : 700;
      usage.mem_peak_mib = peak ? 4000 : 750;
      history.add(at, usage);
    }
    return history.encode();
  }

  ManualClock clock_;
  FakeMarathonClient marathon_;
  FakeStateStore store_;
  FakeAgentSource agents_;
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
  EXPECT_EQ(web.state, AppState::kWatching);
  ASSERT_TRUE(web.recommended_cpus);
  EXPECT_EQ(*web.recommended_cpus, 0.6);  // the day's peak, 0.5, x 1.2 (the peak's headroom): on the step, exactly
  EXPECT_NE(web.reason.find("cpu lying factor 1.70 above band"), std::string::npos) << web.reason;
  // Look-only: the store is read, never written, and the lease never taken.
  EXPECT_FALSE(snapshot_->leader);
  EXPECT_TRUE(snapshot_->store_ok);
  EXPECT_FALSE(store_.holder);
  EXPECT_EQ(store_.tokens, 0u);
  EXPECT_EQ(store_.writes, 0u);
  EXPECT_TRUE(store_.records.empty());
  EXPECT_TRUE(store_.decisions.empty());
}

// An app that appears in a fleet the sizer already lists was born then: it
// is not shrunk before it has lived --min-app-age, and its birth is
// checkpointed, so that a restarted sizer still knows it. The apps of the
// first listing are taken as old.
TEST_F(SizerTest, AnAppBornWhileWatchedIsNotShrunkBeforeMinAppAge) {
  options_.policy.min_app_age = 2h;
  addIdleApp("/web");
  runFor(1min);
  const TimePoint born = clock_.now();
  addIdleApp("/batch");
  runFor(15min);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(marathon_.puts[0].app_id, "/web");
  EXPECT_FALSE(store_.records.at("/web").born_at);
  EXPECT_EQ(store_.records.at("/batch").born_at, born);
  const AppView& batch = view("/batch");
  EXPECT_EQ(batch.state, AppState::kWatching);
  EXPECT_NE(batch.reason.find("held: the app was born 14m ago, a shrink waits until it has lived 2h (--min-app-age)"),
            std::string::npos)
      << batch.reason;

  // A new sizer on the same store: the birth is restored, not taken anew.
  marathon_.finish("/web");
  sizer_ = makeSizer(&store_);
  runFor(1h);
  EXPECT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(store_.records.at("/batch").born_at, born);
  runFor(1h);
  ASSERT_EQ(marathon_.puts.size(), 2u);
  EXPECT_EQ(marathon_.puts[1].app_id, "/batch");
  EXPECT_GE(clock_.now(), born + 2h);
}

TEST_F(SizerTest, RecommendModeWorksWithoutAStore) {
  options_.mode = Mode::kRecommend;
  addIdleApp("/web");
  sizer_ = makeSizer(nullptr);
  runFor(30min);
  EXPECT_TRUE(marathon_.puts.empty());
  EXPECT_EQ(view("/web").state, AppState::kWatching);
}

TEST_F(SizerTest, ResizesAfterSustainFollowsTheDeploymentThenCoolsDown) {
  addIdleApp("/web");
  runFor(9min + 30s);
  EXPECT_TRUE(marathon_.puts.empty()) << "acted before --sustain (10m)";
  runFor(1min);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  EXPECT_NEAR(marathon_.puts[0].cpus, 0.6, 1e-9);
  EXPECT_DOUBLE_EQ(marathon_.puts[0].mem_mib, 1024);
  EXPECT_EQ(view("/web").state, AppState::kDeploying);
  EXPECT_EQ(view("/web").deployment_id, "deployment-1");
  ASSERT_EQ(store_.count(DecisionAction::kResize), 1u);
  EXPECT_EQ(store_.decisions.back().fencing_token, 1u);

  runFor(5min);  // the deployment runs: nothing more
  EXPECT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(store_.records.at("/web").deployment_id, "deployment-1");

  marathon_.finish("/web");
  runFor(30s);
  EXPECT_EQ(store_.count(DecisionAction::kDeploymentDone), 1u);
  EXPECT_EQ(view("/web").state, AppState::kCooldown);
  EXPECT_FALSE(store_.records.at("/web").intent_cpus);
  EXPECT_EQ(store_.records.at("/web").resizes, 1u);
  EXPECT_EQ(snapshot_->resizes.at({"/web", "cpu", "down"}), 1u);

  // Using less memory now: a resize down waits the whole cooldown (30m),
  // and the downsize budget (the label allows a second today).
  marathon_.apps.at("/web").labels["rightsize.max-downsizes-per-day"] = "2";
  // (Its 160 MiB, down to the peak seen, is worth a restart for this app.)
  marathon_.apps.at("/web").labels["rightsize.mem.min-change"] = "128";
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
  // Busier now, above the new reservation (0.6 cores): a hot spot.
  agents_.figures["/web"].cpu_avg = 0.9;
  agents_.figures["/web"].cpu_p95 = 1.0;
  runFor(5min);
  EXPECT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(view("/web").state, AppState::kCooldown);
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
  EXPECT_EQ(view("/web").state, AppState::kDeploying);
  marathon_.finish("/web");
  runFor(1h);
  EXPECT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(store_.count(DecisionAction::kDeploymentDone), 1u);
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
  EXPECT_EQ(view("/off").state, AppState::kDisabled);
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

// One slot: /a's shrink holds it; /b's shrink and /z's hot spot wait. When
// it frees, /z (refused a slot while at risk) gets it although /b comes
// first in Marathon's list; /b's shrink follows once /z's grow is done.
TEST_F(SizerTest, AFreeSlotGoesToAnAppAtRiskFirst) {
  addIdleApp("/a");
  addIdleApp("/b");
  addIdleApp("/z");
  runFor(10min + 30s);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(marathon_.puts[0].app_id, "/a");
  agents_.figures["/z"].cpu_avg = 2.3;  // above its 2 cores: a hot spot
  agents_.figures["/z"].cpu_p95 = 2.6;
  runFor(5min);
  EXPECT_EQ(marathon_.puts.size(), 1u);
  EXPECT_NE(view("/z").reason.find("waiting: 1 deployment(s) of the sizer in progress"), std::string::npos)
      << view("/z").reason;
  // /v1/apps and the metrics show who waits for a slot, and who is at risk.
  EXPECT_TRUE(view("/z").waiting_for_slot);
  EXPECT_TRUE(view("/z").waiting_at_risk);
  EXPECT_TRUE(view("/b").waiting_for_slot);
  EXPECT_FALSE(view("/b").waiting_at_risk);
  EXPECT_FALSE(view("/a").waiting_for_slot);
  marathon_.finish("/a");
  runFor(30s);
  ASSERT_EQ(marathon_.puts.size(), 2u);
  EXPECT_EQ(marathon_.puts[1].app_id, "/z");
  EXPECT_GT(marathon_.puts[1].cpus, 2.0);
  EXPECT_FALSE(view("/z").waiting_for_slot);
  EXPECT_TRUE(view("/b").waiting_for_slot);
  EXPECT_NE(view("/b").reason.find("waiting: the free deployment slot(s) go to 1 app(s) at risk first"),
            std::string::npos)
      << view("/b").reason;
  // The cycle that sees /z's deployment end visits /b before it: the next.
  marathon_.finish("/z");
  runFor(1min);
  ASSERT_EQ(marathon_.puts.size(), 3u) << view("/b").reason;
  EXPECT_EQ(marathon_.puts[2].app_id, "/b");
}

TEST_F(SizerTest, AFreeSlotGoesToTheShrinkThatFreesMoreOfTheFleetFirst) {
  options_.slot_order = SlotOrder::kLargest;
  addIdleApp("/a");
  addIdleApp("/b");
  // As idle, twice the reservation: its shrink frees more.
  marathon_.add("/z", 4.0, 2048, 3, kEnabled);
  agents_.figures["/z"] = {0.3, 0.5, 700, 750, 0};
  runFor(10min + 30s);
  // The first cycle they are all due goes by the apps' ids.
  ASSERT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(marathon_.puts[0].app_id, "/a");
  EXPECT_TRUE(view("/b").waiting_for_slot);
  EXPECT_TRUE(view("/z").waiting_for_slot);
  marathon_.finish("/a");
  runFor(30s);
  // Then the larger claim first, though /b comes before it.
  ASSERT_EQ(marathon_.puts.size(), 2u);
  EXPECT_EQ(marathon_.puts[1].app_id, "/z");
  EXPECT_LT(marathon_.puts[1].cpus, 1.0);
  EXPECT_TRUE(view("/b").waiting_for_slot);
  EXPECT_FALSE(view("/b").waiting_at_risk);
  EXPECT_NE(view("/b").reason.find("waiting: the free deployment slot(s) go to 1 resize(s) that move more of the "
                                   "fleet's reservation"),
            std::string::npos)
      << view("/b").reason;
  marathon_.finish("/z");
  runFor(1min);
  ASSERT_EQ(marathon_.puts.size(), 3u) << view("/b").reason;
  EXPECT_EQ(marathon_.puts[2].app_id, "/b");
}

TEST_F(SizerTest, NeverActsOnAnAppInSomeoneElsesDeployment) {
  addIdleApp("/web");
  marathon_.apps["/web"].deployment_ids = {"operator-deployment"};
  runFor(20min);
  EXPECT_TRUE(marathon_.puts.empty());
  EXPECT_EQ(view("/web").state, AppState::kDeploying);
  EXPECT_EQ(view("/web").deployment_id, "operator-deployment");
}

TEST_F(SizerTest, ALostAnswerIsNeverFollowedByASecondPut) {
  addIdleApp("/web");
  marathon_.lost_answers = 1;  // Marathon applies the PUT, the answer times out
  runFor(11min);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(store_.count(DecisionAction::kResizeUnconfirmed), 1u);
  runFor(5min);
  EXPECT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(store_.records.at("/web").deployment_id, "deployment-1");  // adopted from Marathon
  marathon_.finish("/web");
  runFor(30s);
  EXPECT_EQ(store_.count(DecisionAction::kDeploymentDone), 1u);
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
  EXPECT_EQ(view("/web").state, AppState::kDeploying);
  EXPECT_GE(errors_.count("marathon", "http_status"), 2u);
}

TEST_F(SizerTest, A409IsRetriedLaterNotForced) {
  addIdleApp("/web");
  marathon_.locked_puts = 1;
  runFor(10min);
  runFor(30s);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(store_.count(DecisionAction::kResizeRefused), 1u);
  runFor(30s);
  EXPECT_EQ(marathon_.puts.size(), 1u);
  runFor(1min);
  EXPECT_EQ(marathon_.puts.size(), 2u);
  EXPECT_EQ(store_.count(DecisionAction::kResize), 1u);
}

// docs/sizer.md ("Marathon"): the sizer follows the returned deploymentId through GET
// /v2/deployments, not through the apps' embedded deployments.
TEST_F(SizerTest, FollowsItsDeploymentThroughTheDeploymentsListOncePerCycle) {
  marathon_.embed_deployments = false;
  addHotApp("/web");
  runFor(2min + 30s);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(marathon_.deployment_reads, 0u) << "read while nothing was in flight";
  runFor(5min);  // ten cycles
  EXPECT_EQ(marathon_.deployment_reads, 10u);
  EXPECT_EQ(view("/web").state, AppState::kDeploying);
  EXPECT_EQ(view("/web").deployment_id, "deployment-1");
  EXPECT_EQ(store_.count(DecisionAction::kDeploymentDone), 0u);

  marathon_.finish("/web");
  runFor(30s);
  EXPECT_EQ(marathon_.deployment_reads, 11u);
  EXPECT_EQ(store_.count(DecisionAction::kDeploymentDone), 1u);
  EXPECT_EQ(store_.decisions.back().deployment_id, "deployment-1");
  EXPECT_EQ(view("/web").state, AppState::kCooldown);
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
  EXPECT_EQ(view("/web").state, AppState::kDeploying);
  EXPECT_NE(view("/web").reason.find("could not be read"), std::string::npos) << view("/web").reason;
  EXPECT_EQ(store_.count(DecisionAction::kDeploymentDone), 0u);
  EXPECT_TRUE(store_.records.at("/web").intent_cpus);
  EXPECT_GE(errors_.count("marathon", "http_status"), 10u);
  marathon_.deployments_down = false;
  runFor(30s);
  EXPECT_EQ(store_.count(DecisionAction::kDeploymentDone), 1u);
  EXPECT_EQ(marathon_.puts.size(), 1u);
}

TEST_F(SizerTest, ADeploymentGoneWithoutTheNewSizeIsRecordedAsFailed) {
  addHotApp("/web");
  runFor(2min + 30s);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  marathon_.rollBack("/web", 1.0, 1024);
  runFor(30s);
  EXPECT_EQ(store_.count(DecisionAction::kDeploymentFailed), 1u);
  EXPECT_EQ(view("/web").state, AppState::kCooldown);
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
  EXPECT_EQ(store_.count(DecisionAction::kDeploymentFailed), 1u);
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
  ASSERT_EQ(store_.count(DecisionAction::kResizeRefused), 1u);
  EXPECT_NE(store_.decisions.back().reason.find("HTTP 404: App '/web' does not exist"), std::string::npos)
      << store_.decisions.back().reason;
  EXPECT_EQ(errors_.count("marathon", "invalid_value"), 1u);
  const AppRecord& record = store_.records.at("/web");
  EXPECT_FALSE(record.intent_cpus);
  EXPECT_EQ(record.refusal, "HTTP 404: App '/web' does not exist");
  EXPECT_EQ(view("/web").state, AppState::kCooldown);
  EXPECT_NE(view("/web").reason.find("Marathon refused"), std::string::npos) << view("/web").reason;

  runFor(29min);  // no retry loop, no back-off series: one cooldown (30m)
  EXPECT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(store_.count(DecisionAction::kResizeRefused), 1u);
  runFor(1min + 30s);
  ASSERT_EQ(marathon_.puts.size(), 2u);
  EXPECT_EQ(store_.count(DecisionAction::kResize), 1u);
  EXPECT_TRUE(store_.records.at("/web").refusal.empty());
}

TEST_F(SizerTest, A422OnPutIsRefusedUntilTheAppChanges) {
  addHotApp("/web");
  marathon_.apps["/web"].version = "2026-11-20T10:00:00.000Z";
  marathon_.refused_puts = 1;
  runFor(2min + 30s);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  ASSERT_EQ(store_.count(DecisionAction::kResizeRefused), 1u);
  EXPECT_NE(store_.decisions.back().reason.find("HTTP 422: Object is not valid"), std::string::npos)
      << store_.decisions.back().reason;
  EXPECT_EQ(store_.records.at("/web").refused_version, "2026-11-20T10:00:00.000Z");
  // The figures move (another recommendation): still the same app, not asked again.
  agents_.figures["/web"].cpu_p95 = 1.6;
  runFor(10min);
  EXPECT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(view("/web").state, AppState::kCooldown);
  // An operator fixes the app: a new version, asked again at once.
  marathon_.apps["/web"].version = "2026-11-20T10:20:00.000Z";
  runFor(30s);
  ASSERT_EQ(marathon_.puts.size(), 2u);
  EXPECT_GT(marathon_.puts[1].cpus, marathon_.puts[0].cpus);
  EXPECT_EQ(store_.count(DecisionAction::kResize), 1u);
  EXPECT_EQ(errors_.count("marathon", "invalid_value"), 1u);
}

// The app's hash holds the state /v1/apps shows (docs/api.md, "App records":
// state, last change, in-flight deployment id, cooldown).
TEST_F(SizerTest, TheCheckpointHoldsTheStateShownInApps) {
  addHotApp("/web");
  addIdleApp("/off", {});
  runFor(1min);
  EXPECT_EQ(store_.records.at("/web").state, AppState::kWatching);
  EXPECT_EQ(store_.records.at("/off").state, AppState::kDisabled);
  runFor(1min + 30s);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(store_.records.at("/web").state, AppState::kDeploying);
  EXPECT_EQ(store_.records.at("/web").deployment_id, "deployment-1");
  marathon_.finish("/web");
  runFor(30s);
  EXPECT_EQ(store_.records.at("/web").state, AppState::kCooldown);
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
  EXPECT_TRUE(view("/web").state == AppState::kDeploying) << appStateName(view("/web").state);
  // Since the first sizer decided it, 10 minutes in.
  EXPECT_EQ(view("/web").resizing_since, fromUnixSeconds(1'700'000'000) + 10min);
  EXPECT_EQ(store_.holder->owner, "sizer-a-restarted");
  EXPECT_EQ(store_.holder->token, 2u);
  marathon_.finish("/web");
  runFor(30s);
  EXPECT_EQ(store_.count(DecisionAction::kDeploymentDone), 1u);
  EXPECT_EQ(marathon_.puts.size(), 1u);
}

TEST_F(SizerTest, ARestartedSizerKeepsTheUsageHistoryItCheckpointed) {
  addIdleApp("/web");  // 2 cores, using 0.3: shrinks after --sustain (10m)
  // (A shrink of 0.2 cores is worth a restart for this app.)
  marathon_.apps.at("/web").labels["rightsize.cpu.min-change"] = "0.2";
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
  // On the 10 minutes of history it restored, the burst included: the day's
  // peak, 1.5, x 1.2 (the peak's headroom). With its own 1 minute it would
  // neither shrink yet nor remember the burst.
  EXPECT_NEAR(marathon_.puts[0].cpus, 1.8, 1e-9);
  EXPECT_EQ(errors_.count("redis", "invalid_value"), 0u);
}

// A standby that has watched the fleet for half a day takes over from a
// leader that checkpointed three days: it keeps the days (a memory peak two
// days ago), not its own hours, whichever buckets begin first (both reach
// back 12 h: the leader's here begin 20 s after the standby's own).
TEST_F(SizerTest, ANewLeaderKeepsTheDaysItWasHandedOverItsOwnHoursAfterThem) {
  marathon_.add("/web", 2.0, 8192, 3, kEnabled);  // using 0.3 cores and 700 MiB
  agents_.figures["/web"] = {0.3, 0.5, 700, 750, 0};
  store_.holder = Lease{"sizer-old", ++store_.tokens};  // the leader, for 13 hours more
  store_.lease_expires = clock_.now() + 13h;
  const TimePoint takeover = clock_.now() + 13h;
  // A nightly job two days ago.
  store_.histories["/web"] = {checkpointed(clock_.now() - 72h + 20s, takeover, clock_.now() - 48h, 1h),
                              takeover + 10 * 24h};
  runFor(13h);  // the standby: its own figures, no lease
  EXPECT_TRUE(marathon_.puts.empty());
  EXPECT_FALSE(sizer().snapshot()->leader);
  runFor(15min);  // the lease is free: it takes it, restores, shrinks
  ASSERT_TRUE(sizer().snapshot()->leader);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  // Memory stays above the peak of the daily peaks (4000 MiB): on its own
  // 13 hours of 750 MiB it would step down to 1856 MiB.
  EXPECT_GT(marathon_.puts[0].mem_mib, 4000);
  EXPECT_LT(marathon_.puts[0].mem_mib, 8192);
  EXPECT_EQ(errors_.count("redis", "invalid_value"), 0u);
}

// The time of day through the sizer itself (not a forecast set by hand):
// days of an app busy at 1.6 cores, but for 09:00-10:00 UTC at 2.2 p95,
// show the day's peak and when in its view; on the fourth day its use
// collapses at 12:00 (an upstream outage): an anomaly, and nothing shrinks.
TEST_F(SizerTest, TheTimeOfDayIsLearntFromTheFiguresAndAnOutageShrinksNothing) {
  marathon_.add("/web", 3.0, 1024, 3, kEnabled);
  const auto hourUtc = [&] {
    return std::chrono::duration_cast<std::chrono::hours>(clock_.now().time_since_epoch()).count() % 24;
  };
  const auto busy = [&] {
    agents_.figures["/web"] = hourUtc() == 9 ? FakeAgentSource::Figures{2.0, 2.2, 700, 750, 0}
                                             : FakeAgentSource::Figures{1.6, 1.8, 700, 750, 0};
  };
  // Three days and a half, to 11:00 on the fourth (the clock starts at 22:13).
  const TimePoint until = fromUnixSeconds(1'700'000'000) + 3 * 24h + 12h + 47min;
  // (Its resizes are deployed as they come.)
  const auto cycle = [&] {
    sizer().runCycle();
    if (!marathon_.apps.at("/web").deployment_ids.empty()) marathon_.finish("/web");
    clock_.advance(1min);
  };
  while (clock_.now() < until) {
    busy();
    cycle();
  }
  {
    const AppView& web = view("/web");
    ASSERT_TRUE(web.forecast_peak_cpus) << web.reason;
    EXPECT_NEAR(*web.forecast_peak_cpus, 2.2, 0.05);
    // At the start of its hour: 09:00, or 08:00 where the 5-minute bucket
    // holding 09:00's first minutes began at 08:58 (buckets follow the
    // sizer's start, not the clock's round minutes).
    ASSERT_TRUE(web.forecast_peak_at);
    const auto peak_hour =
        std::chrono::duration_cast<std::chrono::hours>(web.forecast_peak_at->time_since_epoch()).count() % 24;
    EXPECT_TRUE(peak_hour == 8 || peak_hour == 9) << peak_hour;
    EXPECT_FALSE(web.usage_anomaly);
  }
  const std::size_t puts_before = marathon_.puts.size();
  // 12:00: use collapses for two hours.
  agents_.figures["/web"] = {0.05, 0.1, 700, 750, 0};
  for (int minute = 0; minute < 120; ++minute) cycle();
  const AppView& web = view("/web");
  EXPECT_TRUE(web.usage_anomaly);
  ASSERT_TRUE(web.usage_anomaly_score);
  EXPECT_GT(*web.usage_anomaly_score, 3);
  EXPECT_NE(web.reason.find("held: its use collapsed against its time of day"), std::string::npos) << web.reason;
  EXPECT_EQ(marathon_.puts.size(), puts_before);
}

// Both histories begun the same UTC day (an app created today): the one
// whose buckets begin first is kept, the leader's six hours over the
// standby's quarter of an hour.
TEST_F(SizerTest, ANewLeaderKeepsTheLongerHistoryOfTheSameDay) {
  marathon_.add("/web", 2.0, 8192, 3, kEnabled);  // using 0.3 cores and 700 MiB
  agents_.figures["/web"] = {0.3, 0.5, 700, 750, 0};
  // The clock starts at 22:13 UTC: the leader's figures from 17:13, a
  // 4000 MiB peak at 17:30; the standby's from 22:58; the takeover at 23:13.
  store_.holder = Lease{"sizer-old", ++store_.tokens};
  store_.lease_expires = clock_.now() + 60min;
  clock_.advance(45min);
  const TimePoint takeover = clock_.now() + 15min;
  store_.histories["/web"] = {checkpointed(takeover - 6h, takeover, takeover - 6h + 17min, 5min), takeover + 24h};
  runFor(15min);  // the standby: its own figures, no lease
  EXPECT_FALSE(sizer().snapshot()->leader);
  runFor(15min);
  ASSERT_TRUE(sizer().snapshot()->leader);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  EXPECT_GT(marathon_.puts[0].mem_mib, 4000);  // on its own quarter of an hour: 1856 MiB
}

TEST_F(SizerTest, ADamagedStoredHistoryIsCountedAndIgnored) {
  addIdleApp("/web");
  store_.histories["/web"] = {"v1\n1 2 not-a-number 1 0.2 0 0 0\n", clock_.now() + 1h};
  runFor(30s);
  EXPECT_EQ(errors_.count("redis", "invalid_value"), 1u);
  EXPECT_EQ(view("/web").state, AppState::kWatching);
  runFor(11min);  // its own history then
  EXPECT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(errors_.count("redis", "invalid_value"), 1u);  // restored once per lease
}

// A stored history holding figures above --max-cpus / --max-mem is refused
// as damaged (counted), not sized on: the app is not grown to the ceilings.
TEST_F(SizerTest, AStoredHistoryAboveTheCeilingsIsRefused) {
  options_.limits.max_cpus = 16;
  options_.limits.max_mem_mib = 65536;
  addIdleApp("/web");
  const auto ns = std::to_string((clock_.now() - 1min).time_since_epoch().count());
  store_.histories["/web"] = {"v2\n" + ns + " " + ns + " 1000 1 1000 5000000 1 5000000\n", clock_.now() + 1h};
  runFor(3min);
  EXPECT_EQ(errors_.count("redis", "invalid_value"), 1u);
  EXPECT_TRUE(marathon_.puts.empty());
  EXPECT_NE(view("/web").state, AppState::kDeploying);
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
  EXPECT_EQ(view("/web").state, AppState::kDeploying);
  runFor(30s);
  EXPECT_TRUE(marathon_.puts.empty());
  EXPECT_FALSE(store_.records.at("/web").intent_cpus);  // Marathon never got it: dropped
  EXPECT_EQ(view("/web").state, AppState::kCooldown);
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
  // It still reports, and sees the leader's deployment; Redis is fine for it
  // too, and it serves the stored decisions.
  EXPECT_EQ(follower->snapshot()->apps.at(0).state, AppState::kDeploying);
  EXPECT_EQ(follower->snapshot()->apps.at(0).deployment_id, "deployment-1");
  EXPECT_TRUE(follower->snapshot()->store_ok);
  ASSERT_EQ(follower->recentDecisions(10).size(), 1u);
  EXPECT_EQ(follower->recentDecisions(10)[0].action, DecisionAction::kResize);

  // The leader resigns: the follower takes over, with the leader's records.
  sizer().resign();
  sizer_.reset();
  follower->runCycle();
  EXPECT_TRUE(follower->snapshot()->leader);
  EXPECT_EQ(follower->snapshot()->apps.at(0).state, AppState::kDeploying);
}

TEST_F(SizerTest, AStoreThatGoesAwayStopsEveryWriteUntilItReturns) {
  addIdleApp("/web");
  runFor(5min);
  store_.down = true;
  runFor(20min);
  EXPECT_TRUE(marathon_.puts.empty());
  EXPECT_EQ(view("/web").app_id, "/web");  // still shown
  EXPECT_FALSE(snapshot_->leader);
  EXPECT_FALSE(snapshot_->store_ok);
  EXPECT_GT(errors_.count("redis", "unavailable"), 0u);
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
  EXPECT_EQ(view("/web").app_id, "/web");  // still shown
  EXPECT_FALSE(snapshot_->leader);
  EXPECT_GT(errors_.count("redis", "conflict"), 0u);
}

// Counted and logged once per source and kind: a Marathon outage does not
// hide a Redis one that follows.
TEST_F(SizerTest, MarathonAndRedisErrorsAreReportedUnderTheirOwnSources) {
  addIdleApp("/web");
  marathon_.down = true;
  runFor(1min);
  marathon_.down = false;
  store_.down = true;
  runFor(1min);
  EXPECT_GT(errors_.count("marathon", "unavailable"), 0u);
  EXPECT_GT(errors_.count("redis", "unavailable"), 0u);
}

TEST_F(SizerTest, MarathonDownMeansNoDecisions) {
  addIdleApp("/web");
  marathon_.down = true;
  runFor(20min);
  EXPECT_FALSE(sizer().snapshot()->marathon_ok);
  EXPECT_GT(errors_.count("marathon", "unavailable"), 0u);
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

// An app's labels choose the percentile of its history's CPU p95s and the
// headroom above it: a 10-minute burst to 1.5 cores then 30 quiet minutes.
TEST_F(SizerTest, LabelsChooseThePercentileAndTheHeadroom) {
  options_.mode = Mode::kRecommend;
  addIdleApp("/plain");
  addIdleApp("/median", {{"rightsize.enabled", "true"}, {"rightsize.cpu.percentile", "50"}});
  addIdleApp("/roomy", {{"rightsize.enabled", "true"}, {"rightsize.cpu.headroom", "0.15"}});
  for (const char* id : {"/plain", "/median", "/roomy"}) agents_.figures[id] = {0.3, 1.5, 700, 750, 0};
  runFor(10min);
  for (const char* id : {"/plain", "/median", "/roomy"}) agents_.figures[id] = {0.3, 0.5, 700, 750, 0};
  runFor(30min);
  ASSERT_TRUE(view("/plain").recommended_cpus);
  // The 95th percentile, 1.5, the day's peak: x 1.2 (twice the headroom, a peak's).
  EXPECT_EQ(*view("/plain").recommended_cpus, 1.8);
  ASSERT_TRUE(view("/median").recommended_cpus);
  EXPECT_EQ(*view("/median").recommended_cpus, 0.55);  // the median, 0.5, x 1.1
  ASSERT_TRUE(view("/roomy").recommended_cpus);
  EXPECT_EQ(*view("/roomy").recommended_cpus, 1.95);  // 1.5 x 1.3
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
  EXPECT_EQ(view("/quiet").state, AppState::kNoData);
  EXPECT_TRUE(marathon_.puts.empty());
}

TEST_F(SizerTest, ALaggingConsumerIsNotShrunk) {
  addIdleApp("/consumer");
  agents_.figures["/consumer"].lag_status = wire::LagStatus::kWarn;
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

// --- Safety: OOM kills, sick apps, look-only sizers, bad input ------------

// Marathon's lastTaskFailure of a task Mesos' memory isolator killed.
TaskFailure oomKill(const std::string& task_id, TimePoint at, const std::string& version) {
  TaskFailure failure;
  failure.task_id = task_id;
  failure.state = "TASK_FAILED";
  failure.message = "Memory limit exceeded: Requested: 1056MB Maximum Used: 1056MB\n\nMEMORY STATISTICS: \ncache 0";
  failure.at = at;
  failure.version = version;
  failure.limit_mib = 1056;
  return failure;
}

TEST_F(SizerTest, RecommendModeNeverSilencesTheApplySizer) {
  addIdleApp("/web");
  SizerOptions look = options_;
  look.mode = Mode::kRecommend;
  look.owner = "sizer-look";
  auto recommender = std::make_unique<Sizer>(marathon_, agents_, &store_, clock_, errors_, look);
  // The look-only sizer starts first and runs every cycle before the other.
  for (int i = 0; i < 40; ++i) {
    recommender->runCycle();
    sizer().runCycle();
    clock_.advance(30s);
  }
  EXPECT_FALSE(recommender->snapshot()->leader);
  EXPECT_TRUE(sizer().snapshot()->leader);
  ASSERT_EQ(marathon_.puts.size(), 1u) << "the apply sizer did not act";
  EXPECT_EQ(store_.holder->owner, "sizer-a");
  // The look-only sizer shows what the leader recorded, and its decisions.
  recommender->runCycle();
  bool seen_deploying = false;
  for (const auto& app : recommender->snapshot()->apps) seen_deploying |= app.app_id == "/web";
  EXPECT_TRUE(seen_deploying);
  EXPECT_EQ(recommender->recentDecisions(10).size(), 1u);
}

TEST_F(SizerTest, OomKillGrowsMemoryAtOnceAndHoldsIt) {
  addIdleApp("/web");  // 2 cores, 1 GiB; its restarted task uses 50 MiB
  agents_.figures["/web"].mem_used_mib = 50;
  agents_.figures["/web"].mem_peak_mib = 50;
  MarathonApp& web = marathon_.apps["/web"];
  web.version = "v1";
  web.config_changed_at = clock_.now() - 1h;
  web.last_task_failure = oomKill("web.task-1", clock_.now() - 1min, "v1");
  sizer().runCycle();
  ASSERT_EQ(marathon_.puts.size(), 1u) << view("/web").reason;
  // VPA's rule: max(+100 MiB, x1.2) of the 1024 MiB it was killed at, on the 32 MiB step.
  EXPECT_EQ(marathon_.puts[0].mem_mib, 1248);
  EXPECT_EQ(marathon_.puts[0].cpus, 2.0) << "CPU waits for its own evidence";
  EXPECT_EQ(view("/web").oom_kills, 1u);
  EXPECT_EQ(snapshot_->oom_kills.at("/web"), 1u);
  EXPECT_NE(store_.decisions.back().reason.find("OOM-killed at 1024 MiB"), std::string::npos)
      << store_.decisions.back().reason;

  marathon_.finish("/web");
  // The kill stays in lastTaskFailure but is older than the new version: no
  // second growth, no second count; the small use never shrinks memory back
  // below the growth while --oom-hold (24h) lasts. CPU shrinks on its own.
  runFor(12h, 1min);
  ASSERT_GE(marathon_.puts.size(), 2u);
  for (const auto& put : marathon_.puts) EXPECT_GE(put.mem_mib, 1248) << "shrank below the OOM growth";
  EXPECT_EQ(view("/web").oom_kills, 1u);
  EXPECT_EQ(store_.records.at("/web").mem_hold_mib, 1248);
}

// One slot, held by /a's shrink: with --max-concurrent-oom-deployments 0 an
// OOM-killed /z waits for it; at the default (2) it grows at once in a slot
// beyond it, where a hot spot waits (AFreeSlotGoesToAnAppAtRiskFirst).
TEST_F(SizerTest, AnOomKilledAppGrowsInASlotBeyondTheOthers) {
  options_.max_concurrent_oom_deployments = 0;  // first, none beyond: it waits
  addIdleApp("/a");
  addIdleApp("/z");
  runFor(10min + 30s);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(marathon_.puts[0].app_id, "/a");
  MarathonApp& z = marathon_.apps["/z"];
  z.version = "v1";
  z.config_changed_at = clock_.now() - 1h;
  z.last_task_failure = oomKill("z.task-1", clock_.now() - 1min, "v1");
  sizer().runCycle();
  EXPECT_EQ(marathon_.puts.size(), 1u);
  EXPECT_TRUE(view("/z").waiting_at_risk);

  options_.max_concurrent_oom_deployments = 2;
  options_.owner = "sizer-b";
  store_.holder.reset();
  sizer_ = makeSizer(&store_);
  sizer().runCycle();
  ASSERT_EQ(marathon_.puts.size(), 2u) << view("/z").reason;
  EXPECT_EQ(marathon_.puts[1].app_id, "/z");
  EXPECT_EQ(marathon_.puts[1].mem_mib, 1248);
  // /v1/apps and the decision log say why it did not wait.
  const std::string beyond =
      "an OOM-killed app's grow: beyond the 1 deployment slot(s) of the sizer, with 1 in progress";
  EXPECT_NE(view("/z").reason.find(beyond), std::string::npos) << view("/z").reason;
  EXPECT_NE(store_.decisions.back().reason.find(beyond), std::string::npos) << store_.decisions.back().reason;
}

TEST_F(SizerTest, ALookOnlySizerCountsEachOomKillOnce) {
  options_.mode = Mode::kRecommend;
  addIdleApp("/web");
  marathon_.apps["/web"].last_task_failure = oomKill("web.task-1", clock_.now(), "");
  runFor(5min);
  EXPECT_EQ(view("/web").oom_kills, 1u);
  EXPECT_TRUE(marathon_.puts.empty());
  EXPECT_EQ(store_.writes, 0u);
}

TEST_F(SizerTest, OomKillOfAnOlderVersionIsCountedNotActedOn) {
  addIdleApp("/web");
  agents_.figures["/web"] = {0.3, 0.5, 700, 750, 0};
  MarathonApp& web = marathon_.apps["/web"];
  web.version = "v2";
  web.config_changed_at = clock_.now() - 10min;
  web.last_task_failure = oomKill("web.task-old", clock_.now() - 1h, "v1");
  options_.policy.sustain = 1h;  // nothing else moves it in this test
  runFor(5min);
  EXPECT_TRUE(marathon_.puts.empty());
  EXPECT_EQ(view("/web").oom_kills, 1u);
  // Another kill, of the current version: counted again, and grown.
  marathon_.apps["/web"].last_task_failure = oomKill("web.task-new", clock_.now(), "v2");
  runFor(30s);
  EXPECT_EQ(view("/web").oom_kills, 2u);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(marathon_.puts[0].mem_mib, 1248);
}

// Marathon's versions are timestamps. A task of the configuration a
// deployment replaces, OOM-killed while the deployment runs (after the new
// configuration was made), is no kill of the new one: a grow in flight is
// not grown again on it (the demo showed 3744 -> 5248 MiB grown to 9472 on
// the 3744 MiB task's kill). A task of the new configuration killed is.
TEST_F(SizerTest, OomKillOfTheConfigurationADeploymentReplacesIsNotActedOn) {
  addIdleApp("/web");
  agents_.figures["/web"] = {0.3, 0.5, 700, 750, 0};
  options_.policy.sustain = 1h;  // nothing else moves it in this test
  const auto killed = [&](const std::string& task_id, TimePoint ran) {
    TaskFailure failure = oomKill(task_id, clock_.now(), "v@" + std::to_string(toUnixSeconds(ran)));
    failure.version_at = ran;
    return failure;
  };
  MarathonApp& web = marathon_.apps["/web"];
  web.config_changed_at = clock_.now() - 2min;
  web.version = "v@new";
  web.last_task_failure = killed("web.task-old", clock_.now() - 1h);
  runFor(5min);
  EXPECT_TRUE(marathon_.puts.empty()) << view("/web").reason;
  marathon_.apps["/web"].last_task_failure = killed("web.task-new", *marathon_.apps["/web"].config_changed_at);
  runFor(30s);
  ASSERT_EQ(marathon_.puts.size(), 1u) << view("/web").reason;
  EXPECT_EQ(marathon_.puts[0].mem_mib, 1248);
}

TEST_F(SizerTest, OomGrowthStaysWithinTheAppsMaximum) {
  addIdleApp("/web", {{"rightsize.enabled", "true"}, {"rightsize.mem.max", "1120"}});
  MarathonApp& web = marathon_.apps["/web"];
  web.version = "v1";
  web.last_task_failure = oomKill("web.task-1", clock_.now(), "v1");
  sizer().runCycle();
  ASSERT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(marathon_.puts[0].mem_mib, 1120);
}

TEST_F(SizerTest, SickAppsAreNotResized) {
  addIdleApp("/down");
  marathon_.apps["/down"].tasks_running = 2;  // of 3
  addIdleApp("/unhealthy");
  marathon_.apps["/unhealthy"].health_checked = true;
  marathon_.apps["/unhealthy"].tasks_healthy = 1;
  addIdleApp("/backoff");
  marathon_.queue.push_back({"/backoff", 1, 42, false});
  runFor(1h);
  EXPECT_TRUE(marathon_.puts.empty());
  EXPECT_EQ(view("/down").state, AppState::kSick);
  EXPECT_NE(view("/down").reason.find("2 of 3 tasks running"), std::string::npos) << view("/down").reason;
  EXPECT_NE(view("/unhealthy").reason.find("1 of 3 tasks healthy"), std::string::npos) << view("/unhealthy").reason;
  EXPECT_NE(view("/backoff").reason.find("backing off for 42s"), std::string::npos) << view("/backoff").reason;
  // Well again: resized after its own --sustain.
  marathon_.apps["/down"].tasks_running = 3;
  runFor(11min);
  EXPECT_EQ(marathon_.putsFor("/down"), 1u);
  EXPECT_EQ(marathon_.putsFor("/unhealthy"), 0u);
}

TEST_F(SizerTest, AnUnreadableLaunchQueueHoldsEveryResize) {
  addIdleApp("/web");
  marathon_.queue_down = true;
  runFor(1h);
  EXPECT_TRUE(marathon_.puts.empty());
  EXPECT_NE(view("/web").reason.find("launch queue could not be read"), std::string::npos) << view("/web").reason;
}

TEST_F(SizerTest, ACrashLoopingAppStillGrowsMemoryAfterAnOomKill) {
  addIdleApp("/web");
  MarathonApp& web = marathon_.apps["/web"];
  web.version = "v1";
  web.tasks_running = 1;
  marathon_.queue.push_back({"/web", 2, 30, false});
  web.last_task_failure = oomKill("web.task-1", clock_.now(), "v1");
  sizer().runCycle();
  ASSERT_EQ(marathon_.puts.size(), 1u) << view("/web").reason;
  EXPECT_EQ(marathon_.puts[0].mem_mib, 1248);
  EXPECT_EQ(marathon_.puts[0].cpus, 2.0) << "a sick app's CPU is left alone";
}

TEST_F(SizerTest, AFailedResizeIsNotTriedAgainOnTheSameVersion) {
  addHotApp("/web");
  runFor(3min);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  marathon_.rollBack("/web", 1.0, 1024);
  runFor(30s);
  ASSERT_EQ(store_.count(DecisionAction::kDeploymentFailed), 1u);
  runFor(6h);  // cooldowns passed many times over
  EXPECT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(view("/web").state, AppState::kSick);
  EXPECT_NE(view("/web").reason.find("its last resize failed"), std::string::npos) << view("/web").reason;
  marathon_.apps["/web"].version = "fixed-by-hand";
  runFor(3min);
  EXPECT_EQ(marathon_.puts.size(), 2u);
}

TEST_F(SizerTest, AnUnusableAppKeepsItsRecord) {
  addIdleApp("/web");
  runFor(11min);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  marathon_.finish("/web");
  runFor(30s);
  const AppRecord kept = store_.records.at("/web");
  ASSERT_TRUE(kept.cooldown_until);
  // Its definition turns unparseable: not gone, left alone, counted.
  marathon_.apps.erase("/web");
  marathon_.unusable.push_back({"/web", Error(ErrorKind::kInvalidValue, "GET /v2/apps: apps[0].cpus: not a number")});
  runFor(1h);
  ASSERT_TRUE(store_.records.contains("/web"));
  EXPECT_EQ(store_.records.at("/web").cooldown_until, kept.cooldown_until);
  EXPECT_EQ(store_.records.at("/web").resizes, 1u);
  EXPECT_EQ(view("/web").state, AppState::kUnusable);
  EXPECT_NE(view("/web").reason.find("apps[0].cpus"), std::string::npos) << view("/web").reason;
  EXPECT_GT(errors_.count("marathon", "invalid_app"), 0u);
  EXPECT_EQ(marathon_.puts.size(), 1u);
}

// The one deployment slot is never held for good by an intent nothing
// follows: an app whose definition turned unusable while the sizer resized
// it (its flow does not run) holds the slot only while Marathon lists its
// deployment; half an intent in a damaged record holds none and is dropped.
TEST_F(SizerTest, NoIntentNothingFollowsHoldsTheSlot) {
  addIdleApp("/web");
  runFor(11min);
  ASSERT_EQ(marathon_.puts.size(), 1u);  // deploying, the slot taken
  const std::string deployment = store_.records.at("/web").deployment_id;
  ASSERT_FALSE(deployment.empty());
  marathon_.extra_deployments.push_back({deployment, {"/web"}});
  marathon_.apps.erase("/web");
  marathon_.unusable.push_back({"/web", Error(ErrorKind::kInvalidValue, "GET /v2/apps: apps[0].cpus: not a number")});
  addHotApp("/hot");
  runFor(5min);
  // /web's deployment is still listed: /hot waits for the slot.
  EXPECT_EQ(marathon_.puts.size(), 1u);
  EXPECT_TRUE(view("/hot").waiting_for_slot);
  marathon_.extra_deployments.clear();  // it ended while /web was unusable
  runFor(1min);
  ASSERT_EQ(marathon_.puts.size(), 2u);
  EXPECT_EQ(marathon_.puts[1].app_id, "/hot");
  EXPECT_TRUE(store_.records.at("/web").intent_cpus);  // left alone, as the app is
}

// Half an intent (a size without the other) in a record the leader loads,
// of an app whose flow does not run (unusable): no slot held.
TEST_F(SizerTest, HalfAnIntentHoldsNoSlot) {
  AppRecord half;
  half.app_id = "/half";
  half.intent_cpus = 1;  // and no intent_mem_mib
  store_.records["/half"] = half;
  marathon_.unusable.push_back({"/half", Error(ErrorKind::kInvalidValue, "GET /v2/apps: apps[0].cpus: not a number")});
  addHotApp("/hot");
  runFor(3min);
  ASSERT_EQ(marathon_.puts.size(), 1u) << view("/hot").reason;
  EXPECT_EQ(marathon_.puts[0].app_id, "/hot");
}

TEST_F(SizerTest, AnIncompleteListingForgetsNoApp) {
  addIdleApp("/web");
  runFor(5min);
  marathon_.apps.erase("/web");
  marathon_.unusable.push_back({"", Error(ErrorKind::kMissingField, "GET /v2/apps: apps[3]: no id")});
  runFor(30min);
  EXPECT_TRUE(store_.records.contains("/web")) << "forgotten on a listing with an unreadable entry";
  marathon_.unusable.clear();
  runFor(30s);
  EXPECT_FALSE(store_.records.contains("/web"));
}

TEST_F(SizerTest, AnAppListedTwiceIsLeftAlone) {
  addIdleApp("/web");
  marathon_.extra_listed.push_back(marathon_.apps["/web"]);
  runFor(1h);
  EXPECT_TRUE(marathon_.puts.empty());
  EXPECT_EQ(view("/web").state, AppState::kUnusable);
  EXPECT_NE(view("/web").reason.find("listed 2 times"), std::string::npos) << view("/web").reason;
  EXPECT_GT(errors_.count("marathon", "invalid_app"), 0u);
}

TEST_F(SizerTest, ImpossibleFiguresAreRefusedAndForgotten) {
  addIdleApp("/web");
  agents_.figures["/web"] = {0.3, 0.5, 700, 750, 0};
  options_.policy.sustain = 1min;
  // One agent lies for a few cycles: 1e18 bytes, a million cores.
  agents_.figures["/web"].mem_used_mib = 1e18 / 1048576;
  agents_.figures["/web"].mem_peak_mib = 1e18 / 1048576;
  runFor(2min);
  agents_.figures["/web"] = {1e6, 1e308, 700, 750, 0};
  runFor(2min);
  EXPECT_TRUE(marathon_.puts.empty());
  EXPECT_GE(errors_.count("agents", "invalid_value"), 8u);
  // It recovers: what it said is in no window, no history.
  agents_.figures["/web"] = {1.0, 1.1, 700, 750, 0};
  runFor(6h);
  for (const auto& put : marathon_.puts) {
    EXPECT_LE(put.cpus, 2.0);
    EXPECT_LE(put.mem_mib, 1024);
  }
  EXPECT_FALSE(sizer().snapshot()->apps.empty());
  EXPECT_TRUE(sizer().snapshot()->leader);
}

TEST_F(SizerTest, RecommendationsStayUnderTheCeiling) {
  options_.limits.max_cpus = 4;
  marathon_.add("/hot", 3.9, 1024, 1, kEnabled);
  agents_.figures["/hot"] = {3.9, 3.95, 700, 720, 0.9};
  runFor(15min);
  ASSERT_EQ(marathon_.puts.size(), 1u);
  EXPECT_EQ(marathon_.puts[0].cpus, 4.0);
}

TEST_F(SizerTest, ARecordTheStoreRefusesIsNotALostLease) {
  addIdleApp("/web");
  runFor(1min);
  ASSERT_TRUE(sizer().snapshot()->leader);
  store_.refused_saves = 3;
  runFor(2min);
  EXPECT_TRUE(sizer().snapshot()->leader);
  EXPECT_EQ(store_.tokens, 1u) << "the lease was given up and taken again";
}

TEST_F(SizerTest, AConsumerGroupNamedByTheAppsLabelGuardsIt) {
  addIdleApp("/consumer", {{"rightsize.enabled", "true"}, {"rightsize.kafka.groups", "orders,payments"}});
  agents_.extra_groups.push_back(
      {.group = "payments", .status = wire::LagStatus::kRewind});  // no app: given by --kafka-group
  runFor(1h);
  EXPECT_TRUE(marathon_.puts.empty());
  EXPECT_NE(view("/consumer").reason.find("Kafka consumer group"), std::string::npos) << view("/consumer").reason;
}

}  // namespace
}  // namespace rightsize::sizing
