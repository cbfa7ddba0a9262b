// The per-app resize flow on its own: one app, its record, figures and
// deployments in, the next record, state, ended deployment and PUT out. No
// Marathon, no store, no clock: what Sizer does around it is tested in
// sizer_test.cc.

#include "rightsize/sizing/resize_flow.h"

#include <gtest/gtest.h>

#include <limits>

#include "rightsize/core/text.h"

namespace rightsize::sizing {
namespace {

using namespace std::chrono_literals;

const TimePoint kNow = fromUnixSeconds(1'700'000'000);
const std::optional<std::vector<MarathonDeployment>> kNoDeployments = std::vector<MarathonDeployment>{};

class ResizeFlowTest : public ::testing::Test {
 protected:
  ResizeFlowTest() {
    app_.id = "/shop/web";
    app_.version = "2026-12-01T00:00:00.000Z";
    app_.cpus = 1.0;
    app_.mem_mib = 1024;
    app_.instances = 3;
    app_.tasks_running = 3;
    settings_.enabled = true;
    // A hot spot: 1.15 cores used of 1 reserved, out of its band for 5 minutes.
    usage_.tasks = 3;
    usage_.cpu_used_avg = 1.15;
    usage_.cpu_used_p95 = 1.4;
    usage_.mem_used_mib = 700;
    usage_.mem_peak_mib = 720;
    usage_.history = 7h;  // more than --min-history: shrinks are due
    record_.app_id = app_.id;
    record_.out_of_band_since = kNow - 5min;
    record_.out_of_band_direction = "up";
  }

  AppInput input(const std::optional<std::vector<MarathonDeployment>>& deployments = kNoDeployments) {
    AppInput in{.app = app_, .settings = settings_, .deployments = deployments};
    in.enabled = settings_.enabled;
    in.usage = usage_;
    in.may_write = true;
    in.intent_id = "sizer-a-1";
    in.now = now_;
    return in;
  }

  // `cpu_used` cores used, its p95 `cpu_p95`, out of band downwards for 30
  // minutes: CPU shrinks if it can.
  void cpuToShrink(double cpu_used, double cpu_p95) {
    usage_.cpu_used_avg = cpu_used;
    usage_.cpu_used_p95 = cpu_p95;
    record_.out_of_band_direction = "down";
    record_.out_of_band_since = kNow - 30min;
  }
  // A hot spot: 1.15 cores used of 1 (p95 1.4), out of band upwards; it
  // grows at once, whatever holds a shrink.
  void hotSpot() {
    usage_.cpu_used_avg = 1.15;
    usage_.cpu_used_p95 = 1.4;
    record_.out_of_band_direction = "up";
  }
  // Busy CPU (0.8 of 1 core), `mem_used` MiB used, its peak `mem_peak`,
  // out of band downwards for 30 minutes: memory shrinks if it can.
  void memoryToShrink(double mem_used, double mem_peak) {
    cpuToShrink(0.8, 0.85);
    usage_.mem_used_mib = mem_used;
    usage_.mem_peak_mib = mem_peak;
  }
  // The app's task OOM-killed in `version` at `at`, as Marathon shows it.
  void oomKilled(const std::string& task_id, const std::string& version, TimePoint at) {
    TaskFailure failure;
    failure.task_id = task_id;
    failure.state = "TASK_FAILED";
    failure.message = "Memory limit exceeded";
    failure.version = version;
    failure.at = at;
    app_.last_task_failure = failure;
  }
  // The record once Marathon accepted the step's PUT (deployment "d-1");
  // the step itself, its PUT included, is left as it was.
  AppRecord accepted(AppStep step) {
    std::optional<Error> error;
    UpdateOutcome outcome;
    outcome.deployment_id = "d-1";
    afterPut(step, input(), outcome, options_, error);
    return step.record;
  }
  // The record once the resize it intends has been deployed and cooled.
  static void deployed(AppRecord& record) {
    record.intent_cpus.reset();
    record.intent_mem_mib.reset();
    record.intent_at.reset();
    record.deployment_id.clear();
    record.cooldown_until.reset();
  }

  MarathonApp app_;
  AppSettings settings_;
  AppUsage usage_;
  AppRecord record_;
  FlowOptions options_;
  TimePoint now_ = kNow;
};

TEST_F(ResizeFlowTest, AHotSpotOutOfBandLongEnoughGetsAnIntentAndAPut) {
  const AppStep step = stepApp(input(), record_, options_);
  EXPECT_EQ(step.state, AppState::kWatching);
  ASSERT_TRUE(step.put.has_value()) << step.reason;
  EXPECT_GT(step.put->cpus, 1.15);
  EXPECT_EQ(step.put->cpus, step.evaluation.cpus);
  // The intent, saved before the PUT, says deploying.
  EXPECT_EQ(step.record.state, AppState::kDeploying);
  EXPECT_EQ(step.record.intent_cpus, step.put->cpus);
  EXPECT_EQ(step.record.intent_id, "sizer-a-1");
  EXPECT_EQ(step.record.intent_at, kNow);
  EXPECT_FALSE(step.ended.has_value());
}

TEST_F(ResizeFlowTest, ALookOnlySizerOrAFullSlotOrADisabledAppPutsNothing) {
  AppInput look = input();
  look.may_write = false;
  AppStep step = stepApp(look, record_, options_);
  EXPECT_EQ(step.state, AppState::kWatching);
  EXPECT_FALSE(step.put.has_value());
  EXPECT_FALSE(step.record.intent_cpus.has_value());

  AppInput full = input();
  full.in_flight = 1;  // --max-concurrent-deployments 1
  step = stepApp(full, record_, options_);
  EXPECT_FALSE(step.put.has_value());
  EXPECT_NE(step.reason.find("waiting: 1 deployment(s) of the sizer in progress"), std::string::npos) << step.reason;
  EXPECT_EQ(step.record.state, AppState::kWatching);

  AppInput disabled = input();
  disabled.enabled = false;
  step = stepApp(disabled, record_, options_);
  EXPECT_EQ(step.state, AppState::kDisabled);
  EXPECT_FALSE(step.put.has_value());
}

// With deployments scarce, a free slot goes to an app at risk before a
// resize that can wait: a hot spot refused a slot says it waits (the sizer
// counts it for the other apps); a shrink leaves the slot to the apps at
// risk that wait, and takes one only when a slot is left over.
TEST_F(ResizeFlowTest, FreeSlotsGoToAppsAtRiskFirst) {
  AppInput full = input();
  full.in_flight = 1;
  AppStep step = stepApp(full, record_, options_);
  EXPECT_FALSE(step.put.has_value());
  EXPECT_TRUE(step.waiting_for_slot);
  EXPECT_TRUE(step.at_risk_waiting);
  // A hot spot competes with the others at risk on equal terms.
  AppInput free = input();
  free.at_risk_waiting = 3;
  step = stepApp(free, record_, options_);
  EXPECT_TRUE(step.put.has_value()) << step.reason;
  EXPECT_FALSE(step.waiting_for_slot);
  EXPECT_FALSE(step.at_risk_waiting);

  // An idle app: a shrink that can wait.
  cpuToShrink(0.1, 0.15);
  usage_.mem_used_mib = 300;
  usage_.mem_peak_mib = 320;
  AppInput shrink = input();
  shrink.at_risk_waiting = 1;
  step = stepApp(shrink, record_, options_);
  EXPECT_FALSE(step.put.has_value());
  EXPECT_TRUE(step.waiting_for_slot);
  EXPECT_FALSE(step.at_risk_waiting);
  EXPECT_NE(step.reason.find("waiting: the free deployment slot(s) go to 1 app(s) at risk first"), std::string::npos)
      << step.reason;
  EXPECT_TRUE(step.record.downsizes.empty());
  // Nobody at risk waits: it takes the slot.
  shrink.at_risk_waiting = 0;
  step = stepApp(shrink, record_, options_);
  ASSERT_TRUE(step.put.has_value()) << step.reason;
  EXPECT_LT(step.put->cpus, 1.0);
  // Two slots, one app at risk waiting: one is left over for it.
  options_.max_concurrent_deployments = 2;
  shrink.at_risk_waiting = 1;
  EXPECT_TRUE(stepApp(shrink, record_, options_).put.has_value());
  shrink.in_flight = 1;
  EXPECT_FALSE(stepApp(shrink, record_, options_).put.has_value());
}

TEST(SlotQueueTest, GrowsGoFirstThenTheLargerShareOfTheFleetThenTheSmallerId) {
  // At 4096 MiB per core: 1 core and 1 GiB is worth 1.25 cores.
  const SlotClaim small{.grows = false, .cores = 1, .mem_mib = 1024};
  const SlotClaim large{.grows = false, .cores = 2, .mem_mib = 0};
  const SlotClaim grow{.grows = true, .cores = 0.1, .mem_mib = 0};
  EXPECT_DOUBLE_EQ(small.worth(4096), 1.25);
  EXPECT_DOUBLE_EQ(small.worth(0), 1);  // no memory in the fleet: cores alone
  EXPECT_TRUE(claimsFirst("/b", large, "/a", small, 4096));
  EXPECT_FALSE(claimsFirst("/a", small, "/b", large, 4096));
  EXPECT_TRUE(claimsFirst("/z", grow, "/a", large, 4096));
  EXPECT_TRUE(claimsFirst("/a", small, "/b", small, 4096));  // equal: the smaller id
  EXPECT_FALSE(claimsFirst("/b", small, "/a", small, 4096));
  // Memory priced by the fleet: at 512 MiB per core the GiB is worth 2 cores.
  EXPECT_TRUE(claimsFirst("/a", small, "/b", large, 512));
  EXPECT_DOUBLE_EQ(fleetMemPerCore(4, 8192), 2048);
  // A fleet without cores, or sums Marathon's values made infinite: cores alone.
  EXPECT_EQ(fleetMemPerCore(0, 8192), 0);
  EXPECT_EQ(fleetMemPerCore(std::numeric_limits<double>::infinity(), 8192), 0);
  EXPECT_EQ(fleetMemPerCore(4, std::numeric_limits<double>::infinity()), 0);

  SlotQueue queue;
  queue.wait("/a", small);
  queue.wait("/b", large);
  queue.wait("/c", grow);
  EXPECT_EQ(queue.size(), 3u);
  EXPECT_EQ(queue.ahead("/a", small, 4096, 10), 2u);
  EXPECT_EQ(queue.ahead("/a", small, 4096, 1), 1u);  // counted up to `most`
  EXPECT_EQ(queue.ahead("/b", large, 4096, 10), 1u);
  EXPECT_EQ(queue.ahead("/c", grow, 4096, 10), 0u);
  EXPECT_EQ(queue.ahead("/d", SlotClaim{.cores = 3}, 4096, 10), 1u);  // only the grow
  queue.wait("/c", SlotClaim{.cores = 0.5});                          // its claim changed
  EXPECT_EQ(queue.ahead("/a", small, 4096, 10), 1u);
  queue.leave("/b");
  EXPECT_EQ(queue.ahead("/a", small, 4096, 10), 0u);
  queue.keepOnly([](const std::string& id) { return id == "/a"; });
  EXPECT_EQ(queue.size(), 1u);
}

TEST_F(ResizeFlowTest, AFreeSlotGoesToTheResizeThatMovesMoreOfTheFleetFirst) {
  // An idle app of 3 instances: a shrink of 0.7 cores and 704 MiB each
  // (what is measured below).
  cpuToShrink(0.1, 0.15);
  usage_.mem_used_mib = 300;
  usage_.mem_peak_mib = 320;
  SlotQueue queue;
  AppInput shrink = input();
  shrink.slot_queue = &queue;
  shrink.fleet_mem_per_core = 4096;
  // The default order, the apps' ids: a claim waiting changes nothing, and
  // none is made.
  queue.wait("/other", SlotClaim{.cores = 100});
  AppStep step = stepApp(shrink, record_, options_);
  EXPECT_TRUE(step.put.has_value()) << step.reason;
  shrink.in_flight = 1;
  step = stepApp(shrink, record_, options_);
  EXPECT_TRUE(step.waiting_for_slot);
  EXPECT_FALSE(step.slot_claim.has_value());
  shrink.in_flight = 0;
  queue.leave("/other");

  options_.slot_order = SlotOrder::kLargest;
  step = stepApp(shrink, record_, options_);
  ASSERT_TRUE(step.put.has_value()) << step.reason;  // nobody waits
  const double cores = 3 * (1.0 - step.put->cpus);
  const double mem_mib = 3 * (1024 - step.put->mem_mib);
  EXPECT_FALSE(step.slot_claim.has_value());

  // Another app waits with a larger claim: the slot is its.
  queue.wait("/other", SlotClaim{.cores = cores + 1});
  step = stepApp(shrink, record_, options_);
  EXPECT_FALSE(step.put.has_value());
  EXPECT_TRUE(step.waiting_for_slot);
  EXPECT_FALSE(step.at_risk_waiting);
  ASSERT_TRUE(step.slot_claim.has_value());
  EXPECT_FALSE(step.slot_claim->grows);
  EXPECT_DOUBLE_EQ(step.slot_claim->cores, cores);
  EXPECT_DOUBLE_EQ(step.slot_claim->mem_mib, mem_mib);
  EXPECT_NE(step.reason.find("waiting: the free deployment slot(s) go to 1 resize(s) that move more of the fleet's "
                             "reservation (" +
                             formatFixed(cores + mem_mib / 4096, 2) + " cores' worth here) first"),
            std::string::npos)
      << step.reason;
  EXPECT_TRUE(step.record.downsizes.empty());
  // Its memory is worth more where the fleet has less of it per core.
  shrink.fleet_mem_per_core = mem_mib / 1.5;
  EXPECT_TRUE(stepApp(shrink, record_, options_).put.has_value());
  shrink.fleet_mem_per_core = 4096;
  // Two slots: one for each.
  options_.max_concurrent_deployments = 2;
  EXPECT_TRUE(stepApp(shrink, record_, options_).put.has_value());
  options_.max_concurrent_deployments = 1;
  // A smaller claim waits behind it.
  queue.wait("/other", SlotClaim{.cores = cores / 2});
  EXPECT_TRUE(stepApp(shrink, record_, options_).put.has_value());
  // A grow of an app not at risk claims before any shrink.
  queue.wait("/other", SlotClaim{.grows = true, .cores = 0.05});
  EXPECT_FALSE(stepApp(shrink, record_, options_).put.has_value());
  // Full slots: it waits with its claim all the same.
  queue.leave("/other");
  shrink.in_flight = 1;
  step = stepApp(shrink, record_, options_);
  EXPECT_TRUE(step.waiting_for_slot);
  EXPECT_TRUE(step.slot_claim.has_value());

  // An app at risk does not queue behind the claims: it goes first.
  hotSpot();
  queue.wait("/other", SlotClaim{.grows = true, .cores = 100});
  AppInput hot = input();
  hot.slot_queue = &queue;
  step = stepApp(hot, record_, options_);
  EXPECT_TRUE(step.put.has_value()) << step.reason;
  hot.in_flight = 1;
  step = stepApp(hot, record_, options_);
  EXPECT_TRUE(step.at_risk_waiting);
  EXPECT_FALSE(step.slot_claim.has_value());
}

TEST_F(ResizeFlowTest, AnIntentThatCouldNotBeSavedIsDropped) {
  AppStep step = stepApp(input(), record_, options_);
  ASSERT_TRUE(step.put.has_value());
  intentNotSaved(step);
  EXPECT_FALSE(step.put.has_value());
  EXPECT_FALSE(step.record.intent_cpus.has_value());
  EXPECT_EQ(step.record.state, AppState::kWatching);
  EXPECT_NE(step.reason.find("not applied"), std::string::npos);
}

TEST_F(ResizeFlowTest, ThePutsOutcomeDecidesStateDecisionAndRetries) {
  const AppInput in = input();
  {
    AppStep step = stepApp(in, record_, options_);
    std::optional<Error> error;
    const Decision decision = afterPut(step, in, UpdateOutcome{.deployment_id = "d-1"}, options_, error);
    EXPECT_EQ(decision.action, DecisionAction::kResize);
    EXPECT_EQ(decision.deployment_id, "d-1");
    EXPECT_EQ(decision.from_cpus, 1.0);
    EXPECT_FALSE(error.has_value());
    EXPECT_EQ(step.state, AppState::kDeploying);
    EXPECT_EQ(step.record.deployment_id, "d-1");
    EXPECT_EQ(step.record.resizes, 1u);
    EXPECT_EQ(step.in_flight, 1u);
    EXPECT_EQ(step.resizing_since, kNow);
  }
  {
    // Lost answer: the intent stays, without a deployment id; no second PUT.
    AppStep step = stepApp(in, record_, options_);
    std::optional<Error> error;
    const Decision decision =
        afterPut(step, in, Expected<UpdateOutcome>(Error(ErrorKind::kUnavailable, "timeout")), options_, error);
    EXPECT_EQ(decision.action, DecisionAction::kResizeUnconfirmed);
    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(error->kind(), ErrorKind::kUnavailable);
    EXPECT_TRUE(step.record.intent_cpus.has_value());
    EXPECT_TRUE(step.record.deployment_id.empty());
    EXPECT_EQ(step.in_flight, 1u);
  }
  {
    // Locked: retried after --retry-after, doubled with each failure.
    AppInput again = in;
    again.failed_attempts = 2;
    AppStep step = stepApp(again, record_, options_);
    std::optional<Error> error;
    const Decision decision =
        afterPut(step, again, UpdateOutcome{.result = UpdateOutcome::Result::kLocked}, options_, error);
    EXPECT_EQ(decision.action, DecisionAction::kResizeRefused);
    EXPECT_EQ(step.failed_attempts, 3);
    EXPECT_EQ(step.record.cooldown_until, kNow + 4min);
    EXPECT_FALSE(step.record.intent_cpus.has_value());
  }
  {
    // Refused (422): not asked again for this version before the cooldown.
    AppStep step = stepApp(in, record_, options_);
    std::optional<Error> error;
    const Decision decision =
        afterPut(step, in, UpdateOutcome{.result = UpdateOutcome::Result::kRefused, .message = "HTTP 422: cpus"},
                 options_, error);
    EXPECT_EQ(decision.action, DecisionAction::kResizeRefused);
    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(error->kind(), ErrorKind::kInvalidValue);
    EXPECT_EQ(step.state, AppState::kCooldown);
    EXPECT_EQ(step.record.refused_version, app_.version);
    EXPECT_EQ(step.record.refused_until, kNow + settings_.cooldown);
    // The next step holds off; a new version of the app lifts it.
    AppStep next = stepApp(input(), step.record, options_);
    EXPECT_EQ(next.state, AppState::kCooldown);
    EXPECT_FALSE(next.put.has_value());
    app_.version = "2026-12-02T00:00:00.000Z";
    next = stepApp(input(), step.record, options_);
    EXPECT_TRUE(next.put.has_value());
    app_.version = "2026-12-01T00:00:00.000Z";
  }
  {
    // Refused before it was sent (the client's checks, ErrorKind::
    // kInvalidArgument): nothing reached Marathon, a definite no as a 422 is,
    // not a lost answer holding a slot and a downsize.
    AppStep step = stepApp(in, record_, options_);
    std::optional<Error> error;
    const Decision decision =
        afterPut(step, in,
                 Expected<UpdateOutcome>(
                     Error(ErrorKind::kInvalidArgument, "PUT /v2/apps/shop/web: cpus and mem must be positive")),
                 options_, error);
    EXPECT_EQ(decision.action, DecisionAction::kResizeRefused);
    EXPECT_NE(decision.reason.find("the sizer did not send it (PUT /v2/apps/shop/web: cpus and mem must be positive)"),
              std::string::npos)
        << decision.reason;
    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(error->kind(), ErrorKind::kInvalidValue);
    EXPECT_EQ(step.in_flight, 0u);
    EXPECT_FALSE(step.record.intent_cpus.has_value());
    EXPECT_TRUE(step.record.downsizes.empty());
    EXPECT_EQ(step.state, AppState::kCooldown);
    EXPECT_EQ(step.record.refusal, "not sent: PUT /v2/apps/shop/web: cpus and mem must be positive");
    const AppStep next = stepApp(input(), step.record, options_);
    EXPECT_FALSE(next.put.has_value());
    EXPECT_NE(next.reason.find("the last resize was refused (not sent: "), std::string::npos) << next.reason;
  }
}

// A size off Marathon's 3 decimals (an app's own 0.0625 cpus, kept while its
// memory grows) is written rounded, and the intent is what was written: the
// app read back with it is resized, not a failed deployment.
TEST_F(ResizeFlowTest, TheIntentIsTheSizeAsWrittenSoTheAppReadBackIsResized) {
  app_.cpus = 0.0625;
  usage_.cpu_used_avg = 0.03;
  usage_.cpu_used_p95 = 0.04;
  usage_.mem_used_mib = 1000;  // at its limit (1024): grows at once
  usage_.mem_peak_mib = 1020;
  usage_.mem_near_limit = true;
  const AppStep step = stepApp(input(), record_, options_);
  ASSERT_TRUE(step.put.has_value()) << step.reason;
  EXPECT_GT(step.put->mem_mib, 1024);
  EXPECT_EQ(formatExact(step.put->cpus), formatRounded(0.0625, 3));
  EXPECT_EQ(step.record.intent_cpus, step.put->cpus);
  AppRecord record = accepted(step);
  // Marathon keeps what was written; the deployment ends.
  app_.cpus = step.put->cpus;
  app_.mem_mib = step.put->mem_mib;
  now_ = kNow + 3min;
  const AppStep done = stepApp(input(), record, options_);
  ASSERT_TRUE(done.ended.has_value());
  EXPECT_EQ(done.ended->action, DecisionAction::kDeploymentDone) << done.reason;
}

TEST_F(ResizeFlowTest, ADeploymentNoLongerListedEndsDoneOrFailed) {
  record_.intent_cpus = 1.45;
  record_.intent_mem_mib = 1024;
  record_.intent_id = "sizer-a-1";
  record_.intent_at = kNow - 2min;
  record_.deployment_id = "d-1";
  // Still listed: deploying.
  const std::optional<std::vector<MarathonDeployment>> listed =
      std::vector<MarathonDeployment>{{.id = "d-1", .affected_apps = {app_.id}}};
  AppInput in = input(listed);
  in.in_flight = 1;
  AppStep step = stepApp(in, record_, options_);
  EXPECT_EQ(step.state, AppState::kDeploying);
  EXPECT_EQ(step.deployment_id, "d-1");
  EXPECT_EQ(step.in_flight, 1u);
  EXPECT_FALSE(step.ended.has_value());
  // Deployments unreadable: nothing is taken as ended.
  const std::optional<std::vector<MarathonDeployment>> unknown;
  AppInput blind = input(unknown);
  step = stepApp(blind, record_, options_);
  EXPECT_EQ(step.state, AppState::kDeploying);
  EXPECT_FALSE(step.ended.has_value());

  // Gone, and the app runs the new resources: done, cooling down.
  app_.cpus = 1.45;
  AppInput ended = input();
  ended.in_flight = 1;
  step = stepApp(ended, record_, options_);
  ASSERT_TRUE(step.ended.has_value());
  EXPECT_EQ(step.ended->action, DecisionAction::kDeploymentDone);
  EXPECT_EQ(step.state, AppState::kCooldown);
  EXPECT_EQ(step.record.last_change_at, kNow);
  EXPECT_EQ(step.record.cooldown_until, kNow + settings_.cooldown);
  EXPECT_FALSE(step.record.intent_cpus.has_value());
  EXPECT_EQ(step.in_flight, 0u);

  // Gone without them: failed; the version is held, the app sick.
  app_.cpus = 1.0;
  step = stepApp(input(), record_, options_);
  ASSERT_TRUE(step.ended.has_value());
  EXPECT_EQ(step.ended->action, DecisionAction::kDeploymentFailed);
  EXPECT_EQ(step.record.failed_version, app_.version);
  EXPECT_EQ(step.record.failed_until, kNow + options_.failed_deployment_hold);
  now_ = kNow + settings_.cooldown + 1min;
  const AppStep later = stepApp(input(), step.record, options_);
  EXPECT_EQ(later.state, AppState::kSick);
  EXPECT_NE(later.usage.sick.find("its last resize failed"), std::string::npos);
  EXPECT_FALSE(later.put.has_value());
}

TEST_F(ResizeFlowTest, AnUnconfirmedPutIsGivenUpAfterTheGraceAndRetriedLater) {
  record_.intent_cpus = 1.45;
  record_.intent_mem_mib = 1024;
  record_.intent_at = kNow - 30s;  // within --unconfirmed-grace (1m)
  AppStep step = stepApp(input(), record_, options_);
  EXPECT_EQ(step.state, AppState::kDeploying);
  EXPECT_TRUE(step.record.intent_cpus.has_value());

  record_.intent_at = kNow - 2min;
  step = stepApp(input(), record_, options_);
  EXPECT_FALSE(step.record.intent_cpus.has_value());
  EXPECT_EQ(step.failed_attempts, 1);
  EXPECT_EQ(step.record.cooldown_until, kNow + options_.retry_after);
  EXPECT_EQ(step.state, AppState::kCooldown);
  EXPECT_FALSE(step.ended.has_value());  // nothing ended: it never started

  // Applied after all: the deployment carrying it is found by app.
  app_.cpus = 1.45;
  const std::optional<std::vector<MarathonDeployment>> listed =
      std::vector<MarathonDeployment>{{.id = "d-7", .affected_apps = {app_.id}}};
  step = stepApp(input(listed), record_, options_);
  EXPECT_EQ(step.record.deployment_id, "d-7");
  EXPECT_EQ(step.state, AppState::kDeploying);
}

// An OOM-killed app restarts at each kill anyway: its memory grow does not
// wait behind the sizer's other resizes, up to --max-concurrent-oom-deployments
// beyond --max-concurrent-deployments. A hot spot (no kill) still waits.
TEST_F(ResizeFlowTest, AnOomKilledAppsGrowTakesTheSlotsBeyondTheOthers) {
  options_.policy.explain = true;
  options_.max_concurrent_deployments = 1;
  options_.max_concurrent_oom_deployments = 2;
  AppInput hot = input();
  hot.in_flight = 1;
  AppStep step = stepApp(hot, record_, options_);
  EXPECT_FALSE(step.put.has_value());
  EXPECT_TRUE(step.at_risk_waiting);

  oomKilled("t-1", app_.version, kNow - 1min);
  for (const std::size_t in_flight : {1, 2}) {
    AppInput killed = input();
    killed.in_flight = in_flight;
    step = stepApp(killed, record_, options_);
    ASSERT_TRUE(step.put.has_value()) << in_flight << ": " << step.reason;
    EXPECT_GT(step.put->mem_mib, app_.mem_mib);
    EXPECT_NE(step.reason.find("an OOM-killed app's grow: beyond the 1 deployment slot(s) of the sizer, with " +
                               std::to_string(in_flight) + " in progress"),
              std::string::npos)
        << step.reason;
  }
  AppInput beyond = input();
  beyond.in_flight = 3;
  step = stepApp(beyond, record_, options_);
  EXPECT_FALSE(step.put.has_value());
  EXPECT_TRUE(step.waiting_for_slot);
  EXPECT_TRUE(step.at_risk_waiting);
  EXPECT_NE(step.reason.find("waiting: 3 deployment(s) of the sizer in progress"), std::string::npos) << step.reason;
  // None beyond: it waits as the others do.
  options_.max_concurrent_oom_deployments = 0;
  AppInput none = input();
  none.in_flight = 1;
  EXPECT_FALSE(stepApp(none, record_, options_).put.has_value());
  // A kill in an older version of the app is not this one's.
  options_.max_concurrent_oom_deployments = 2;
  oomKilled("t-1", "2026-11-30T00:00:00.000Z", kNow - 1min);
  EXPECT_FALSE(stepApp(hot, record_, options_).put.has_value());
  // A burstable app killed at its memory limit: the limit grows, in a slot
  // beyond the others too.
  settings_.burstable = true;
  app_.limits = {2.0, 2048.0};
  oomKilled("t-2", app_.version, kNow - 1min);
  AppInput burstable = input();
  burstable.in_flight = 1;
  step = stepApp(burstable, record_, options_);
  ASSERT_TRUE(step.put.has_value()) << step.reason;
  ASSERT_TRUE(step.put->limits.has_value());
  EXPECT_GT(step.put->limits->mem_mib.value_or(0), 2048.0);
}

// Times further ahead than the sizer writes them (a clock stepped back, a
// damaged record) hold no longer than their length from now: a cooldown a
// day ahead lets the OOM-killed app grow once its cooldown (30m) has passed
// from now, an unconfirmed PUT "sent" in an hour is given up after the grace.
TEST_F(ResizeFlowTest, TimesAheadOfTheClockHoldNoLongerThanTheirLength) {
  record_.cooldown_until = kNow + 24h;
  record_.mem_hold_until = kNow + 24h * 30;
  record_.failed_version = app_.version;
  record_.failed_until = kNow + 24h * 30;
  record_.born_at = kNow + 24h;
  oomKilled("t-1", app_.version, kNow - 1min);
  AppStep step = stepApp(input(), record_, options_);
  EXPECT_FALSE(step.put.has_value());
  EXPECT_EQ(step.record.cooldown_until, kNow + settings_.cooldown);
  EXPECT_EQ(step.record.mem_hold_until, kNow + options_.oom_hold);
  EXPECT_EQ(step.record.failed_until, kNow + options_.failed_deployment_hold);
  EXPECT_EQ(step.record.born_at, kNow);
  now_ = kNow + settings_.cooldown + 1s;
  step = stepApp(input(), step.record, options_);
  ASSERT_TRUE(step.put.has_value()) << step.reason;
  EXPECT_GT(step.put->mem_mib, app_.mem_mib);
  // A back-off waits at least --retry-after, even past a shorter cooldown.
  AppRecord backing_off = record_;
  settings_.cooldown = 30s;
  now_ = kNow;
  backing_off.cooldown_until = kNow + options_.retry_after;
  EXPECT_EQ(stepApp(input(), backing_off, options_).record.cooldown_until, kNow + options_.retry_after);
  settings_.cooldown = AppSettings{}.cooldown;

  AppRecord unconfirmed;
  unconfirmed.app_id = app_.id;
  unconfirmed.intent_cpus = 1.45;
  unconfirmed.intent_mem_mib = 1024;
  unconfirmed.intent_at = kNow + 1h;
  now_ = kNow;
  app_.last_task_failure.reset();
  AppStep waiting = stepApp(input(), unconfirmed, options_);
  EXPECT_EQ(waiting.state, AppState::kDeploying);
  now_ = kNow + options_.unconfirmed_grace + 1s;
  const AppStep given_up = stepApp(input(), waiting.record, options_);
  EXPECT_NE(given_up.state, AppState::kDeploying) << given_up.reason;
  EXPECT_FALSE(given_up.record.intent_cpus);
}

TEST_F(ResizeFlowTest, AnOomKillGrowsMemoryAtOnceAndHoldsIt) {
  usage_ = {};  // a restarted task: no figures yet
  TaskFailure failure;
  failure.task_id = "t-1";
  failure.state = "TASK_FAILED";
  failure.message = "Memory limit exceeded: Requested: 1056MB Maximum Used: 1056MB";
  failure.version = app_.version;
  failure.at = kNow - 1min;
  app_.last_task_failure = failure;
  ASSERT_TRUE(app_.last_task_failure->oomKill());
  const AppStep step = stepApp(input(), record_, options_);
  EXPECT_EQ(step.usage.oom_killed_mem_mib, 1024);
  ASSERT_TRUE(step.record.mem_hold_mib.has_value());
  EXPECT_GE(*step.record.mem_hold_mib, 1024 * 1.2);
  EXPECT_EQ(step.record.mem_hold_until, kNow - 1min + options_.oom_hold);
  ASSERT_TRUE(step.put.has_value()) << step.reason;
  EXPECT_GE(step.put->mem_mib, *step.record.mem_hold_mib);
}

// An app that reserves no cpus (Marathon allows 0) and is OOM-killed: its
// memory grows, the cpus taking the policy's floor (Marathon takes no PUT
// below 0.001: the kills went on); an app with cpus keeps them.
TEST_F(ResizeFlowTest, AnOomKilledAppWithoutCpusGrowsWithTheFloorsCpus) {
  usage_ = {};  // a restarted task: no figures yet
  oomKilled("t-1", app_.version, kNow - 1min);
  options_.policy.explain = true;
  for (const double cpus : {0.0, 0.0004, 0.01}) {
    app_.cpus = cpus;
    const AppStep step = stepApp(input(), record_, options_);
    ASSERT_TRUE(step.put.has_value()) << step.reason;
    EXPECT_GE(step.put->mem_mib, 1024 * 1.2);
    if (cpus < 0.0005) {
      EXPECT_EQ(step.put->cpus, options_.policy.cpu_floor) << cpus;
      EXPECT_NE(step.reason.find("raised to 0.05 (Marathon takes at least 0.001)"), std::string::npos) << step.reason;
    } else {
      EXPECT_EQ(step.put->cpus, cpus);
    }
    EXPECT_EQ(*step.record.intent_cpus, step.put->cpus);
  }
}

// Memory at its limit without a kill (the sign before one) grows by the
// bump at once and is held there for --oom-hold, as a kill's growth is: a
// shrink does not take it back within the day to where it was at risk (a
// restart each way); after the hold, it shrinks. A kill then starts a
// streak of its own.
TEST_F(ResizeFlowTest, MemoryAtItsLimitGrowsAndIsHeldAsAfterAKill) {
  usage_.mem_used_mib = 1020;
  usage_.mem_peak_mib = 1020;
  usage_.mem_near_limit = true;
  const AppStep grow = stepApp(input(), record_, options_);
  ASSERT_TRUE(grow.put.has_value()) << grow.reason;
  EXPECT_EQ(grow.put->mem_mib, roundUpToStep(1024 * options_.policy.oom_bump, 32));
  ASSERT_TRUE(grow.record.mem_hold_mib.has_value());
  EXPECT_EQ(*grow.record.mem_hold_mib, grow.put->mem_mib);
  EXPECT_EQ(grow.record.mem_hold_until, now_ + options_.oom_hold);
  EXPECT_EQ(grow.record.oom_streak, 0u);

  // Deployed; the next day's use is far below: memory is held, and says why.
  AppRecord record = grow.record;
  deployed(record);
  app_.mem_mib = grow.put->mem_mib;
  app_.cpus = grow.put->cpus;
  memoryToShrink(400, 420);
  usage_.cpu_used_avg = app_.cpus - 0.2;  // CPU in its band
  usage_.cpu_used_p95 = app_.cpus - 0.1;
  usage_.mem_near_limit = false;
  record.out_of_band_since = now_ + 20h;
  record.out_of_band_direction = "down";
  now_ += 20h + 30min;
  const AppStep held = stepApp(input(), record, options_);
  EXPECT_FALSE(held.put && held.put->mem_mib < app_.mem_mib) << held.reason;
  EXPECT_NE(held.reason.find("memory held at 1536 MiB after it reached its limit"), std::string::npos) << held.reason;
  // After the hold, it shrinks.
  record.out_of_band_since = now_ + 4h;
  now_ += 4h + 30min;
  const AppStep shrunk = stepApp(input(), record, options_);
  ASSERT_TRUE(shrunk.put.has_value()) << shrunk.reason;
  EXPECT_LT(shrunk.put->mem_mib, app_.mem_mib);
  EXPECT_FALSE(shrunk.record.mem_hold_mib.has_value());
}

// A shrink of memory that an OOM kill proves wrong (within --search-back-window)
// is searched back all the way to what the shrink took away: the kill lost
// the task's work, and a half way (the search at the memory limit without a
// kill) killed again would cost one more restart and kill. One grow, where
// x1.2, x1.4... alone take five kills from below 1 GiB. Back at what it took
// away, the shrink is forgotten; past --search-back-window a kill is an
// ordinary one.
TEST_F(ResizeFlowTest, AnOomKillAfterAShrinkSearchesBackToIt) {
  // 4 GiB reserved, 300 MiB used: shrunk.
  app_.mem_mib = 4096;
  memoryToShrink(300, 320);
  AppStep shrink = stepApp(input(), record_, options_);
  ASSERT_TRUE(shrink.put.has_value()) << shrink.reason;
  ASSERT_LT(shrink.put->mem_mib, 1024);
  const AppRecord shrunk = accepted(shrink);
  EXPECT_EQ(shrunk.shrunk_from_mem_mib, 4096);
  EXPECT_EQ(shrunk.mem_shrunk_at, kNow);

  // Deployed; two hours later a batch job starts, and the task is killed.
  AppRecord record = shrunk;
  deployed(record);
  app_.cpus = shrink.put->cpus;
  app_.mem_mib = shrink.put->mem_mib;
  app_.version = "v2";
  usage_ = {};
  now_ = kNow + 2h;
  oomKilled("t-1", app_.version, now_);
  const AppStep killed = stepApp(input(), record, options_);
  ASSERT_TRUE(killed.put.has_value()) << killed.reason;
  EXPECT_EQ(killed.put->mem_mib, 4096);
  EXPECT_GT(killed.put->mem_mib, oomGrowth(shrink.put->mem_mib, 1, options_.policy));
  EXPECT_EQ(killed.usage.shrink_undone_mem_mib, 4096);
  EXPECT_TRUE(killed.usage.shrink_undone_mem_all);
  EXPECT_NE(killed.reason.find("(at least 4096 MiB: all the way back to what its last shrink took away)"),
            std::string::npos)
      << killed.reason;
  EXPECT_FALSE(accepted(killed).shrunk_from_mem_mib.has_value()) << "back: forgotten";

  // The first kill past --search-back-window after the shrink: the ordinary growth.
  record = shrunk;
  deployed(record);
  app_.mem_mib = shrink.put->mem_mib;
  now_ = kNow + options_.search_back_window + 1min;
  oomKilled("t-late", app_.version, now_);
  const AppStep late = stepApp(input(), record, options_);
  ASSERT_TRUE(late.put.has_value()) << late.reason;
  EXPECT_EQ(late.put->mem_mib, oomGrowth(shrink.put->mem_mib, 1, options_.policy));
  EXPECT_FALSE(late.usage.shrink_undone_mem_mib.has_value());
  EXPECT_FALSE(late.record.shrunk_from_mem_mib.has_value());
}

// The same for CPU: throttled within --search-back-window of a shrink of its CPU, the
// app grows at least half way back, in ratio, to what the shrink took away;
// throttled in nearly every period (under a CFS quota its demand is unseen),
// all the way back. Past the window, the ordinary bump.
TEST_F(ResizeFlowTest, AThrottleAfterAShrinkSearchesBackToIt) {
  // 4 cores reserved, 0.2 used: shrunk.
  app_.cpus = 4;
  cpuToShrink(0.2, 0.25);
  AppStep shrink = stepApp(input(), record_, options_);
  ASSERT_TRUE(shrink.put.has_value()) << shrink.reason;
  const double small = shrink.put->cpus;
  ASSERT_LT(small, 0.5);
  const AppRecord shrunk = accepted(shrink);
  EXPECT_EQ(shrunk.shrunk_from_cpus, 4);
  EXPECT_EQ(shrunk.cpu_shrunk_at, kNow);

  // Deployed; a burst at `at` pins the task at its new limit, throttled in
  // `throttled` of its periods for a quarter of an hour.
  const auto burst = [&](double throttled, TimePoint at) {
    AppRecord record = shrunk;
    deployed(record);
    app_.cpus = small;
    app_.version = "v2";
    usage_.cpu_used_avg = small;
    usage_.cpu_used_p95 = small;
    usage_.cpu_throttled = throttled;
    record.out_of_band_direction = "up";
    record.out_of_band_since = at - 15min;
    now_ = at;
    return stepApp(input(), record, options_);
  };
  const AppStep half = burst(0.4, kNow + 2h);
  ASSERT_TRUE(half.put.has_value()) << half.reason;
  const double halfway = roundUpToStep(std::sqrt(small * 4), 0.05);
  EXPECT_EQ(half.usage.shrink_undone_cpus, halfway);
  EXPECT_EQ(half.put->cpus, halfway);  // more than the bump, x1.5
  EXPECT_NE(half.reason.find("half way back, in ratio, to what its last shrink took away"), std::string::npos)
      << half.reason;
  EXPECT_EQ(accepted(half).shrunk_from_cpus, 4) << "not back yet: remembered";

  const AppStep saturated = burst(0.97, kNow + 2h);
  ASSERT_TRUE(saturated.put.has_value()) << saturated.reason;
  EXPECT_EQ(saturated.put->cpus, 4);
  EXPECT_NE(saturated.reason.find("(at least 4.00 cpus: all the way back to what its last shrink took away)"),
            std::string::npos)
      << saturated.reason;
  EXPECT_FALSE(accepted(saturated).shrunk_from_cpus.has_value()) << "back: forgotten";

  const AppStep late = burst(0.97, kNow + options_.search_back_window + 1min);
  ASSERT_TRUE(late.put.has_value()) << late.reason;
  EXPECT_FALSE(late.usage.shrink_undone_cpus.has_value());
  EXPECT_EQ(late.put->cpus, roundUpToStep(small * 1.97, 0.05));
}

// A shrink proved wrong (the app at risk below what it was shrunk from)
// holds the app's next shrink for --wrong-shrink-hold (48 h) from the last
// time it proved wrong, whatever the downsize budget: the same quiet hours
// the next day mostly prove it wrong again, two restarts each time. Growing
// is never held; 0s is no hold; a time further ahead than a hold (no time
// this sizer wrote) is forgotten.
TEST_F(ResizeFlowTest, AShrinkProvedWrongHoldsTheNext) {
  // 4 cores, 0.2 used: shrunk at kNow.
  app_.cpus = 4;
  cpuToShrink(0.2, 0.25);
  AppStep shrink = stepApp(input(), record_, options_);
  ASSERT_TRUE(shrink.put.has_value()) << shrink.reason;
  const double small = shrink.put->cpus;
  AppRecord record = accepted(shrink);
  EXPECT_FALSE(record.shrink_proved_wrong_at.has_value());
  deployed(record);
  app_.cpus = small;
  app_.version = "v2";

  // Two hours later it is throttled in nearly every period: grown all the
  // way back, and the shrink is remembered as wrong.
  usage_.cpu_used_avg = small;
  usage_.cpu_used_p95 = small;
  usage_.cpu_throttled = 0.97;
  record.out_of_band_direction = "up";
  record.out_of_band_since = kNow + 2h - 15min;
  now_ = kNow + 2h;
  const AppRecord before_grow = record;
  AppStep grow = stepApp(input(), record, options_);
  ASSERT_TRUE(grow.put.has_value()) << grow.reason;
  EXPECT_EQ(grow.put->cpus, 4);
  EXPECT_EQ(grow.record.shrink_proved_wrong_at, kNow + 2h);
  record = accepted(grow);
  deployed(record);
  app_.cpus = 4;
  app_.version = "v3";

  // Quiet again a day on: the downsize budget would allow a shrink (the
  // first left its window), the hold does not.
  const auto quiet = [&](TimePoint at, const AppRecord& from) {
    usage_.cpu_used_avg = 0.2;
    usage_.cpu_used_p95 = 0.25;
    usage_.cpu_throttled = 0;
    AppRecord r = from;
    r.out_of_band_direction = "down";
    r.out_of_band_since = at - 30min;
    now_ = at;
    return stepApp(input(), r, options_);
  };
  const AppStep held = quiet(kNow + 26h, record);
  EXPECT_FALSE(held.put.has_value());
  EXPECT_FALSE(held.evaluation.resize);
  EXPECT_NE(held.reason.find("held: a shrink proved wrong at 1700007200 (the app at risk below what it was shrunk "
                             "from), the next from 1700180000 (--wrong-shrink-hold)"),
            std::string::npos)
      << held.reason;
  EXPECT_EQ(held.record.shrink_proved_wrong_at, kNow + 2h);

  // Once the hold ended the shrink goes, and the time is forgotten.
  const AppStep after = quiet(kNow + 50h + 1s, record);
  ASSERT_TRUE(after.put.has_value()) << after.reason;
  EXPECT_LT(after.put->cpus, 4);
  EXPECT_FALSE(after.record.shrink_proved_wrong_at.has_value());

  // Without a hold it goes a day on, and the grow records no time.
  options_.policy.wrong_shrink_hold = Duration::zero();
  const AppStep unheld = quiet(kNow + 26h, record);
  EXPECT_TRUE(unheld.put.has_value()) << unheld.reason;
  app_.cpus = small;
  usage_.cpu_used_avg = small;
  usage_.cpu_used_p95 = small;
  usage_.cpu_throttled = 0.97;
  now_ = kNow + 2h;
  const AppStep unrecorded = stepApp(input(), before_grow, options_);
  ASSERT_TRUE(unrecorded.put.has_value()) << unrecorded.reason;
  EXPECT_FALSE(unrecorded.record.shrink_proved_wrong_at.has_value());
  app_.cpus = 4;
  options_.policy.wrong_shrink_hold = 48h;

  // A time more than a hold ahead is no time this sizer wrote: forgotten.
  AppRecord ahead = record;
  ahead.shrink_proved_wrong_at = kNow + 26h + 49h;
  const AppStep forgotten = quiet(kNow + 26h, ahead);
  EXPECT_TRUE(forgotten.put.has_value()) << forgotten.reason;
  EXPECT_FALSE(forgotten.record.shrink_proved_wrong_at.has_value());

  // A hot spot during the hold still grows.
  AppRecord hot = record;
  hot.out_of_band_direction = "up";
  hot.out_of_band_since = kNow + 26h - 15min;
  usage_.cpu_used_avg = 4.6;
  usage_.cpu_used_p95 = 4.8;
  now_ = kNow + 26h;
  const AppStep grown = stepApp(input(), hot, options_);
  ASSERT_TRUE(grown.put.has_value()) << grown.reason;
  EXPECT_GT(grown.put->cpus, 4);
}

// A shrink proved wrong on one resource is searched back on both: it was one
// decision on one quiet stretch, and the burst that proves it wrong mostly
// wants both (a batch job's cores and memory). 4 cores and 4 GiB, idle:
// both shrunk. Then an OOM kill with the CPU quiet takes the cpus all the
// way back too (as the memory: a kill undoes the shrink); throttled with the
// memory quiet, the memory half way; and so under CPU shares when it uses
// clearly more than it reserves.
TEST_F(ResizeFlowTest, AShrinkProvedWrongOnOneResourceIsSearchedBackOnBoth) {
  app_.cpus = 4;
  app_.mem_mib = 4096;
  cpuToShrink(0.2, 0.25);
  usage_.mem_used_mib = 300;
  usage_.mem_peak_mib = 320;
  AppStep shrink = stepApp(input(), record_, options_);
  ASSERT_TRUE(shrink.put.has_value()) << shrink.reason;
  const double small_cpus = shrink.put->cpus;
  const double small_mem = shrink.put->mem_mib;
  ASSERT_LT(small_cpus, 0.5);
  ASSERT_LT(small_mem, 1024);
  AppRecord record = accepted(shrink);
  deployed(record);
  app_.cpus = small_cpus;
  app_.mem_mib = small_mem;
  app_.version = "v2";
  now_ = kNow + 2h;
  const double cpus_back = roundUpToStep(std::sqrt(small_cpus * 4), 0.05);
  const double mem_back = roundUpToStep(std::sqrt(small_mem * 4096), 32);

  oomKilled("t-1", app_.version, now_);
  const AppStep killed = stepApp(input(), record, options_);
  ASSERT_TRUE(killed.put.has_value()) << killed.reason;
  EXPECT_EQ(killed.put->mem_mib, 4096);
  EXPECT_EQ(killed.put->cpus, 4) << killed.reason;
  EXPECT_NE(killed.reason.find(", its cpus with it (at least 4.00 cpus: all the way back"), std::string::npos)
      << killed.reason;

  app_.last_task_failure.reset();
  usage_.cpu_used_avg = small_cpus;
  usage_.cpu_used_p95 = small_cpus;
  usage_.cpu_throttled = 0.4;
  usage_.mem_used_mib = 300;
  usage_.mem_peak_mib = 320;
  record.out_of_band_direction = "up";
  record.out_of_band_since = now_ - 15min;
  const AppStep throttled = stepApp(input(), record, options_);
  ASSERT_TRUE(throttled.put.has_value()) << throttled.reason;
  EXPECT_EQ(throttled.put->cpus, cpus_back);
  EXPECT_EQ(throttled.put->mem_mib, mem_back) << throttled.reason;
  EXPECT_NE(throttled.reason.find(", its memory with it (at least " + formatFixed(mem_back, 0) + " MiB"),
            std::string::npos)
      << throttled.reason;

  // Under CPU shares (no quota, no throttling) short of CPU is using clearly
  // more than it reserves: the same search, its own for the cpus.
  usage_.cpu_throttled = 0;
  usage_.cpu_used_avg = 1.2;
  usage_.cpu_used_p95 = 1.3;
  const AppStep borrowing = stepApp(input(), record, options_);
  ASSERT_TRUE(borrowing.put.has_value()) << borrowing.reason;
  EXPECT_GE(borrowing.put->cpus, std::max(cpus_back, 1.3)) << borrowing.reason;
  EXPECT_EQ(borrowing.put->mem_mib, mem_back) << borrowing.reason;
  EXPECT_NE(borrowing.reason.find("(at least " + formatFixed(cpus_back, 2) + " cpus: half way back"), std::string::npos)
      << borrowing.reason;
  EXPECT_EQ(borrowing.reason.find("its cpus with it"), std::string::npos) << borrowing.reason;
  EXPECT_NE(borrowing.reason.find(", its memory with it (at least " + formatFixed(mem_back, 0) + " MiB"),
            std::string::npos)
      << borrowing.reason;

  // Quiet on both, nothing is searched back.
  usage_.cpu_throttled = 0;
  usage_.cpu_used_avg = small_cpus * 0.6;
  usage_.cpu_used_p95 = small_cpus * 0.7;
  const AppStep quiet = stepApp(input(), record, options_);
  EXPECT_FALSE(quiet.usage.shrink_undone_cpus.has_value());
  EXPECT_FALSE(quiet.usage.shrink_undone_mem_mib.has_value());
}

// Killed again at the growth the last kill gave: the app wants far more.
// Each kill in a row doubles the growth's excess (x1.2, x1.4, x1.8, then at
// most x2), so memory catches up in a few restarts rather than a dozen; a
// kill after the hold has passed starts again at x1.2.
TEST_F(ResizeFlowTest, OomKillsInARowGrowMemoryFasterEachTime) {
  usage_ = {};
  AppRecord record = record_;
  std::vector<double> grown;
  for (int kill = 1; kill <= 5; ++kill) {
    app_.version = "v" + std::to_string(kill);
    oomKilled("t-" + std::to_string(kill), app_.version, now_);
    AppStep step = stepApp(input(), record, options_);
    ASSERT_TRUE(step.put.has_value()) << step.reason;
    EXPECT_EQ(step.record.oom_streak, static_cast<std::uint64_t>(kill));
    // The next cycle sees the same kill: not one more in a row.
    const AppStep again = stepApp(input(), step.record, options_);
    EXPECT_EQ(again.record.oom_streak, static_cast<std::uint64_t>(kill));
    grown.push_back(step.put->mem_mib);
    app_.mem_mib = step.put->mem_mib;  // the growth deployed; killed again there
    record = step.record;
    record.intent_cpus.reset();
    record.intent_mem_mib.reset();
    record.intent_at.reset();
    now_ += 10min;
  }
  // From 1024 MiB: x1.2, x1.4, x1.8, x2, x2, each rounded up to 32 MiB.
  EXPECT_EQ(grown, (std::vector<double>{1248, 1760, 3168, 6336, 12672}));
  // The hold passes: the next kill is the first of a new streak.
  now_ += options_.oom_hold;
  app_.version = "v6";
  app_.last_task_failure->version = "v6";
  app_.last_task_failure->at = now_;
  const AppStep fresh = stepApp(input(), record, options_);
  EXPECT_EQ(fresh.record.oom_streak, 1u);
  ASSERT_TRUE(fresh.put.has_value());
  EXPECT_EQ(fresh.put->mem_mib, roundUpToStep(12672 * 1.2, 32));
}

TEST_F(ResizeFlowTest, ASickAppIsNotResized) {
  app_.tasks_running = 2;
  AppStep step = stepApp(input(), record_, options_);
  EXPECT_EQ(step.state, AppState::kSick);
  EXPECT_EQ(step.usage.sick, "2 of 3 tasks running");
  EXPECT_FALSE(step.put.has_value());

  app_.tasks_running = 3;
  AppInput queued = input();
  queued.queued = QueuedApp{.app_id = app_.id, .count = 1, .delay_seconds = 30, .overdue = false};
  step = stepApp(queued, record_, options_);
  EXPECT_EQ(step.state, AppState::kSick);
  EXPECT_NE(step.usage.sick.find("backing off for 30s"), std::string::npos) << step.usage.sick;

  AppInput unread = input();
  unread.queue_known = false;
  step = stepApp(unread, record_, options_);
  EXPECT_EQ(step.state, AppState::kSick);
}

TEST_F(ResizeFlowTest, AnotherDeploymentOfTheAppHoldsItOff) {
  app_.deployment_ids = {"someone-else"};
  const AppStep step = stepApp(input(), record_, options_);
  EXPECT_EQ(step.state, AppState::kDeploying);
  EXPECT_EQ(step.deployment_id, "someone-else");
  EXPECT_FALSE(step.put.has_value());
}

// Restarts are a cost with a budget: one downsize per 24 h by default. A
// second shrink waits until the first leaves the window; a grow the app
// needs still happens, keeping what it would have taken; a PUT that never
// applied gives the downsize back.
TEST_F(ResizeFlowTest, DownsizesAreBudgetedPerWindowAndGrowsAreNot) {
  // The hot spot below proves the shrink wrong, which holds the next shrink
  // longer (AShrinkProvedWrongHoldsTheNext): not what this is about.
  options_.policy.wrong_shrink_hold = Duration::zero();
  // Idle: 0.1 cores of 1 used for an hour, out of band (down) for 30 min.
  cpuToShrink(0.1, 0.12);
  AppStep first = stepApp(input(), record_, options_);
  ASSERT_TRUE(first.put.has_value()) << first.reason;
  EXPECT_LT(first.put->cpus, 1.0);
  const double shrunk_cpus = first.put->cpus;
  UpdateOutcome accepted;
  accepted.deployment_id = "deployment-1";
  std::optional<Error> error;
  AppInput in = input();
  (void)afterPut(first, in, accepted, options_, error);
  EXPECT_FALSE(first.put.has_value());  // sent
  EXPECT_EQ(first.record.downsizes, std::vector<TimePoint>{kNow});

  // Four hours later, memory could shrink too: held, and said so.
  // The deployment ended: the app runs with its new cpus, cooled down.
  AppRecord record = first.record;
  record.intent_cpus.reset();
  record.intent_mem_mib.reset();
  record.intent_id.clear();
  record.deployment_id.clear();
  record.intent_at.reset();
  record.last_change_at = kNow + 5min;
  record.cooldown_until = kNow + 35min;
  app_.cpus = shrunk_cpus;
  usage_.cpu_used_avg = 0.1;
  usage_.mem_used_mib = 200;
  usage_.mem_peak_mib = 210;
  now_ = kNow + 4h;
  record.out_of_band_direction = "down";
  record.out_of_band_since = now_ - 30min;
  AppStep held = stepApp(input(), record, options_);
  EXPECT_FALSE(held.put.has_value());
  EXPECT_EQ(held.state, AppState::kWatching);
  EXPECT_NE(held.reason.find("held: 1 downsize(s) per 24h spent, the next from 1700086400"), std::string::npos)
      << held.reason;

  // A hot spot meanwhile grows CPU, and keeps the memory it would shrink.
  usage_.cpu_used_avg = app_.cpus + 0.5;
  usage_.cpu_used_p95 = app_.cpus + 0.6;
  record.out_of_band_direction = "up";
  AppStep grow = stepApp(input(), record, options_);
  ASSERT_TRUE(grow.put.has_value()) << grow.reason;
  EXPECT_GT(grow.put->cpus, app_.cpus);
  EXPECT_EQ(grow.put->mem_mib, app_.mem_mib);
  EXPECT_NE(grow.reason.find("growing only: 1 downsize(s) per 24h spent"), std::string::npos) << grow.reason;

  // Once the first downsize leaves the window, the shrink goes.
  usage_.cpu_used_avg = 0.1;
  usage_.cpu_used_p95 = 0.12;
  now_ = kNow + 24h + 1s;
  record.out_of_band_direction = "down";
  record.out_of_band_since = now_ - 30min;
  AppStep later = stepApp(input(), record, options_);
  ASSERT_TRUE(later.put.has_value()) << later.reason;
  EXPECT_LT(later.put->mem_mib, app_.mem_mib);
  EXPECT_TRUE(later.record.downsizes.empty());  // the old one left the window

  // A budget of 0 never shrinks; a PUT whose answer was lost and that
  // Marathon never applied gives its downsize back.
  settings_.max_downsizes = 0;
  AppStep never = stepApp(input(), record, options_);
  EXPECT_FALSE(never.put.has_value());
  EXPECT_NE(never.reason.find("never shrunk (rightsize.max-downsizes-per-day=0)"), std::string::npos);
  settings_.max_downsizes = 1;
  AppStep lost = stepApp(input(), record, options_);
  ASSERT_TRUE(lost.put.has_value());
  AppInput lost_in = input();
  (void)afterPut(lost, lost_in, Error(ErrorKind::kUnavailable, "no answer"), options_, error);
  EXPECT_EQ(lost.record.downsizes, std::vector<TimePoint>{now_});
  now_ += options_.unconfirmed_grace + 1s;
  const AppStep given_up = stepApp(input(), lost.record, options_);
  EXPECT_TRUE(given_up.record.downsizes.empty()) << given_up.reason;
}

// A burstable app: the PUT carries its limits with its request, and the
// intent too (the deployment is done once the app shows both). A change of
// its request alone is budgeted like a downsize, whichever way it goes (its
// limits hold its use); a limit that must grow never waits for the budget.
TEST_F(ResizeFlowTest, ABurstableAppsRequestIsBudgetedAndItsLimitsAreNot) {
  settings_.burstable = true;
  app_.cpus = 0.5;
  app_.limits = {2.0, 2048.0};
  // Sustained use 1.0 core over six hours on a 0.5 request: the request grows.
  usage_.cpu_used_avg = 1.0;
  usage_.cpu_used_sustained = 1.0;
  usage_.cpu_used_p95 = 1.4;
  usage_.history = 6h;
  record_.out_of_band_since = kNow - 30min;
  AppStep first = stepApp(input(), record_, options_);
  ASSERT_TRUE(first.put.has_value()) << first.reason;
  EXPECT_NEAR(first.put->cpus, 1.15, 1e-9);
  ASSERT_TRUE(first.put->limits.has_value());
  EXPECT_EQ(*first.put->limits, (ResourceLimits{2.0, 2048.0}));
  EXPECT_EQ(first.record.intent_cpus_limit, 2.0);
  EXPECT_EQ(first.record.intent_mem_limit_mib, 2048.0);
  UpdateOutcome accepted;
  accepted.deployment_id = "deployment-1";
  std::optional<Error> error;
  AppInput in = input();
  (void)afterPut(first, in, accepted, options_, error);
  EXPECT_EQ(first.record.downsizes, std::vector<TimePoint>{kNow});  // budgeted though it grows

  // Marathon shows the new request but lost the limits: not done.
  app_.cpus = 1.15;
  app_.limits = {};
  now_ = kNow + 10min;
  const std::optional<std::vector<MarathonDeployment>> none = std::vector<MarathonDeployment>{};
  AppStep failed = stepApp(input(none), first.record, options_);
  ASSERT_TRUE(failed.ended.has_value());
  EXPECT_EQ(failed.ended->action, DecisionAction::kDeploymentFailed);
  app_.limits = {2.0, 2048.0};
  AppStep done = stepApp(input(none), first.record, options_);
  ASSERT_TRUE(done.ended.has_value());
  EXPECT_EQ(done.ended->action, DecisionAction::kDeploymentDone);

  // Its request would grow again: held, the budget spent.
  AppRecord record = done.record;
  record.cooldown_until.reset();
  usage_.cpu_used_avg = 1.6;
  usage_.cpu_used_sustained = 1.6;
  now_ = kNow + 2h;
  record.out_of_band_direction = "up";
  record.out_of_band_since = now_ - 30min;
  const AppStep held = stepApp(input(), record, options_);
  EXPECT_FALSE(held.put.has_value());
  EXPECT_NE(held.reason.find("held: its limits hold its use, and a change of its request alone is budgeted"),
            std::string::npos)
      << held.reason;
  // Throttled at its limit: the limit grows at once, budget or not.
  usage_.cpu_throttled = 0.98;
  usage_.cpu_used_p95 = 2.1;
  record.limit_out_of_band_direction = "up";
  record.limit_out_of_band_since = now_ - 5min;
  const AppStep grown = stepApp(input(), record, options_);
  ASSERT_TRUE(grown.put.has_value()) << grown.reason;
  EXPECT_GT(grown.put->limits->cpus.value(), 2.0);
  EXPECT_EQ(grown.record.downsizes, record.downsizes);
}

// A resize that only shrinks must take at least the minimum change (10 %)
// off a resource to be worth a restart; a grow is never held by it.
TEST_F(ResizeFlowTest, AShrinkTooSmallForARestartIsHeld) {
  // 16 GiB reserved, 14 GiB used, its peak plus 15 % just under 16 GiB:
  // out of the band above, and 1 % less is what the peak allows.
  app_.mem_mib = 16384;
  memoryToShrink(14000, 14100);
  const AppStep small = stepApp(input(), record_, options_);
  EXPECT_LT(small.evaluation.mem_mib, 16384);
  EXPECT_GT(small.evaluation.mem_mib, 16384 * 0.9);
  EXPECT_FALSE(small.put.has_value());
  EXPECT_NE(small.reason.find("held: a shrink of "), std::string::npos) << small.reason;
  EXPECT_NE(small.reason.find("% is not worth a restart (at least 10%)"), std::string::npos) << small.reason;
  EXPECT_TRUE(small.record.downsizes.empty());  // the budget is not spent on it
  // With labels of half a per cent and no amount, it is made.
  settings_.min_change = 0.005;
  settings_.min_change_mem_mib = 0;
  EXPECT_TRUE(stepApp(input(), record_, options_).put.has_value());
  // A grow as small is made whatever the minimum.
  settings_.min_change = 0.5;
  usage_.mem_used_mib = 16000;
  usage_.mem_peak_mib = 16100;
  usage_.mem_near_limit = true;
  record_.out_of_band_direction = "up";
  const AppStep grow = stepApp(input(), record_, options_);
  ASSERT_TRUE(grow.put.has_value()) << grow.reason;
  EXPECT_GT(grow.put->mem_mib, 16384);
}

// ... and an amount of it (--min-change-cpus 0.25 cores, --min-change-mem
// 512 MiB): a tenth of a small app is not worth a restart either. A shrink
// worth one carries the other resource's small change with it.
TEST_F(ResizeFlowTest, AShrinkOfTooLittleForARestartIsHeld) {
  // 1,200 MiB reserved, 500 used, its peak 900: out of the band above;
  // 900 x 1.15 = 1,035, 1,056 on the step: 144 MiB (12 %) off.
  app_.mem_mib = 1200;
  memoryToShrink(500, 900);
  const AppStep small = stepApp(input(), record_, options_);
  EXPECT_DOUBLE_EQ(small.evaluation.mem_mib, 1056);
  EXPECT_FALSE(small.put.has_value());
  EXPECT_NE(small.reason.find("held: a shrink of 0.00 cores and 144 MiB is not worth a restart (at least 0.25 "
                              "cores or 512 MiB, and 10%)"),
            std::string::npos)
      << small.reason;
  EXPECT_TRUE(small.record.downsizes.empty());
  // The app's label (rightsize.mem.min-change) lowers the amount.
  settings_.min_change_mem_mib = 128;
  const AppStep labelled = stepApp(input(), record_, options_);
  ASSERT_TRUE(labelled.put.has_value()) << labelled.reason;
  EXPECT_DOUBLE_EQ(labelled.put->mem_mib, 1056);
  // 0.2 cores off 1 (0.7 x 1.1 = 0.77, 0.80 on the step) is 20 %, too
  // little as well.
  settings_.min_change_mem_mib = 512;
  cpuToShrink(0.38, 0.7);
  const AppStep cpu = stepApp(input(), record_, options_);
  EXPECT_NEAR(cpu.evaluation.cpus, 0.8, 1e-9) << cpu.reason;
  EXPECT_FALSE(cpu.put.has_value()) << cpu.reason;
  EXPECT_NE(cpu.reason.find("held: a shrink of 0.20 cores and 144 MiB is not worth a restart"), std::string::npos)
      << cpu.reason;
  // From 2 cores the CPU shrink is worth a restart, and the memory goes too.
  app_.cpus = 2;
  const AppStep both = stepApp(input(), record_, options_);
  ASSERT_TRUE(both.put.has_value()) << both.reason;
  EXPECT_LE(both.put->cpus, 1.0);
  EXPECT_DOUBLE_EQ(both.put->mem_mib, 1056);
}

// A single-instance app's restart is an outage: it is shrunk only with
// rightsize.allow-single-instance=true, and grown when at risk all the same
// (keeping what it would shrink).
TEST_F(ResizeFlowTest, ASingleInstanceAppIsShrunkOnlyWithItsLabel) {
  app_.instances = 1;
  app_.tasks_running = 1;
  usage_.tasks = 1;
  cpuToShrink(0.1, 0.12);
  const AppStep held = stepApp(input(), record_, options_);
  EXPECT_FALSE(held.put.has_value());
  EXPECT_EQ(held.state, AppState::kWatching);
  EXPECT_NE(held.reason.find("held: a single-instance app is shrunk only with rightsize.allow-single-instance=true"),
            std::string::npos)
      << held.reason;
  EXPECT_TRUE(held.record.downsizes.empty());

  // At risk (memory at its limit), it grows memory and keeps its CPU.
  usage_.mem_used_mib = 1000;
  usage_.mem_peak_mib = 1010;
  usage_.mem_near_limit = true;
  record_.out_of_band_direction = "up";
  const AppStep grow = stepApp(input(), record_, options_);
  ASSERT_TRUE(grow.put.has_value()) << grow.reason;
  EXPECT_EQ(grow.put->cpus, app_.cpus);
  EXPECT_GT(grow.put->mem_mib, app_.mem_mib);
  EXPECT_NE(grow.reason.find("growing only: a single-instance app"), std::string::npos) << grow.reason;

  // Labelled, the shrink is made.
  usage_.mem_used_mib = 700;
  usage_.mem_peak_mib = 720;
  usage_.mem_near_limit = false;
  record_.out_of_band_direction = "down";
  settings_.allow_single_instance = true;
  const AppStep allowed = stepApp(input(), record_, options_);
  ASSERT_TRUE(allowed.put.has_value()) << allowed.reason;
  EXPECT_LT(allowed.put->cpus, app_.cpus);
}

// A task shows its range of use over hours: nothing is taken from an app
// before its youngest task has run --min-task-age (a task not started yet
// has run nothing); a grow the app needs does not wait.
TEST_F(ResizeFlowTest, AppsWithYoungTasksAreNotShrunk) {
  cpuToShrink(0.1, 0.12);
  options_.policy.min_task_age = 6h;
  for (const Duration age : {Duration(7h), Duration(8h), Duration(150min)}) {
    MarathonTask task;
    task.id = "shop_web.task-" + std::to_string(app_.tasks.size());
    task.state = "TASK_RUNNING";
    task.started_at = kNow - age;
    app_.tasks.push_back(task);
  }
  const AppStep young = stepApp(input(), record_, options_);
  EXPECT_FALSE(young.put.has_value());
  EXPECT_NE(young.reason.find("held: its youngest task has run 2h30m, a shrink waits until 6h (--min-task-age)"),
            std::string::npos)
      << young.reason;
  EXPECT_TRUE(young.record.downsizes.empty());

  // Once the youngest has run 6 h, the shrink is made.
  now_ = kNow + 210min;
  record_.out_of_band_since = now_ - 30min;
  const AppStep old = stepApp(input(), record_, options_);
  ASSERT_TRUE(old.put.has_value()) << old.reason;
  EXPECT_LT(old.put->cpus, app_.cpus);

  // A task not started yet (staged: no startedAt) has run nothing.
  app_.tasks.back().started_at.reset();
  const AppStep staged = stepApp(input(), record_, options_);
  EXPECT_FALSE(staged.put.has_value());
  EXPECT_NE(staged.reason.find("its youngest task has run 0s"), std::string::npos) << staged.reason;

  // A hot spot grows at once whatever the tasks' age.
  app_.tasks.back().started_at = now_ - 1min;
  hotSpot();
  const AppStep hot = stepApp(input(), record_, options_);
  ASSERT_TRUE(hot.put.has_value()) << hot.reason;
  EXPECT_GT(hot.put->cpus, app_.cpus);
}

// An app born while the sizer watched may be a batch job that ends before a
// shrink pays for its restart: nothing is taken from it before it has lived
// --min-app-age; a grow it needs does not wait. The record keeps its birth
// from the step it was first listed.
TEST_F(ResizeFlowTest, AppsBornWhileWatchedAreNotShrunkBeforeMinAppAge) {
  cpuToShrink(0.1, 0.12);
  options_.policy.min_app_age = 24h;
  AppInput first = input();
  first.born = true;
  const AppStep born = stepApp(first, record_, options_);
  EXPECT_EQ(born.record.born_at, now_);
  EXPECT_FALSE(born.put.has_value());
  EXPECT_NE(born.reason.find("held: the app was born 0s ago, a shrink waits until it has lived 24h (--min-app-age)"),
            std::string::npos)
      << born.reason;

  // Listed again (no longer born this step), 23 h later: still held; the
  // birth is not moved.
  record_ = born.record;
  now_ = kNow + 23h;
  record_.out_of_band_since = now_ - 30min;
  const AppStep young = stepApp(input(), record_, options_);
  EXPECT_EQ(young.record.born_at, kNow);
  EXPECT_FALSE(young.put.has_value());
  EXPECT_NE(young.reason.find("the app was born 23h ago"), std::string::npos) << young.reason;

  // A hot spot grows at once, however young the app.
  hotSpot();
  const AppStep hot = stepApp(input(), record_, options_);
  ASSERT_TRUE(hot.put.has_value()) << hot.reason;
  EXPECT_GT(hot.put->cpus, app_.cpus);

  // Once it has lived a day, the shrink is made.
  cpuToShrink(0.1, 0.12);
  now_ = kNow + 24h;
  record_.out_of_band_since = now_ - 30min;
  const AppStep grown_up = stepApp(input(), record_, options_);
  ASSERT_TRUE(grown_up.put.has_value()) << grown_up.reason;
  EXPECT_LT(grown_up.put->cpus, app_.cpus);

  // An app the sizer found with the fleet (never born) is not held.
  now_ = kNow;
  record_ = AppRecord{};
  record_.app_id = app_.id;
  record_.out_of_band_direction = "down";
  record_.out_of_band_since = now_ - 30min;
  const AppStep old = stepApp(input(), record_, options_);
  ASSERT_TRUE(old.put.has_value()) << old.reason;
  EXPECT_FALSE(old.record.born_at.has_value());
}

TEST(BackoffTest, DoublesFromRetryAfterUpToTheCooldown) {
  EXPECT_EQ(backoffAfter(1, 1min, 30min), 1min);
  EXPECT_EQ(backoffAfter(2, 1min, 30min), 2min);
  EXPECT_EQ(backoffAfter(5, 1min, 30min), 16min);
  EXPECT_EQ(backoffAfter(6, 1min, 30min), 30min);
  EXPECT_EQ(backoffAfter(1000, 1min, 30min), 30min);
  EXPECT_EQ(backoffAfter(3, 10min, 5min), 10min);  // never below retry_after
}

TEST(AppStateTest, NamesRoundTripAndUnknownNamesAreNone) {
  for (const AppState state : kEveryAppState) EXPECT_EQ(parseAppState(appStateName(state)), state);
  EXPECT_EQ(appStateName(AppState::kNoData), "no_data");
  EXPECT_FALSE(parseAppState("resting").has_value());
  for (const DecisionAction action :
       {DecisionAction::kResize, DecisionAction::kResizeUnconfirmed, DecisionAction::kResizeRefused,
        DecisionAction::kDeploymentDone, DecisionAction::kDeploymentFailed}) {
    EXPECT_EQ(parseDecisionAction(decisionActionName(action)), action);
  }
  EXPECT_FALSE(parseDecisionAction("hold").has_value());
}

TEST(MemoryStateStoreTest, KeepsWhatTheLeaseHolderWritesAndRefusesOthers) {
  MemoryStateStore store(2);
  auto a = store.acquireLease("a", 1min);
  ASSERT_TRUE(a.ok() && a->has_value());
  auto b = store.acquireLease("b", 1min);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->has_value());
  AppRecord record;
  record.app_id = "/web";
  EXPECT_TRUE(store.saveApps({record}, **a).ok());
  const Status refused = store.saveApps({record}, Lease{"b", 9});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind(), ErrorKind::kConflict);
  EXPECT_EQ(store.loadApps()->size(), 1u);
  for (int i = 0; i < 3; ++i) {
    Decision d;
    d.at = kNow + std::chrono::seconds(i);
    ASSERT_TRUE(store.appendDecision(d, **a).ok());
  }
  const auto decisions = store.recentDecisions(10);
  ASSERT_EQ(decisions->size(), 2u);  // capped, newest first
  EXPECT_EQ(decisions->front().at, kNow + 2s);
  EXPECT_TRUE(store.releaseLease(**a).ok());
  b = store.acquireLease("b", 1min);
  ASSERT_TRUE(b->has_value());
  EXPECT_GT((*b)->token, (*a)->token);
}

}  // namespace
}  // namespace rightsize::sizing
