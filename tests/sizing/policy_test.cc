#include "rightsize/sizing/policy.h"

#include <gtest/gtest.h>

#include "rightsize/core/text.h"

namespace rightsize::sizing {
namespace {

using std::chrono::minutes;

class PolicyTest : public ::testing::Test {
 protected:
  // One evaluation `at` minutes after the start.
  Evaluation at(double minute, double cpus, double mem, const AppUsage& usage) {
    return evaluate(
        settings_, options_, cpus, mem, usage, state_,
        start_ + std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::ratio<60>>(minute)));
  }
  static AppUsage using_(double avg, double p95, double mem_used, double mem_peak) {
    AppUsage usage;
    usage.tasks = 3;
    usage.cpu_used_avg = avg;
    usage.cpu_used_p95 = p95;
    usage.mem_used_mib = mem_used;
    usage.mem_peak_mib = mem_peak;
    return usage;
  }

  AppSettings settings_;  // bands [-0.1, 0.6] cores and [-64, 512] MiB
  PolicyOptions options_;
  PolicyState state_;
  TimePoint start_ = fromUnixSeconds(1'700'000'000);
};

TEST_F(PolicyTest, ShrinksAfterSustainedSlack) {
  const AppUsage idle = using_(0.3, 0.5, 700, 750);  // 2 cores reserved: lying factor 1.7
  auto first = at(0, 2.0, 1024, idle);
  EXPECT_TRUE(first.cpu_out_of_band);
  EXPECT_EQ(first.direction, Direction::kDown);
  EXPECT_FALSE(first.resize);
  EXPECT_FALSE(at(9.9, 2.0, 1024, idle).resize);
  const Evaluation due = at(10, 2.0, 1024, idle);
  ASSERT_TRUE(due.resize) << due.reason;
  // max(0.3 + 0.135, 0.5 * 1.1) = 0.55 cores; memory stays: 324 MiB slack is in band.
  EXPECT_NEAR(due.cpus, 0.55, 1e-9);
  EXPECT_DOUBLE_EQ(due.mem_mib, 1024);
  // As docs/api.md's /v1/apps example writes it: the band as configured, not padded to the factor's decimals.
  EXPECT_NE(due.reason.find("cpu lying factor 1.70 above band [-0.1, 0.6] for 10m"), std::string::npos) << due.reason;
}

// Where the days the history remembers hold a figure above the recent
// hours' (the CPU histogram, the daily memory peaks), the reason says which
// rule held the app up: the shrink goes no lower than they allow.
TEST_F(PolicyTest, TheReasonNamesTheDaysThatHoldAShrinkUp) {
  AppUsage usage = using_(0.3, 1.9, 800, 3600);  // recent hours: 0.5 at p95, 900 MiB
  usage.cpu_p95_days = 1.9;
  usage.mem_peak_days = 3600;
  at(0, 4.0, 8192, usage);
  const Evaluation due = at(10, 4.0, 8192, usage);
  ASSERT_TRUE(due.resize) << due.reason;
  EXPECT_GE(due.cpus, 1.9);
  EXPECT_GE(due.mem_mib, 3600);
  EXPECT_NE(due.reason.find("its cpus sized on the days' p95 of 1.90 cores (--cpu-half-life: a fall lowers it over "
                            "days), its memory on the daily peak of 3600 MiB (--memory-days) for 10m"),
            std::string::npos)
      << due.reason;
  // Without them, nothing is said of days.
  state_ = {};
  const AppUsage recent = using_(0.3, 0.5, 800, 900);
  at(0, 4.0, 8192, recent);
  EXPECT_EQ(at(10, 4.0, 8192, recent).reason.find("days"), std::string::npos);
}

// What goes to Marathon is on the step, as the decimal it is written in.
TEST(PolicySteps, RecommendationsAreOnTheStepExactly) {
  EXPECT_EQ(roundUpToStep(0.34, 0.05), 0.35);
  EXPECT_EQ(roundUpToStep(0.35000000000000003, 0.05), 0.35);
  EXPECT_EQ(roundUpToStep(1.01, 0.05), 1.05);
  EXPECT_EQ(roundUpToStep(2.6, 0.1), 2.6);
  EXPECT_EQ(roundUpToStep(1229, 32), 1248);
  EXPECT_EQ(roundUpToStep(0.0071, 0.001), 0.008);
}

TEST_F(PolicyTest, AnOomKillGrowsMemoryAtOnceEvenWithoutFigures) {
  AppUsage none;  // the restarted task has no rate yet
  none.oom_killed_mem_mib = 1024;
  const Evaluation grow = at(0, 1.0, 1024, none);
  ASSERT_TRUE(grow.resize) << grow.reason;
  EXPECT_EQ(grow.mem_mib, 1248);  // max(+100, x1.2) = 1228.8, on the 32 MiB step
  EXPECT_EQ(grow.cpus, 1.0);
  EXPECT_NE(grow.reason.find("OOM-killed at 1024 MiB"), std::string::npos) << grow.reason;
  // A small app: +100 MiB rules.
  none.oom_killed_mem_mib = 128;
  EXPECT_EQ(at(0, 1.0, 128, none).mem_mib, 256);  // 228, on the step
  // With figures that look small (use restarts from zero), the same.
  AppUsage small = using_(0.3, 0.5, 40, 40);
  small.oom_killed_mem_mib = 1024;
  const Evaluation with_figures = at(0, 0.5, 1024, small);
  ASSERT_TRUE(with_figures.resize) << with_figures.reason;
  EXPECT_EQ(with_figures.mem_mib, 1248);
  EXPECT_EQ(with_figures.direction, Direction::kUp);
}

// Killed after a shrink of the sizer's, before the relaunched task has any
// figures: both resources the shrink took go half way back in that one
// redeploy (the flow sets what they go back to), not CPU in a second one
// once the task is seen throttled.
TEST_F(PolicyTest, AnOomKillWithoutFiguresSearchesBackTheCpusWithIt) {
  AppUsage none;
  none.oom_killed_mem_mib = 1024;
  none.shrink_undone_mem_mib = 2048;  // sqrt(1024 x 4096)
  none.shrink_undone_cpus = 1.1;      // sqrt(0.15 x 8), on the step
  const Evaluation back = at(0, 0.15, 1024, none);
  ASSERT_TRUE(back.resize) << back.reason;
  EXPECT_EQ(back.mem_mib, 2048);
  EXPECT_DOUBLE_EQ(back.cpus, 1.1);
  EXPECT_NE(back.reason.find(", its cpus with it (at least 1.10 cpus"), std::string::npos) << back.reason;
  // Never down: cpus the app already has above it stay.
  EXPECT_DOUBLE_EQ(at(0, 2.0, 1024, none).cpus, 2.0);
}

TEST_F(PolicyTest, MemoryIsHeldAfterAnOomKill) {
  AppUsage small = using_(0.3, 0.35, 40, 40);  // would shrink memory to ~300 MiB
  small.mem_hold_mib = 1248;
  for (double minute = 0; minute <= 60; minute += 1) {
    const Evaluation e = at(minute, 0.5, 1248, small);
    EXPECT_GE(e.mem_mib, 1248) << e.reason;
  }
  EXPECT_NE(at(61, 0.5, 1248, small).reason.find("memory held at 1248 MiB after an OOM kill"), std::string::npos)
      << at(61, 0.5, 1248, small).reason;
}

TEST_F(PolicyTest, ASickAppIsHeldButForMemoryAfterAnOomKill) {
  AppUsage sick = using_(0.3, 0.5, 700, 750);
  sick.sick = "2 of 3 tasks running";
  at(0, 2.0, 1024, sick);
  const Evaluation held = at(60, 2.0, 1024, sick);
  EXPECT_FALSE(held.resize);
  EXPECT_NE(held.reason.find("held: the app is sick (2 of 3 tasks running)"), std::string::npos) << held.reason;
  sick.oom_killed_mem_mib = 1024;
  const Evaluation oom = at(61, 2.0, 1024, sick);
  ASSERT_TRUE(oom.resize) << oom.reason;
  EXPECT_EQ(oom.cpus, 2.0);
  EXPECT_EQ(oom.mem_mib, 1248);
}

TEST_F(PolicyTest, NoRecommendationAboveTheCeiling) {
  options_.cpu_ceiling = 4;
  options_.mem_ceiling_mib = 2048;
  AppUsage busy = using_(3.9, 3.95, 1900, 2000);
  busy.cpu_throttled = 0.9;
  busy.mem_near_limit = true;
  const Evaluation e = at(0, 3.9, 1900, busy);
  EXPECT_LE(e.cpus, 4.0);
  EXPECT_LE(e.mem_mib, 2048);
}

TEST_F(PolicyTest, GrowsAHotSpotSooner) {
  const AppUsage hot = using_(1.15, 1.4, 500, 520);  // 1 core reserved, using more
  EXPECT_FALSE(at(0, 1.0, 1024, hot).resize);
  const Evaluation due = at(2, 1.0, 1024, hot);  // a fifth of the 10 min sustain
  ASSERT_TRUE(due.resize) << due.reason;
  EXPECT_TRUE(due.hot);
  EXPECT_EQ(due.direction, Direction::kUp);
  EXPECT_NEAR(due.cpus, 1.55, 1e-9);  // ceil to 0.05 of max(1.15 + 0.135, 1.4 * 1.1 = 1.54)
}

TEST_F(PolicyTest, ThrottlingGrowsCpuByAtLeastHalf) {
  AppUsage throttled = using_(0.95, 1.0, 500, 520);  // at its 1-core limit
  throttled.cpu_throttled = 0.3;
  at(0, 1.0, 1024, throttled);
  const Evaluation due = at(10, 1.0, 1024, throttled);
  ASSERT_TRUE(due.resize) << due.reason;
  EXPECT_NEAR(due.cpus, 1.5, 1e-9);  // its demand is unknown: x throttle_bump
  EXPECT_NE(due.reason.find("cpu throttled in 30% of periods"), std::string::npos) << due.reason;
}

// The agents measure the demand the quota held back (throttled time): the
// app grows to its limit plus that, with twice the p95's headroom (a mean),
// less than the blind bump when a little is missing, more when much is.
TEST_F(PolicyTest, ThrottlingGrowsCpuToTheDemandItHeldBack) {
  for (const auto& [held, expected] : {std::pair{0.25, 1.5}, std::pair{3.0, 4.8}}) {
    AppUsage throttled = using_(1.0, 1.0, 500, 520);  // at its 1-core limit
    throttled.cpu_throttled = 0.98;
    throttled.cpu_throttled_cores = held;
    state_ = {};
    at(0, 1.0, 1024, throttled);
    const Evaluation due = at(2, 1.0, 1024, throttled);  // saturated: a fifth of the sustain
    ASSERT_TRUE(due.resize) << due.reason;
    EXPECT_NEAR(due.cpus, expected, 1e-9) << held;  // (1 + held) * 1.2, on the step
    EXPECT_NE(
        due.reason.find("cpu throttled in 98% of periods (" + formatFixed(held, 2) + " cores of demand held back)"),
        std::string::npos)
        << due.reason;
  }
  // Throttled in some periods with none held back over the interval: bursts
  // within it reach the limit; the headroom alone.
  AppUsage bursty = using_(0.92, 1.0, 500, 520);
  bursty.cpu_throttled = 0.2;
  bursty.cpu_throttled_cores = 0.0;
  state_ = {};
  at(0, 1.0, 1024, bursty);
  const Evaluation due = at(10, 1.0, 1024, bursty);
  ASSERT_TRUE(due.resize) << due.reason;
  EXPECT_NEAR(due.cpus, 1.2, 1e-9);
}

TEST_F(PolicyTest, OnlyThrottledAtItsLimitWaitsTheWholeSustain) {
  // Throttled, or using no more than 5 % above its reservation: a saturation
  // shorter than the sustain is not worth a restart.
  for (const double avg : {0.95, 1.04}) {
    AppUsage saturated = using_(avg, 1.0, 500, 520);
    saturated.cpu_throttled = 0.9;
    state_ = {};
    at(0, 1.0, 1024, saturated);
    const Evaluation early = at(2, 1.0, 1024, saturated);
    EXPECT_TRUE(early.hot);
    EXPECT_FALSE(early.resize) << early.reason;
    EXPECT_NE(early.reason.find("; acting after 10m"), std::string::npos) << early.reason;
    EXPECT_FALSE(at(9.9, 1.0, 1024, saturated).resize);
    const Evaluation due = at(10, 1.0, 1024, saturated);
    ASSERT_TRUE(due.resize) << avg << ": " << due.reason;
    EXPECT_NEAR(due.cpus, 1.9, 1e-9);  // throttled in 90 % of periods: x 1.9
  }
  // More than 5 % above it (CPU shares without a CFS quota), or throttled in
  // nearly every period (under a quota it cannot use more): a fifth of the
  // sustain.
  AppUsage short_of_cpu = using_(1.06, 1.1, 500, 520);
  short_of_cpu.cpu_throttled = 0.9;
  AppUsage starving = using_(1.0, 1.0, 500, 520);
  starving.cpu_throttled = 0.95;
  for (const AppUsage& usage : {short_of_cpu, starving}) {
    state_ = {};
    at(0, 1.0, 1024, usage);
    EXPECT_FALSE(at(1.9, 1.0, 1024, usage).resize);
    const Evaluation due = at(2, 1.0, 1024, usage);
    EXPECT_TRUE(due.resize) << due.reason;
  }
}

TEST_F(PolicyTest, ShrinksOnlyOnAWholeWindowOfHistoryButGrowsWithout) {
  AppUsage idle = using_(0.3, 0.5, 700, 750);
  idle.history = minutes(3);  // a sizer that just started
  at(0, 2.0, 1024, idle);
  const Evaluation held = at(12, 2.0, 1024, idle);
  EXPECT_FALSE(held.resize);
  EXPECT_NE(held.reason.find("acting after 6h of history (has 3m)"), std::string::npos) << held.reason;
  idle.history = minutes(359);
  EXPECT_FALSE(at(13, 2.0, 1024, idle).resize);
  idle.history = minutes(360);
  EXPECT_TRUE(at(14, 2.0, 1024, idle).resize);
  // --min-history, and at least one sustain.
  options_.sustain = minutes(2);
  options_.min_history = minutes(6);
  state_ = {};
  at(0, 2.0, 1024, idle);
  idle.history = minutes(5);
  EXPECT_FALSE(at(3, 2.0, 1024, idle).resize);
  idle.history = minutes(6);
  EXPECT_TRUE(at(4, 2.0, 1024, idle).resize);
  options_.min_history = minutes(1);
  state_ = {};
  at(0, 2.0, 1024, idle);
  idle.history = minutes(1);
  EXPECT_FALSE(at(2, 2.0, 1024, idle).resize);  // the sustain's 2 minutes
  idle.history = minutes(2);
  EXPECT_TRUE(at(2, 2.0, 1024, idle).resize);
  options_ = {};

  state_ = {};
  AppUsage hot = using_(1.15, 1.4, 500, 520);
  hot.history = minutes(1);
  at(0, 1.0, 1024, hot);
  EXPECT_TRUE(at(2, 1.0, 1024, hot).resize);  // a hot spot does not wait for history
}

TEST_F(PolicyTest, TooMuchReservedNeverGrows) {
  // Lying factor 0.8 above the band, but bursts put the p95 at 1.2: growing
  // to 1.35 would not bring the lying factor back, so nothing is done.
  const AppUsage bursty = using_(0.2, 1.2, 700, 760);
  at(0, 1.0, 1024, bursty);
  const Evaluation held = at(15, 1.0, 1024, bursty);
  EXPECT_EQ(held.direction, Direction::kDown);
  EXPECT_FALSE(held.resize);
  EXPECT_DOUBLE_EQ(held.cpus, 1.0);
  EXPECT_NE(held.reason.find("already at the recommended size"), std::string::npos) << held.reason;
  // Memory alike: 2,400 MiB above the band today, but a peak of 3,000 MiB
  // in the history: its peak plus 15 % (3,450) is no reason to grow it.
  state_ = {};
  const AppUsage peaked = using_(0.7, 0.8, 1000, 3000);
  at(0, 1.0, 3424, peaked);
  const Evaluation kept = at(15, 1.0, 3424, peaked);
  EXPECT_EQ(kept.direction, Direction::kDown);
  EXPECT_FALSE(kept.resize) << kept.reason;
  EXPECT_DOUBLE_EQ(kept.mem_mib, 3424);
}

TEST_F(PolicyTest, HoldsInsideTheBand) {
  const AppUsage fine = using_(0.7, 0.9, 700, 760);  // lying factor 0.3 cores, 324 MiB
  for (int minute = 0; minute <= 60; minute += 10) {
    const Evaluation e = at(minute, 1.0, 1024, fine);
    EXPECT_FALSE(e.resize);
    EXPECT_EQ(e.direction, Direction::kNone);
  }
  EXPECT_FALSE(state_.out_of_band_since);
}

// Living above its whole limit (1 cpu and the executor's 0.1): 1.15 cores on
// average and 1.2 at p95 is a lying factor of -0.05, inside the band
// [-0.1, 0.6], but under CPU shares it takes its neighbours' cores all day:
// grown after the sustain. Above it by less than half a step at p95, or on
// average below it, it holds.
TEST_F(PolicyTest, AContainerLivingAboveItsWholeLimitGrowsInsideTheBand) {
  AppUsage above = using_(1.15, 1.2, 700, 760);
  above.cpu_overhead = 0.1;
  EXPECT_FALSE(at(0, 1.0, 1024, above).resize);
  const Evaluation grown = at(10, 1.0, 1024, above);
  ASSERT_TRUE(grown.resize) << grown.reason;
  EXPECT_EQ(grown.direction, Direction::kUp);
  EXPECT_NEAR(grown.cpus, 1.25, 1e-9);  // 1.2 x 1.1 - 0.1, on the step
  EXPECT_NE(grown.reason.find("cpu used above all it reserves (1.15 cores on average, 1.20 at p95, of 1.10)"),
            std::string::npos)
      << grown.reason;
  for (const AppUsage& held : {using_(1.11, 1.12, 700, 760), using_(1.05, 1.3, 700, 760)}) {
    state_ = {};
    AppUsage usage = held;
    usage.cpu_overhead = 0.1;
    for (int minute = 0; minute <= 60; minute += 10) EXPECT_FALSE(at(minute, 1.0, 1024, usage).resize);
  }
}

TEST_F(PolicyTest, BandsAreWrittenExactlyWithoutTrailingZeros) {
  const Evaluation inside = at(0, 1.0, 1024, using_(0.7, 0.9, 700, 760));
  EXPECT_EQ(inside.reason, "cpu lying factor 0.30 within [-0.1, 0.6], memory 324 MiB within [-64, 512]");

  // Edges with more decimals than the factor is shown with are not rounded.
  settings_.cpu_band = {-0.125, 0.05};
  settings_.mem_band = {-64.5, 256};
  const Evaluation idle = at(1, 2.0, 1024, using_(0.3, 0.5, 300, 320));
  EXPECT_NE(idle.reason.find("cpu lying factor 1.70 above band [-0.125, 0.05]"), std::string::npos) << idle.reason;
  EXPECT_NE(idle.reason.find("memory lying factor 724 MiB above band [-64.5, 256]"), std::string::npos) << idle.reason;
}

TEST_F(PolicyTest, LeavingTheBandBrieflyRestartsTheClock) {
  const AppUsage idle = using_(0.3, 0.5, 700, 750);
  const AppUsage busy = using_(1.6, 1.8, 700, 760);  // lying factor 0.4: in band
  at(0, 2.0, 1024, idle);
  at(5, 2.0, 1024, busy);  // back in band: forgotten
  at(6, 2.0, 1024, idle);
  EXPECT_FALSE(at(15, 2.0, 1024, idle).resize);
  EXPECT_TRUE(at(16, 2.0, 1024, idle).resize);
}

TEST_F(PolicyTest, MinAndMaxFromLabelsBound) {
  settings_.cpu_min = 1.0;
  const AppUsage idle = using_(0.1, 0.2, 700, 750);
  at(0, 4.0, 1024, idle);
  EXPECT_DOUBLE_EQ(at(10, 4.0, 1024, idle).cpus, 1.0);
  settings_.cpu_min.reset();
  settings_.cpu_max = 1.2;
  state_ = {};
  const AppUsage hot = using_(3.0, 3.5, 700, 750);
  at(0, 1.0, 1024, hot);
  EXPECT_DOUBLE_EQ(at(2, 1.0, 1024, hot).cpus, 1.2);
}

// A change of half a step or less is no change: an app reserving 4,080 MiB
// (off the 32 MiB grid) at its memory limit, bounded by rightsize.mem.max
// 4096, would be redeployed for 16 MiB. The flow counts grows and shrinks
// the same way (more than half a step).
TEST_F(PolicyTest, HalfAStepIsNoChange) {
  settings_.mem_max = 4096;
  AppUsage at_limit = using_(0.5, 0.6, 4060, 4075);
  at_limit.mem_near_limit = true;
  const Evaluation same = at(0, 1.0, 4080, at_limit);
  EXPECT_EQ(same.mem_mib, 4096);
  EXPECT_FALSE(same.resize) << same.reason;
  // A step's worth is a change.
  state_ = {};
  EXPECT_TRUE(at(0, 1.0, 4064, at_limit).resize);
}

// Every grow, shrink and change is judged by it: 0.375 cores and the grid's
// 0.35 are the same size, although 0.375 - 0.35 is a hair above 0.025 in
// binary.
TEST(PolicySteps, HalfAStepOrLessIsTheSameSize) {
  EXPECT_FALSE(moreThanHalfAStepAbove(0.375, 0.35, 0.05));
  EXPECT_FALSE(moreThanHalfAStepAbove(0.35, 0.375, 0.05));
  EXPECT_FALSE(moreThanHalfAStepAbove(0.275, 0.25, 0.05));
  EXPECT_TRUE(moreThanHalfAStepAbove(0.4, 0.35, 0.05));
  EXPECT_TRUE(moreThanHalfAStepAbove(0.3760, 0.35, 0.05));
  EXPECT_FALSE(moreThanHalfAStepAbove(4096, 4080, 32));
  EXPECT_TRUE(moreThanHalfAStepAbove(4097, 4080, 32));
}

TEST_F(PolicyTest, NeverShrinksWhileKafkaLagGrows) {
  AppUsage idle = using_(0.3, 0.5, 300, 320);
  idle.lag_growing = true;
  at(0, 2.0, 2048, idle);
  const Evaluation e = at(30, 2.0, 2048, idle);
  EXPECT_FALSE(e.resize);
  EXPECT_DOUBLE_EQ(e.cpus, 2.0);
  EXPECT_DOUBLE_EQ(e.mem_mib, 2048);
  EXPECT_NE(e.reason.find("held: a Kafka consumer group"), std::string::npos) << e.reason;
  // Growing is still allowed.
  AppUsage hot = using_(2.5, 2.8, 300, 320);
  hot.lag_growing = true;
  state_ = {};
  at(0, 2.0, 2048, hot);
  EXPECT_TRUE(at(2, 2.0, 2048, hot).resize);
}

TEST_F(PolicyTest, MemoryNeverBelowPeakPlusMarginAndBumpedAtItsLimit) {
  options_.mem_shrink_reach = 1;                      // where a shrink aims, at once (steps: MemoryShrinksInSteps)
  const AppUsage slack = using_(0.7, 0.9, 300, 900);  // 4 GiB reserved, peak 900 MiB
  at(0, 1.0, 4096, slack);
  const Evaluation shrink = at(10, 1.0, 4096, slack);
  ASSERT_TRUE(shrink.resize);
  EXPECT_DOUBLE_EQ(shrink.mem_mib, 1056);  // ceil32(max(300 + 129, 900 * 1.15 = 1035))
  AppUsage full = using_(0.7, 0.9, 1010, 1020);
  full.mem_near_limit = true;
  state_ = {};
  // At its limit it is being OOM-killed or about to be: no sustain to wait.
  const Evaluation bump = at(0, 1.0, 1024, full);
  ASSERT_TRUE(bump.resize) << bump.reason;
  EXPECT_DOUBLE_EQ(bump.mem_mib, 1536);
  EXPECT_NE(bump.reason.find("memory at its limit"), std::string::npos);
}

// A memory shrink goes two thirds of the way, in ratio, to what the figures
// want (1056 MiB: the 900 MiB peak + 15 %): a VM idle for hours and cut to a
// tenth is OOM-killed over and over when its job wakes up. Each step is
// still worth a restart: it takes at least the app's minimum change (10 %
// and 512 MiB), and one that would go further goes all the way.
TEST_F(PolicyTest, MemoryShrinksInSteps) {
  const AppUsage slack = using_(0.7, 0.9, 300, 900);
  const auto shrink = [&](double mem_mib) {
    state_ = {};
    at(0, 1.0, mem_mib, slack);
    return at(10, 1.0, mem_mib, slack);
  };
  const Evaluation first = shrink(4096);
  ASSERT_TRUE(first.resize) << first.reason;
  EXPECT_DOUBLE_EQ(first.mem_mib, 1664);  // ceil32(4096^(1/3) x 1056^(2/3) = 1661)
  EXPECT_NE(first.reason.find("memory steps down to 1664 MiB of the 1056 MiB its figures want"), std::string::npos)
      << first.reason;
  // 1230 on the step would take 416 MiB off: it takes 512.
  EXPECT_DOUBLE_EQ(shrink(1664).mem_mib, 1152);
  settings_.min_change_mem_mib = 0;
  EXPECT_DOUBLE_EQ(shrink(1664).mem_mib, 1248);  // the share alone: 1230 on the step
  settings_.min_change_mem_mib = 512;
  const Evaluation last = shrink(1120);  // 608 would go beyond the 1056 wanted
  EXPECT_DOUBLE_EQ(last.mem_mib, 1056);
  EXPECT_EQ(last.reason.find("steps down"), std::string::npos) << last.reason;
  // Never above the app's rightsize.mem.max, where it is above it now.
  settings_.mem_max = 1200;
  EXPECT_DOUBLE_EQ(shrink(4096).mem_mib, 1200);
  settings_.mem_max.reset();
  // A larger minimum change takes larger steps: at least 50 % off.
  settings_.min_change = 0.5;
  EXPECT_DOUBLE_EQ(shrink(4096).mem_mib, 1664);
  EXPECT_DOUBLE_EQ(shrink(1664).mem_mib, 1056);  // 832 would do: all the way
}

// An app's labels choose the headroom above its percentile (CPU's p95,
// memory's peak) instead of the policy's 10 % and 15 %.
TEST_F(PolicyTest, HeadroomIsTheAppsChoice) {
  options_.mem_shrink_reach = 1;                      // where a shrink aims, at once
  const AppUsage slack = using_(0.3, 0.5, 300, 900);  // 2 cores, 4 GiB reserved
  at(0, 2.0, 4096, slack);
  const Evaluation plain = at(10, 2.0, 4096, slack);
  ASSERT_TRUE(plain.resize);
  EXPECT_DOUBLE_EQ(plain.cpus, 0.55);     // 0.5 x 1.1
  EXPECT_DOUBLE_EQ(plain.mem_mib, 1056);  // ceil32(900 x 1.15)
  settings_.cpu_headroom = 0.5;
  settings_.mem_headroom = 0;
  state_ = {};
  at(0, 2.0, 4096, slack);
  const Evaluation labelled = at(10, 2.0, 4096, slack);
  ASSERT_TRUE(labelled.resize);
  EXPECT_DOUBLE_EQ(labelled.cpus, 0.75);    // 0.5 x 1.5
  EXPECT_DOUBLE_EQ(labelled.mem_mib, 928);  // ceil32(max(900, 300 + 129))
}

// The time of day (UsageHistory's profile): a shrink holds through the next
// day's forecast peak; a recurring peak within the lead grows the app ahead
// of it; use collapsed against its hour shrinks nothing.
TEST_F(PolicyTest, ShrinksHoldThroughTheDailyPeak) {
  AppUsage night = using_(0.3, 0.35, 700, 750);  // 2 cores reserved
  night.cpu_forecast_peak = 1.5;
  night.cpu_forecast_at = start_ + std::chrono::hours(6);
  at(0, 2.0, 1024, night);
  const Evaluation partly = at(10, 2.0, 1024, night);
  ASSERT_TRUE(partly.resize) << partly.reason;
  // 1.5 x 1.2 (twice the p95's headroom: the peak below where bursts throttle), not 0.45
  EXPECT_DOUBLE_EQ(partly.cpus, 1.8);
  EXPECT_NE(partly.reason.find("cpu kept for the daily peak of 1.50 cores expected at 04:13 UTC"), std::string::npos)
      << partly.reason;
  // A peak the reservation already just covers holds the app where it is.
  state_ = {};
  night.cpu_forecast_peak = 1.9;
  at(0, 2.0, 1024, night);
  const Evaluation held = at(10, 2.0, 1024, night);
  EXPECT_FALSE(held.resize);
  EXPECT_NE(held.reason.find("held: the daily cpu peak of 1.90 cores expected at 04:13 UTC needs it"),
            std::string::npos)
      << held.reason;
}

TEST_F(PolicyTest, GrowsAheadOfARecurringPeak) {
  AppUsage before = using_(0.45, 0.5, 700, 750);  // 1 core reserved, in band now
  EXPECT_EQ(at(0, 1.0, 1024, before).direction, Direction::kNone);
  state_ = {};
  before.cpu_forecast_soon = 1.6;  // expected within the hour
  before.cpu_forecast_soon_at = start_ + std::chrono::minutes(40);
  const Evaluation first = at(0, 1.0, 1024, before);
  EXPECT_EQ(first.direction, Direction::kUp);
  EXPECT_FALSE(first.resize);  // it waits the sustain: a forecast is no emergency
  EXPECT_FALSE(first.hot);
  const Evaluation due = at(10, 1.0, 1024, before);
  ASSERT_TRUE(due.resize) << due.reason;
  EXPECT_DOUBLE_EQ(due.cpus, 1.95);  // 1.6 x 1.2 (the peak's headroom), rounded up to 0.05
  EXPECT_NE(due.reason.find("a daily cpu peak of 1.60 cores expected at 22:53 UTC"), std::string::npos) << due.reason;
}

TEST_F(PolicyTest, NeverShrinksOnUseThatCollapsedAgainstItsHour) {
  AppUsage outage = using_(0.1, 0.12, 700, 750);  // 2 cores reserved
  outage.anomaly = true;
  outage.cpu_expected = 1.5;
  outage.anomaly_score = 7.25;
  at(0, 2.0, 1024, outage);
  const Evaluation held = at(40, 2.0, 1024, outage);
  EXPECT_FALSE(held.resize);
  EXPECT_EQ(held.direction, Direction::kDown);
  EXPECT_NE(held.reason.find("held: its use collapsed against its time of day (0.10 cores, 1.50 expected at this "
                             "hour, 7.2 sigma below): an outage is no reason to shrink"),
            std::string::npos)
      << held.reason;
  // It still grows when at risk.
  AppUsage full = outage;
  full.mem_used_mib = 1010;
  full.mem_peak_mib = 1020;
  full.mem_near_limit = true;
  state_ = {};
  const Evaluation grow = at(0, 2.0, 1024, full);
  ASSERT_TRUE(grow.resize) << grow.reason;
  EXPECT_GT(grow.mem_mib, 1024);
  EXPECT_DOUBLE_EQ(grow.cpus, 2.0);
}

TEST_F(PolicyTest, NoFiguresNoDecision) {
  const Evaluation e = at(0, 1.0, 1024, AppUsage{});
  EXPECT_FALSE(e.has_data);
  EXPECT_FALSE(e.resize);
  EXPECT_EQ(e.reason, "no figures from the agents");
}

TEST_F(PolicyTest, AChangeSmallerThanAStepIsNotMade) {
  settings_.cpu_band = {-0.1, 0.1};
  // Lying factor 0.14 is above the band, but the recommendation (0.55 * 1.1
  // rounded up to 0.65) is within half a step of the 0.64 reserved.
  const AppUsage usage = using_(0.5, 0.55, 700, 760);
  at(0, 0.64, 1024, usage);
  const Evaluation e = at(10, 0.64, 1024, usage);
  EXPECT_FALSE(e.resize) << e.reason;
}

TEST_F(PolicyTest, ExecutorOverheadCountsAsReservedAndIsLeftOutOfTheRecommendation) {
  // A command task with cpus 1.0 runs in a 1.1-core container: using 1.05
  // cores is inside the band, not a hot spot.
  AppUsage usage = using_(1.05, 1.08, 700, 760);
  usage.cpu_overhead = kExecutorCpus;
  usage.mem_overhead_mib = kExecutorMemMib;
  const Evaluation inside = at(0, 1.0, 1024, usage);
  EXPECT_FALSE(inside.cpu_out_of_band) << inside.reason;
  EXPECT_NEAR(*inside.cpu_lying, 0.05, 1e-9);
  EXPECT_NEAR(*inside.mem_lying, 356, 1e-9);
  // Idle at 0.2 cores of 2.1: the container needs max(0.2 + 0.135, 0.3 * 1.1)
  // = 0.335 cores, of which the executor brings 0.1: 0.235, rounded up.
  usage = using_(0.2, 0.3, 700, 760);
  usage.cpu_overhead = kExecutorCpus;
  usage.mem_overhead_mib = kExecutorMemMib;
  at(0, 2.0, 1024, usage);
  const Evaluation due = at(10, 2.0, 1024, usage);
  ASSERT_TRUE(due.resize) << due.reason;
  EXPECT_NEAR(due.cpus, 0.25, 1e-9);
}

TEST_F(PolicyTest, AnAlertedHotSpotGrowsAtOnce) {
  AppUsage hot = using_(1.15, 1.4, 500, 520);
  EXPECT_FALSE(at(0, 1.0, 1024, hot).resize);  // a fifth of --sustain first
  hot.alerted = true;
  const Evaluation due = at(0.5, 1.0, 1024, hot);
  EXPECT_TRUE(due.resize) << due.reason;
  EXPECT_NE(due.reason.find("(alerted)"), std::string::npos) << due.reason;
  // An alert does not hurry a shrink.
  AppUsage idle = using_(0.3, 0.5, 700, 750);
  idle.alerted = true;
  state_ = {};
  EXPECT_FALSE(at(0, 2.0, 1024, idle).resize);
}

// Burstable apps (rightsize.limits=burstable): the request is sized on
// sustained use, the limits on the bursts, and a limit is never lowered.
class BurstablePolicyTest : public PolicyTest {
 protected:
  BurstablePolicyTest() { settings_.burstable = true; }
  Evaluation burst(double minute, const Resources& current, const AppUsage& usage) {
    return evaluateResources(
        settings_, options_, current, usage, state_, limit_state_,
        start_ + std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::ratio<60>>(minute)));
  }
  // Idle at 0.2 cores for six hours with a burst to 3 now and then: its p95
  // says 3, its sustained use 0.3.
  static AppUsage bursty() {
    AppUsage usage = using_(0.25, 3.0, 700, 900);
    usage.cpu_used_sustained = 0.3;
    usage.cpu_used_peak = 3.2;
    usage.history = std::chrono::hours(6);
    return usage;
  }
  PolicyState limit_state_;
};

TEST_F(BurstablePolicyTest, TheRequestFollowsSustainedUseAndTheLimitsKeepTheOldReservation) {
  const Resources before{4.0, 4096, {}};
  EXPECT_FALSE(burst(0, before, bursty()).resize);
  const Evaluation due = burst(10, before, bursty());
  ASSERT_TRUE(due.resize) << due.reason;
  EXPECT_TRUE(due.write_limits);
  // 0.3 + 0.135 cores; memory 700 + 129 MiB (its peak is the limit's).
  EXPECT_NEAR(due.cpus, 0.45, 1e-9);
  EXPECT_DOUBLE_EQ(due.mem_mib, 832);
  // The non-burstable policy would keep 3.3 cores for the p95.
  PolicyState plain;
  EXPECT_NEAR(evaluate(AppSettings{}, options_, 4.0, 4096, bursty(), plain, start_).cpus, 3.3, 1e-9);
  // Its limits stay at what it reserved: lowering one saves nothing.
  EXPECT_EQ(due.limits, (ResourceLimits{4.0, 4096.0}));
  EXPECT_NE(due.reason.find("limits 4.00 cpus, 4096 MiB"), std::string::npos) << due.reason;

  // Unlimited where the labels say so.
  settings_.cpu_limit_unlimited = true;
  state_ = {};
  limit_state_ = {};
  burst(0, before, bursty());
  const Evaluation unlimited_cpu = burst(10, before, bursty());
  ASSERT_TRUE(unlimited_cpu.resize) << unlimited_cpu.reason;
  EXPECT_EQ(unlimited_cpu.limits, (ResourceLimits{kUnlimited, 4096.0}));
  EXPECT_NE(unlimited_cpu.reason.find("limits unlimited cpus, 4096 MiB"), std::string::npos) << unlimited_cpu.reason;
}

TEST_F(BurstablePolicyTest, ThrottledAtItsLimitTheLimitGrowsAndTheRequestStays) {
  const Resources current{0.45, 832, {1.0, 1024.0}};
  AppUsage throttled = bursty();
  throttled.cpu_used_avg = 0.5;
  throttled.cpu_used_p95 = 1.1;
  throttled.cpu_used_peak = 1.1;
  throttled.cpu_throttled = 0.98;  // in nearly every period at its quota
  EXPECT_FALSE(burst(0, current, throttled).resize);
  const Evaluation grown = burst(2, current, throttled);  // a fifth of the sustain
  ASSERT_TRUE(grown.resize) << grown.reason;
  EXPECT_EQ(grown.direction, Direction::kUp);
  EXPECT_TRUE(grown.hot);
  EXPECT_NEAR(grown.cpus, 0.45, 1e-9);
  EXPECT_DOUBLE_EQ(grown.mem_mib, 832);
  // At least twice the container's 1.1 (throttle bump), minus the executor.
  EXPECT_GE(*grown.limits.cpus, 2.0);
  EXPECT_DOUBLE_EQ(*grown.limits.mem_mib, 1024);
  EXPECT_NE(grown.reason.find("limit: cpu throttled in 98% of periods"), std::string::npos) << grown.reason;
}

// On a host that has nothing to spare a higher CPU limit would only take
// from the neighbours: not raised, and said; a memory limit still grows.
TEST_F(BurstablePolicyTest, OnAHotHostTheCpuLimitIsNotRaised) {
  const Resources current{0.45, 832, {1.0, 1024.0}};
  AppUsage throttled = bursty();
  throttled.cpu_used_avg = 0.5;
  throttled.cpu_used_p95 = 1.1;
  throttled.cpu_used_peak = 1.1;
  throttled.cpu_throttled = 0.98;
  throttled.host_busy = 0.95;
  burst(0, current, throttled);
  const Evaluation held = burst(2, current, throttled);
  EXPECT_FALSE(held.resize) << held.reason;
  EXPECT_NE(held.reason.find("cpu limit held at 1.00 cpus: its host uses 95% of its cores (--hot-host 90%)"),
            std::string::npos)
      << held.reason;
  throttled.host_busy = 0.85;  // cooler: raised
  EXPECT_TRUE(burst(3, current, throttled).resize);
  throttled.host_busy = 0.95;
  throttled.mem_near_limit = true;  // and at its memory limit: that one grows
  const Evaluation memory = burst(4, current, throttled);
  ASSERT_TRUE(memory.resize) << memory.reason;
  EXPECT_DOUBLE_EQ(*memory.limits.cpus, 1.0);
  EXPECT_GT(*memory.limits.mem_mib, 1024);
}

TEST_F(BurstablePolicyTest, AnOomKillAtTheLimitGrowsTheMemoryLimitWithoutFigures) {
  AppUsage killed;
  killed.oom_killed_mem_mib = 1024;  // its limit
  const Evaluation grown = burst(0, Resources{0.45, 832, {1.0, 1024.0}}, killed);
  ASSERT_TRUE(grown.has_data);
  ASSERT_TRUE(grown.resize) << grown.reason;
  EXPECT_DOUBLE_EQ(grown.mem_mib, 832);
  EXPECT_DOUBLE_EQ(*grown.limits.mem_mib, 1248);  // max(+100, x1.2) on the step
  EXPECT_DOUBLE_EQ(*grown.limits.cpus, 1.0);
}

TEST_F(BurstablePolicyTest, ALimitTooHighAloneIsNoRestart) {
  AppUsage steady = using_(0.4, 0.5, 800, 820);
  steady.cpu_used_sustained = 0.4;
  steady.history = std::chrono::hours(6);
  const Resources current{0.55, 960, {8.0, 16384.0}};
  burst(0, current, steady);
  const Evaluation later = burst(60, current, steady);
  EXPECT_FALSE(later.resize) << later.reason;
  EXPECT_EQ(later.limits, (ResourceLimits{8.0, 16384.0}));
  EXPECT_NE(later.reason.find("limits kept at 8.00 cpus, 16384 MiB, above its bursts"), std::string::npos)
      << later.reason;
}

// An app that is not burstable keeps the resourceLimits it has (written
// back: Marathon drops those a PUT leaves out) and is never raised above a
// numeric one.
TEST_F(PolicyTest, AnAppThatIsNotBurstableKeepsItsLimitsAndStaysWithinThem) {
  PolicyState limit_state;
  const Resources current{1.0, 1024, {1.2, kUnlimited}};
  const AppUsage hot = using_(1.3, 1.6, 700, 720);
  evaluateResources(settings_, options_, current, hot, state_, limit_state, start_);
  const Evaluation due =
      evaluateResources(settings_, options_, current, hot, state_, limit_state, start_ + std::chrono::minutes(10));
  ASSERT_TRUE(due.resize) << due.reason;
  EXPECT_TRUE(due.write_limits);
  EXPECT_EQ(due.limits, current.limits);
  EXPECT_DOUBLE_EQ(due.cpus, 1.2);
  EXPECT_NE(due.reason.find("capped cpus at its resourceLimits.cpus 1.20"), std::string::npos) << due.reason;
  // Without limits, none are written.
  const Evaluation plain = evaluateResources(settings_, options_, Resources{1.0, 1024, {}}, hot, state_, limit_state,
                                             start_ + std::chrono::minutes(20));
  EXPECT_FALSE(plain.write_limits);
  EXPECT_GT(plain.cpus, 1.2);
}

}  // namespace
}  // namespace rightsize::sizing
