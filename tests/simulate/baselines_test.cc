#include "rightsize/simulate/baselines.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rightsize/core/units.h"

namespace rightsize::simulate {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

constexpr Duration kStep = minutes(5);
constexpr TimePoint kStart{std::chrono::seconds(1'700'000'000)};

// The end of the exponential bucket holding `value` (bucket n >= 1 starts at
// first * (ratio^n - 1) / (ratio - 1)), found by walking the buckets: what a
// VPA-style percentile answers for a histogram holding only `value`.
double bucketEnd(double value, double first, double ratio) {
  const auto start = [&](int n) { return first * (std::pow(ratio, n) - 1) / (ratio - 1); };
  int n = 0;
  while (start(n + 1) <= value) ++n;
  return start(n + 1);
}

// VPA's target on one bucket: millicores (or bytes) truncated, plus the 15 %
// margin truncated.
std::int64_t withVpaMargin(double amount) {
  const auto base = static_cast<std::int64_t>(amount);
  return base + static_cast<std::int64_t>(static_cast<double>(base) * 0.15);
}

double vpaCpuTarget(double cores) {
  return static_cast<double>(withVpaMargin(bucketEnd(cores, 0.01, 1.05) * 1000)) / 1000;
}

double vpaMemoryTarget(double bytes) {
  return std::ceil(static_cast<double>(withVpaMargin(bucketEnd(bytes, 1e7, 1.05))) / kMiB);
}

double autopilotCores(double cores) { return std::ceil(bucketEnd(cores, 0.001, 1.025) * 1000 - 1e-6) / 1000; }
double autopilotMib(double mib) { return std::ceil(bucketEnd(mib, 1, 1.025) - 1e-6); }

// Feeds one app's samples, every kStep, to a policy as the replay engine
// does. With `apply` a wish takes effect at the next sample (no redeploy
// delay); without, the reservation never changes.
class Feed {
 public:
  Feed(const PolicySpec& spec, Reservation initial, bool apply)
      : policy_(spec.make("/app", initial)), reserved_(initial), apply_(apply) {}

  Reservation step(double cpu, std::optional<double> mem_mib = std::nullopt, bool pending = false) {
    Observation o;
    o.at = at_;
    o.step = kStep;
    o.cpu_used_cores = cpu;
    o.mem_used_mib = mem_mib;
    o.reserved = reserved_;
    o.cpu_starved = cpu > reserved_.cpus;
    o.oom = mem_mib && reserved_.mem_mib && *mem_mib > *reserved_.mem_mib;
    const Reservation wish = policy_->observe(o, pending);
    at_ += kStep;
    ++steps_;
    if (apply_ && wish != reserved_) {
      reserved_ = wish;
      changed_at_.push_back(steps_ - 1);
    }
    return wish;
  }

  const SimPolicy& policy() const { return *policy_; }
  const Reservation& reserved() const { return reserved_; }
  // Indices (from 0) of the samples whose wish changed the reservation.
  const std::vector<int>& changedAt() const { return changed_at_; }

 private:
  std::unique_ptr<SimPolicy> policy_;
  Reservation reserved_;
  bool apply_;
  TimePoint at_ = kStart;
  int steps_ = 0;
  std::vector<int> changed_at_;
};

TEST(StaticBaselineTest, NeverChangesTheReservation) {
  const Reservation initial{2.0, 1024.0};
  Feed feed(staticPolicy(), initial, true);
  for (int i = 0; i < 600; ++i) {
    EXPECT_EQ(feed.step(i % 7 == 0 ? 5.0 : 0.01, i % 5 == 0 ? 4096.0 : 10.0), initial) << i;
  }
  EXPECT_EQ(staticPolicy().name, "static");
}

TEST(VpaBaselineTest, TargetOnConstantLoadIsBucketEndPlusMargin) {
  Feed feed(vpaPolicy(), {4.0, 8192.0}, false);
  std::optional<Reservation> wish;
  int i = 0;
  for (; i < 288 && !wish; ++i) {
    const Reservation w = feed.step(0.5, 1000.0);
    if (w != feed.reserved()) wish = w;
  }
  ASSERT_TRUE(wish) << "no eviction in a day";
  EXPECT_DOUBLE_EQ(wish->cpus, vpaCpuTarget(0.5));
  EXPECT_DOUBLE_EQ(vpaCpuTarget(0.5), 0.587);  // bucket [0.4773, 0.5111) cores: 511m + 76m
  EXPECT_DOUBLE_EQ(*wish->mem_mib, vpaMemoryTarget(1000 * kMiB));
  // Evicted before the 12 h lifetime rule could apply: the reservation left
  // the bounds once confidence had narrowed them.
  EXPECT_LT(i, 144);
  const auto rec = vpaRecommendation(feed.policy());
  ASSERT_TRUE(rec);
  EXPECT_TRUE(rec->upper_bound.cpus < 4.0 || *rec->upper_bound.mem_mib < 8192.0);
}

TEST(VpaBaselineTest, BoundsAreScaledByConfidence) {
  Feed feed(vpaPolicy(), {0.7, std::nullopt}, false);
  const int n = 72;  // 6 h of 5-minute samples
  for (int i = 0; i < n; ++i) feed.step(0.5);
  const auto rec = vpaRecommendation(feed.policy());
  ASSERT_TRUE(rec);
  // Each 5-minute sample stands for five one-minute samples: the history
  // spans from the first step's start to the last one-minute sample's start
  // (300 n - 60 s) and holds 5 n samples; confidence is the lesser, in days.
  const double confidence = std::min((300.0 * n - 60) / 86400, 5.0 * n / 1440);
  const auto millicores = static_cast<double>(withVpaMargin(bucketEnd(0.5, 0.01, 1.05) * 1000));
  EXPECT_DOUBLE_EQ(rec->target.cpus, millicores / 1000);
  EXPECT_DOUBLE_EQ(rec->upper_bound.cpus, std::trunc(millicores * (1 + 1 / confidence)) / 1000);
  EXPECT_DOUBLE_EQ(rec->lower_bound.cpus, std::trunc(millicores * std::pow(1 + 0.001 / confidence, -2)) / 1000);
  EXPECT_FALSE(rec->target.mem_mib);
}

TEST(VpaBaselineTest, LowConfidenceKeepsBoundsWideAndFloorsApply) {
  Feed feed(vpaPolicy(), {0.7, 512.0}, false);
  feed.step(0.001, 20.0);
  auto rec = vpaRecommendation(feed.policy());
  ASSERT_TRUE(rec);
  // One step: five one-minute samples spanning 4 minutes. The usage is in
  // the first bucket, [0, 10m): 10m, + 15 % = 11m.
  const double confidence = 240.0 / 86400;
  EXPECT_DOUBLE_EQ(rec->upper_bound.cpus, std::trunc(11 * (1 + 1 / confidence)) / 1000);
  EXPECT_DOUBLE_EQ(rec->lower_bound.cpus, 0.025);  // the pod minimum, 25 millicores
  EXPECT_DOUBLE_EQ(rec->target.cpus, 0.025);
  EXPECT_DOUBLE_EQ(*rec->target.mem_mib, 250.0);  // the pod minimum, 250 MiB

  // With one sample per step the history has no span yet: confidence 0, an
  // upper bound at VPA's largest amount (1e14 millicores).
  VpaOptions one_sample_per_step;
  one_sample_per_step.metrics_interval = kStep;
  Feed sparse(vpaPolicy(one_sample_per_step), {0.7, 512.0}, false);
  EXPECT_EQ(sparse.step(0.001, 20.0), sparse.reserved());
  rec = vpaRecommendation(sparse.policy());
  EXPECT_DOUBLE_EQ(rec->upper_bound.cpus, 1e11);
  EXPECT_DOUBLE_EQ(rec->lower_bound.cpus, 0.025);
}

TEST(VpaBaselineTest, InsideBoundsUpdatesOnlyAfterTwelveHoursWhenTenPercentOff) {
  Feed feed(vpaPolicy(), {0.7, std::nullopt}, false);  // 16 % above the 0.587 target, inside the bounds
  for (int i = 0; i < 288; ++i) {
    const Reservation wish = feed.step(0.5);
    // The pod started with the first step (5 minutes before the first
    // sample); the updater waits until it has lived 12 h.
    if (i < 143) {
      ASSERT_EQ(wish, feed.reserved()) << i;
    } else {
      EXPECT_DOUBLE_EQ(wish.cpus, 0.587) << i;
      break;
    }
  }

  Feed close(vpaPolicy(), {0.62, std::nullopt}, false);  // 5.3 % off: never worth an eviction
  for (int i = 0; i < 288; ++i) ASSERT_EQ(close.step(0.5), close.reserved()) << i;
}

TEST(VpaBaselineTest, OomRecordsBumpedPeakAndEvictsAtOnce) {
  Feed feed(vpaPolicy(), {1.0, 1100.0}, false);
  const Reservation wish = feed.step(0.5, 1200.0);  // killed in the pod's first minutes: a quick OOM
  // RecordOOM: m = max(request 1100 MiB, peak 1200 MiB);
  // sample = max(m + 100 MiB, m * 1.2).
  const double peak = 1200 * kMiB;
  const double oom_sample = std::trunc(std::max(peak + 100 * kMiB, peak * 1.2));
  EXPECT_DOUBLE_EQ(*wish.mem_mib, vpaMemoryTarget(oom_sample));
  EXPECT_DOUBLE_EQ(wish.cpus, vpaCpuTarget(0.5));
}

TEST(VpaBaselineTest, NoWishWhileADeploymentIsPending) {
  Feed feed(vpaPolicy(), {4.0, 8192.0}, false);
  for (int i = 0; i < 288; ++i) ASSERT_EQ(feed.step(0.5, 1000.0, true), feed.reserved()) << i;
  EXPECT_TRUE(vpaRecommendation(feed.policy()));
  EXPECT_FALSE(vpaRecommendation(*staticPolicy().make("/app", {1.0, std::nullopt})));
}

TEST(VpaBaselineTest, HalfLifeOptionChangesTheTarget) {
  const auto target_after_load_drop = [](const VpaOptions& options) {
    Feed feed(vpaPolicy(options), {2.0, std::nullopt}, false);
    for (int i = 0; i < 144; ++i) feed.step(1.0);
    for (int i = 0; i < 144; ++i) feed.step(0.3);
    return vpaRecommendation(feed.policy())->target.cpus;
  };
  // A day's half-life remembers the busy half day; an hour's forgets it.
  EXPECT_DOUBLE_EQ(target_after_load_drop({}), vpaCpuTarget(1.0));
  VpaOptions short_memory;
  short_memory.cpu_half_life = hours(1);
  EXPECT_DOUBLE_EQ(target_after_load_drop(short_memory), vpaCpuTarget(0.3));
}

TEST(AutopilotBaselineTest, RisesAtOnceOnStepUp) {
  Feed feed(autopilotPolicy(), {1.0, std::nullopt}, true);
  for (int i = 0; i < 72; ++i) feed.step(0.5);
  EXPECT_DOUBLE_EQ(feed.reserved().cpus, autopilotCores(0.5));
  // One sample at 2 cores carries 6 % of the load-adjusted weight after 6 h at
  // 0.5: the 95th percentile is there at once.
  EXPECT_DOUBLE_EQ(feed.step(2.0).cpus, autopilotCores(2.0));
}

TEST(AutopilotBaselineTest, PeakFallsOnlyAfterPeakWindowAndStabilization) {
  AutopilotOptions options;
  options.cpu.statistic = AutopilotStatistic::kPeak;
  options.peak_window = hours(1);
  options.stabilization = hours(2);
  Feed feed(autopilotPolicy(options), {1.0, std::nullopt}, true);
  for (int i = 0; i < 36; ++i) feed.step(2.0);
  for (int i = 0; i < 72; ++i) feed.step(0.5);
  // Up once min_history (1 h from the first step's start) has passed; down
  // when the last busy sample (index 35) has left the 1 h peak window (index
  // 47) and that last busy recommendation (index 46) the 2 h stabilization
  // (index 70).
  EXPECT_EQ(feed.changedAt(), (std::vector<int>{11, 70}));
  EXPECT_DOUBLE_EQ(feed.reserved().cpus, autopilotCores(0.5));
}

TEST(AutopilotBaselineTest, PercentileIgnoresARareSpikeThatPeakKeeps) {
  const auto after_spike = [](const AutopilotOptions& options) {
    Feed feed(autopilotPolicy(options), {1.0, std::nullopt}, false);
    Reservation wish;
    for (int i = 0; i < 96; ++i) wish = feed.step(i == 48 ? 1.0 : 0.5);
    return wish.cpus;
  };
  EXPECT_DOUBLE_EQ(after_spike({}), autopilotCores(0.5));
  AutopilotOptions peak;
  peak.cpu.statistic = AutopilotStatistic::kPeak;
  EXPECT_DOUBLE_EQ(after_spike(peak), autopilotCores(1.0));
  AutopilotOptions average;
  average.cpu.statistic = AutopilotStatistic::kWeightedAverage;
  const double mean = after_spike(average);
  EXPECT_GT(mean, 0.5);
  EXPECT_LT(mean, 0.52);
}

TEST(AutopilotBaselineTest, HalfLifeOptionChangesTheResult) {
  const auto after_load_drop = [](const AutopilotOptions& options) {
    Feed feed(autopilotPolicy(options), {2.0, std::nullopt}, false);
    for (int i = 0; i < 144; ++i) feed.step(1.0);
    Reservation wish;
    for (int i = 0; i < 144; ++i) wish = feed.step(0.3);
    return wish.cpus;
  };
  EXPECT_DOUBLE_EQ(after_load_drop({}), autopilotCores(1.0));
  AutopilotOptions short_memory;
  short_memory.cpu.half_life = hours(1);
  EXPECT_DOUBLE_EQ(after_load_drop(short_memory), autopilotCores(0.3));
}

TEST(AutopilotBaselineTest, MemoryFollowsItsPeakAndBumpsAfterAnOom) {
  Feed feed(autopilotPolicy(), {1.0, 4096.0}, true);
  for (int i = 0; i < 24; ++i) feed.step(0.5, 1000.0);
  const double sized = autopilotMib(1000);
  EXPECT_DOUBLE_EQ(*feed.reserved().mem_mib, sized);
  // 1200 MiB is over the limit: the OOM adds 1.2 x 1200 MiB as the window's peak.
  EXPECT_DOUBLE_EQ(*feed.step(0.5, 1200.0).mem_mib, autopilotMib(1.2 * 1200));
}

TEST(AutopilotBaselineTest, WaitsForMinHistory) {
  Feed feed(autopilotPolicy(), {4.0, std::nullopt}, true);
  for (int i = 0; i < 24; ++i) feed.step(0.5);
  EXPECT_EQ(feed.changedAt(), (std::vector<int>{11}));
}

// The band's moving average, computed here from its definition: after each
// 5-minute step the previous average keeps exp(-5 min / window).
struct Ewma {
  double keep;
  std::optional<double> value;
  double update(double x) {
    value = value ? keep * *value + (1 - keep) * x : x;
    return *value;
  }
};

TEST(BandBaselineTest, KeepsTheReservationWhileTheAverageIsInTheBand) {
  Feed feed(bandPolicy(), {1.0, 2048.0}, true);
  for (int i = 0; i < 288; ++i) feed.step(i % 2 == 0 ? 0.5 : 0.7, i % 2 == 0 ? 1600.0 : 2000.0);
  EXPECT_TRUE(feed.changedAt().empty());
}

TEST(BandBaselineTest, ResizesToAveragePlusBandMiddleOnlyWhenTheAverageLeaves) {
  std::vector<double> load(12, 0.6);
  load.push_back(1.2);  // one sample out of band: the average stays in
  load.insert(load.end(), 6, 0.6);
  load.insert(load.end(), 12, 1.2);  // sustained: the average follows
  Ewma ewma{std::exp(-1.0), std::nullopt};
  int expected_at = -1;
  double expected_cpus = 0;
  for (int i = 0; i < static_cast<int>(load.size()) && expected_at < 0; ++i) {
    const double avg = ewma.update(load[i]);
    const double lying = 1.0 - avg;
    if (lying < -0.1 || lying > 0.6) {
      expected_at = i;
      expected_cpus = std::ceil((avg + 0.25) * 1000 - 1e-6) / 1000;
    }
  }
  ASSERT_EQ(expected_at, 20);  // the second sustained sample

  Feed feed(bandPolicy(), {1.0, std::nullopt}, true);
  for (double cpu : load) feed.step(cpu);
  ASSERT_FALSE(feed.changedAt().empty());
  EXPECT_EQ(feed.changedAt().front(), expected_at);
  Feed replay(bandPolicy(), {1.0, std::nullopt}, false);
  Reservation wish;
  for (int i = 0; i <= expected_at; ++i) wish = replay.step(load[i]);
  EXPECT_DOUBLE_EQ(wish.cpus, expected_cpus);
  EXPECT_FALSE(wish.mem_mib);
}

TEST(BandBaselineTest, SizesMemoryWithItsOwnBandInMib) {
  Feed feed(bandPolicy(), {1.0, 4096.0}, false);
  const Reservation wish = feed.step(0.6, 1000.0);  // lying 3096 MiB > 512
  EXPECT_DOUBLE_EQ(wish.cpus, 1.0);                 // lying 0.4 cores: in band
  EXPECT_DOUBLE_EQ(*wish.mem_mib, 1000.0 + (512 - 64) / 2.0);
}

TEST(BandBaselineTest, WindowAndBandOptionsAreUsed) {
  const auto first_resize = [](const BandOptions& options) {
    Feed feed(bandPolicy(options), {1.0, std::nullopt}, true);
    for (int i = 0; i < 12; ++i) feed.step(0.6);
    for (int i = 0; i < 100; ++i) feed.step(1.2);
    return feed.changedAt().empty() ? -1 : feed.changedAt().front();
  };
  EXPECT_EQ(first_resize({}), 13);
  BandOptions slow;
  slow.window = hours(1);
  EXPECT_GT(first_resize(slow), 13);
  BandOptions wide;
  wide.cpu_low_cores = -0.5;
  EXPECT_EQ(first_resize(wide), -1);
}

TEST(BaselinePoliciesTest, AllFourLeaveMemoryAloneWithoutASignal) {
  const auto specs = baselinePolicies();
  std::vector<std::string> names;
  for (const auto& spec : specs) {
    names.push_back(spec.name);
    Feed feed(spec, {1.0, std::nullopt}, true);
    for (int i = 0; i < 576; ++i) {
      const Reservation wish = feed.step(0.2 + 0.1 * (i % 12) + (i % 100 == 0 ? 2.0 : 0.0));
      ASSERT_FALSE(wish.mem_mib) << spec.name << " " << i;
      ASSERT_GT(wish.cpus, 0) << spec.name << " " << i;
    }
  }
  EXPECT_EQ(names, (std::vector<std::string>{"static", "vpa", "autopilot", "band"}));
}

}  // namespace
}  // namespace rightsize::simulate
