#include "rightsize/sizing/usage_history.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace rightsize::sizing {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

AppUsage figures(double avg, double p95, std::optional<double> mem = std::nullopt,
                 std::optional<double> peak = std::nullopt) {
  AppUsage usage;
  usage.tasks = 1;
  usage.cpu_used_avg = avg;
  usage.cpu_used_p95 = p95;
  usage.mem_used_mib = mem;
  usage.mem_peak_mib = peak;
  return usage;
}

const TimePoint kStart = fromUnixSeconds(1'700'000'000);

// An hour of five-minute buckets alone: no days of memory peaks, no CPU
// histogram.
HistoryOptions anHourOfBuckets() {
  return {.bucket = minutes(5),
          .span = hours(1),
          .mem_span = hours(1),
          .mean_span = minutes(30),
          .mem_days = 0,
          .cpu_half_life = Duration::zero()};
}

TEST(UsageHistoryTest, EmptyGivesTheLatestFigures) {
  UsageHistory history;
  const AppUsage latest = figures(0.5, 0.7, 100, 120);
  const AppUsage out = history.summarize(kStart, latest);
  EXPECT_EQ(out.cpu_used_avg, 0.5);
  EXPECT_EQ(out.cpu_used_p95, 0.7);
  EXPECT_FALSE(out.history);
}

// An app known only from its lag (its tasks restarted: no rate yet) has no
// CPU figure now: the history's mean stands.
TEST(UsageHistoryTest, AnAppKnownOnlyFromItsLagGetsTheHistorysMean) {
  UsageHistory history;
  history.add(kStart, figures(0.4, 0.6, 100, 120));
  history.add(kStart + minutes(1), figures(0.6, 0.8, 100, 120));
  AppUsage lag_only;
  lag_only.lag_growing = true;
  const AppUsage out = history.summarize(kStart + minutes(2), lag_only);
  ASSERT_TRUE(out.cpu_used_avg);
  EXPECT_DOUBLE_EQ(*out.cpu_used_avg, 0.5);
  EXPECT_TRUE(out.lag_growing);
}

TEST(UsageHistoryTest, AveragesOverTheMeanSpanAndTakesP95AndPeakOverTheSpan) {
  UsageHistory history;  // 5m buckets, 6h span, 30m mean span
  // Two hours of one sample a minute: 0.2 cores average, p95 0.3, with one
  // 5-minute burst to p95 2.0 an hour in; memory 100 MiB, peaking at 900 once.
  TimePoint at = kStart;
  for (int minute = 0; minute < 120; ++minute, at += minutes(1)) {
    const bool burst = minute >= 60 && minute < 65;
    history.add(at, figures(0.2, burst ? 2.0 : 0.3, 100, minute == 30 ? 900 : 110));
  }
  const TimePoint now = at - minutes(1);
  const AppUsage out = history.summarize(now, figures(0.1, 0.15, 50, 60));  // a lull now
  EXPECT_NEAR(*out.cpu_used_avg, 0.2, 1e-9);                                // the mean: a lull does not shrink
  // 24 buckets, one with 2.0: the nearest-rank p95 (the 23rd) is 0.3.
  EXPECT_NEAR(*out.cpu_used_p95, 0.3, 1e-9);
  EXPECT_NEAR(*out.mem_used_mib, 100, 1e-9);
  EXPECT_NEAR(*out.mem_peak_mib, 900, 1e-9);
  EXPECT_EQ(*out.history, minutes(119));
  EXPECT_EQ(out.tasks, 1);
  // Busier now than the mean: that shows at once.
  const AppUsage busy = history.summarize(now, figures(0.9, 1.0, 400, 420));
  EXPECT_NEAR(*busy.cpu_used_avg, 0.9, 1e-9);
  EXPECT_NEAR(*busy.mem_used_mib, 400, 1e-9);

  // Two bursting buckets of 24 are above the 95th percentile no more.
  for (int minute = 0; minute < 5; ++minute, at += minutes(1)) history.add(at, figures(0.2, 2.0, 100, 110));
  EXPECT_NEAR(*history.summarize(at, figures(0.2, 0.3)).cpu_used_p95, 2.0, 1e-9);
}

// An app's labels choose the percentiles: of the CPU p95s (99th: the one
// bursting bucket of 24 counts) and of the memory peaks (90th: the one peak
// of 24 buckets does not).
TEST(UsageHistoryTest, PercentilesAreTheAppsChoice) {
  UsageHistory history;
  TimePoint at = kStart;
  for (int minute = 0; minute < 120; ++minute, at += minutes(1)) {
    const bool burst = minute >= 60 && minute < 65;
    history.add(at, figures(0.2, burst ? 2.0 : 0.3, 100, minute == 30 ? 900 : 110));
  }
  const TimePoint now = at - minutes(1);
  const AppUsage defaults = history.summarize(now, figures(0.2, 0.3, 100, 110));
  EXPECT_NEAR(*defaults.cpu_used_p95, 0.3, 1e-9);  // 1 of 24 buckets: above the 95th (the 23rd)
  EXPECT_NEAR(*defaults.mem_peak_mib, 900, 1e-9);
  AppSettings labelled;
  labelled.cpu_percentile = 0.99;
  labelled.mem_percentile = 0.9;
  const AppUsage chosen = history.summarize(now, figures(0.2, 0.3, 100, 110), percentilesOf(labelled));
  EXPECT_NEAR(*chosen.cpu_used_p95, 2.0, 1e-9);
  EXPECT_NEAR(*chosen.mem_peak_mib, 110, 1e-9);
  // The lowest percentile still never goes below the mean now.
  labelled.cpu_percentile = 0.5;
  EXPECT_NEAR(*history.summarize(now, figures(0.9, 0.95), percentilesOf(labelled)).cpu_used_p95, 0.9, 1e-9);
}

// The summary's percentiles and peaks are those of the buckets within each
// span, whatever order their figures came in: checked at every sample of two
// days of figures that rise, fall and jump (memory peaks that rise in a
// bucket, buckets without memory figures, buckets leaving the spans), for
// the default percentiles and for an app's own, against the buckets as this
// test keeps them itself. And a history decoded from its checkpoint sums up
// the same from there on.
TEST(UsageHistoryTest, PercentilesAndPeaksAreThoseOfTheBucketsInEachSpan) {
  const HistoryOptions buckets_only{
      .mem_days = 0, .cpu_half_life = Duration::zero(), .profile_half_life = Duration::zero()};
  struct Seen {
    TimePoint start, last;
    double p95 = 0, peak = 0;
    bool mem = false;
  };
  const auto nearest = [](std::vector<double> values, double share) {
    std::sort(values.begin(), values.end());
    const auto rank = static_cast<std::size_t>(std::max(std::ceil(share * static_cast<double>(values.size())), 1.0));
    return values[rank - 1];
  };
  AppSettings labelled;
  labelled.cpu_percentile = 0.5;  // more values than are kept: sorted
  labelled.mem_percentile = 0.9;
  for (const Percentiles& percentiles : {Percentiles{}, percentilesOf(labelled)}) {
    UsageHistory history(buckets_only);
    std::optional<UsageHistory> decoded;
    std::vector<Seen> seen;
    std::uint64_t state = 12345;
    const auto next = [&state](int below) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      return static_cast<int>((state >> 33) % static_cast<std::uint64_t>(below));
    };
    TimePoint at = kStart;
    for (int sample = 0; sample < 2 * 24 * 30; ++sample, at += minutes(2)) {
      // Slow waves with noise, now and then a jump; memory missing at times.
      const double p95 = 1 + 0.5 * std::sin(sample / 40.0) + 0.01 * next(50) + (next(30) == 0 ? 3 : 0);
      const bool has_mem = next(10) != 0;
      const double peak = 500 + 200 * std::sin(sample / 90.0) + next(100) + (next(40) == 0 ? 2000 : 0);
      AppUsage usage = figures(0.0, p95);
      if (has_mem) {
        usage.mem_used_mib = 0.0;
        usage.mem_peak_mib = peak;
      }
      history.add(at, usage);
      if (decoded) decoded->add(at, usage);
      if (seen.empty() || at - seen.back().start >= buckets_only.bucket) seen.push_back({at, at});
      Seen& b = seen.back();
      b.last = at;
      b.p95 = std::max(b.p95, p95);
      if (has_mem) {
        b.peak = std::max(b.peak, peak);
        b.mem = true;
      }
      std::vector<double> p95s, peaks;
      for (const Seen& one : seen) {
        if (at - one.last <= buckets_only.span) p95s.push_back(one.p95);
        if (one.mem && at - one.last <= buckets_only.mem_span) peaks.push_back(one.peak);
      }
      const AppUsage latest = figures(0.0, 0.0, 0.0, 0.0);
      const AppUsage out = history.summarize(at, latest, percentiles);
      ASSERT_TRUE(out.cpu_used_p95 && out.cpu_used_peak) << sample;
      EXPECT_EQ(*out.cpu_used_p95, nearest(p95s, percentiles.cpu)) << sample;
      EXPECT_EQ(*out.cpu_used_peak, *std::max_element(p95s.begin(), p95s.end())) << sample;
      if (!peaks.empty()) {
        ASSERT_TRUE(out.mem_peak_mib) << sample;
        EXPECT_EQ(*out.mem_peak_mib, nearest(peaks, percentiles.mem)) << sample;
      }
      if (decoded) {
        const AppUsage again = decoded->summarize(at, latest, percentiles);
        EXPECT_EQ(again.cpu_used_p95, out.cpu_used_p95) << sample;
        EXPECT_EQ(again.mem_peak_mib, out.mem_peak_mib) << sample;
      }
      if (sample == 24 * 30) {
        auto restored = UsageHistory::decode(history.encode(), buckets_only);
        ASSERT_TRUE(restored) << restored.error().message();
        decoded = std::move(*restored);
      }
    }
  }
}

TEST(UsageHistoryTest, ForgetsWhatIsOlderThanItsSpan) {
  UsageHistory history(anHourOfBuckets());
  history.add(kStart, figures(3.0, 4.0, 100, 5000));
  TimePoint at = kStart + minutes(5);
  for (; at < kStart + hours(2); at += minutes(5)) history.add(at, figures(0.1, 0.2, 100, 110));
  const AppUsage out = history.summarize(at, figures(0.1, 0.2, 100, 110));
  EXPECT_NEAR(*out.cpu_used_p95, 0.2, 1e-9);
  EXPECT_NEAR(*out.mem_peak_mib, 110, 1e-9);
  EXPECT_LE(*out.history, hours(1) + minutes(5));
}

// Samples a few seconds later than every five minutes (as agents' cycles
// drift): the history kept still reaches its span, so that a --min-history
// as long as it (allowed) is met. It used to stop a step short: nothing was
// ever shrunk.
TEST(UsageHistoryTest, TheHistoryKeptReachesItsSpan) {
  UsageHistory history(anHourOfBuckets());
  for (TimePoint at = kStart; at < kStart + hours(3); at += seconds(301)) {
    history.add(at, figures(0.1, 0.2, 100, 110));
    const Duration covered = *history.summarize(at, figures(0.1, 0.2, 100, 110)).history;
    if (at - kStart < hours(1)) {
      EXPECT_EQ(covered, at - kStart);
    } else {
      EXPECT_GE(covered, hours(1)) << toSeconds(at - kStart) << " s in";
      EXPECT_LT(covered, hours(1) + seconds(301)) << toSeconds(at - kStart) << " s in";
    }
  }
}

TEST(UsageHistoryTest, RemembersTheMemoryPeakLongerThanTheCpuP95) {
  HistoryOptions buckets_only;  // CPU over 6h, memory over 12h
  buckets_only.mem_days = 0;
  UsageHistory history(buckets_only);
  // A nightly job: 4 cores p95 and 3,000 MiB once, then 10 quiet hours.
  history.add(kStart, figures(2.0, 4.0, 2500, 3000));
  TimePoint at = kStart + minutes(5);
  for (; at <= kStart + hours(10); at += minutes(5)) history.add(at, figures(0.1, 0.2, 100, 110));
  const AppUsage out = history.summarize(at, figures(0.1, 0.2, 100, 110));
  EXPECT_NEAR(*out.cpu_used_p95, 0.2, 1e-9);   // the CPU burst is older than 6h
  EXPECT_NEAR(*out.mem_peak_mib, 3000, 1e-9);  // the memory it needed is not
  EXPECT_NEAR(*out.mem_used_mib, 100, 1e-9);   // the mean stays recent
  for (; at <= kStart + hours(13); at += minutes(5)) history.add(at, figures(0.1, 0.2, 100, 110));
  EXPECT_NEAR(*history.summarize(at, figures(0.1, 0.2, 100, 110)).mem_peak_mib, 110, 1e-9);
}

// Memory remembers the peak of each day for a week (VPA: 8 days of daily
// peaks), beyond the 12 hours of 5-minute buckets, and forgets it after.
TEST(UsageHistoryTest, MemoryRemembersAWeekOfDailyPeaks) {
  UsageHistory history;
  // A weekly job at 3,000 MiB for 10 minutes, then quiet days.
  TimePoint at = kStart;
  for (int minute = 0; minute < 10; ++minute, at += minutes(1)) history.add(at, figures(1.0, 1.2, 2900, 3000));
  const auto quiet_until = [&](TimePoint until) {
    for (; at <= until; at += minutes(5)) history.add(at, figures(0.1, 0.2, 100, 110));
  };
  quiet_until(kStart + std::chrono::days(6));
  const AppUsage weekly = history.summarize(at, figures(0.1, 0.2, 100, 110));
  EXPECT_NEAR(*weekly.mem_peak_mib, 3000, 1e-9);
  EXPECT_EQ(weekly.mem_peak_days, 3000);  // the days set it, not the recent hours: the reason says so
  // A label's percentile below 100 leaves the rare peak out.
  AppSettings labelled;
  labelled.mem_percentile = 0.99;
  EXPECT_NEAR(*history.summarize(at, figures(0.1, 0.2, 100, 110), percentilesOf(labelled)).mem_peak_mib, 110, 1e-9);
  // Eight days on, the day of the job is older than the week kept.
  quiet_until(kStart + std::chrono::days(8) + hours(1));
  const AppUsage later = history.summarize(at, figures(0.1, 0.2, 100, 110));
  EXPECT_NEAR(*later.mem_peak_mib, 110, 1e-9);
  EXPECT_FALSE(later.mem_peak_days);
  // And it costs a line a day: 12 h of buckets, 8 days, 24 hours of the
  // day's profile, one histogram.
  const std::string text = history.encode();
  EXPECT_EQ(static_cast<int>(std::count(text.begin(), text.end(), '\n')), 1 + 145 + 8 + 24 + 1);
}

// CPU shrinks slowly: a decaying histogram of the buckets' p95s (weight
// halving every 24 h) keeps days of use in view, grown at once but lowered
// as the old use's weight fades.
TEST(UsageHistoryTest, CpuFromADecayingHistogramGrowsFastAndShrinksSlowly) {
  UsageHistory history;
  TimePoint at = kStart;
  // Two days at 2 cores.
  for (; at < kStart + hours(48); at += minutes(5)) history.add(at, figures(1.8, 2.0, 100, 110));
  // Then 0.5 cores: the recent 6 hours say 0.5, the days 2.
  const auto quiet_for = [&](Duration d) {
    const TimePoint until = at + d;
    for (; at < until; at += minutes(5)) history.add(at, figures(0.4, 0.5, 100, 110));
    return *history.summarize(at, figures(0.4, 0.5, 100, 110)).cpu_used_p95;
  };
  EXPECT_GE(quiet_for(hours(12)), 2.0 / 1.05);  // a bucket's lower edge: at most 5 % below
  const AppUsage held = history.summarize(at, figures(0.4, 0.5, 100, 110));
  ASSERT_TRUE(held.cpu_p95_days);  // the days set it: the reason says so
  EXPECT_EQ(*held.cpu_p95_days, *held.cpu_used_p95);
  EXPECT_GE(quiet_for(hours(36)), 2.0 / 1.05);  // two days on, the old days still weigh more than 5 %
  // Weights halve daily: some days later the 95th percentile is the new use.
  const double later = quiet_for(hours(24 * 4));
  EXPECT_GE(later, 0.5);
  EXPECT_LT(later, 0.6);
  EXPECT_FALSE(history.summarize(at, figures(0.4, 0.5, 100, 110)).cpu_p95_days);
  // A rise shows at once (through the latest average).
  history.add(at, figures(3.0, 3.5, 100, 110));
  const AppUsage risen = history.summarize(at, figures(3.0, 3.5, 100, 110));
  EXPECT_NEAR(*risen.cpu_used_avg, 3.0, 1e-9);
  EXPECT_GE(*risen.cpu_used_p95, 3.0);
  // Without a half-life there is no histogram: the recent 6 hours only.
  HistoryOptions no_days;
  no_days.cpu_half_life = Duration::zero();
  UsageHistory recent(no_days);
  at = kStart;
  for (; at < kStart + hours(48); at += minutes(5)) recent.add(at, figures(1.8, 2.0, 100, 110));
  for (; at < kStart + hours(60); at += minutes(5)) recent.add(at, figures(0.4, 0.5, 100, 110));
  EXPECT_NEAR(*recent.summarize(at, figures(0.4, 0.5, 100, 110)).cpu_used_p95, 0.5, 1e-9);
}

// The time of day: an app at 0.2 cores but for 2 cores from 09:00 to 10:00
// UTC every day. Seen once, the peak floors a shrink over the next day; seen
// on two days, it is also grown ahead of (within the hour before it); seen
// on three, use far below what an hour expects is an anomaly.
TEST(UsageHistoryTest, TheTimeOfDayForecastsADailyPeakAndFlagsACollapse) {
  UsageHistory history;
  const TimePoint midnight = fromUnixSeconds(1'699'920'000);  // 2023-11-14 00:00 UTC
  TimePoint at = midnight;
  const auto usedAt = [&](TimePoint t) {
    const auto hour =
        std::chrono::duration_cast<std::chrono::hours>(t - std::chrono::floor<std::chrono::days>(t)).count();
    return hour == 9 ? 2.0 : 0.2;
  };
  const auto run_until = [&](TimePoint until) {
    for (; at < until; at += minutes(5)) history.add(at, figures(usedAt(at), usedAt(at) * 1.1, 100, 110));
  };
  // A day and three hours: the 09:00 peak, seen once, is the next day's
  // (a shrink holds through it), but nothing is grown ahead of it yet.
  run_until(midnight + hours(24 + 3));
  AppUsage now = history.summarize(at, figures(0.2, 0.22));
  ASSERT_TRUE(now.cpu_forecast_peak);
  EXPECT_NEAR(*now.cpu_forecast_peak, 2.2, 1e-9);
  EXPECT_EQ(*now.cpu_forecast_at, midnight + hours(24 + 9));
  run_until(midnight + hours(24 + 8) + minutes(15));
  EXPECT_NEAR(*history.summarize(at, figures(0.2, 0.22)).cpu_forecast_soon, 0.22, 1e-9);
  // An app labelled a lower percentile accepts some peaks throttled: for
  // it, only the hours seen twice, quiet ones, are the next day's.
  now = history.summarize(at, figures(0.2, 0.22), Percentiles{0.5, 1});
  ASSERT_TRUE(now.cpu_forecast_peak);
  EXPECT_NEAR(*now.cpu_forecast_peak, 0.22, 1e-9);
  // Two days: the 09:00 peak is forecast at 03:00 for 09:00, and from 08:00
  // on as coming within the hour.
  run_until(midnight + hours(48 + 3));
  now = history.summarize(at, figures(0.2, 0.22));
  ASSERT_TRUE(now.cpu_forecast_peak);
  EXPECT_NEAR(*now.cpu_forecast_peak, 2.2, 1e-9);
  EXPECT_EQ(*now.cpu_forecast_at, midnight + hours(48 + 9));
  EXPECT_NEAR(*now.cpu_forecast_soon, 0.22, 1e-9);  // 03:00-04:00 holds 0.2 x 1.1
  run_until(midnight + hours(48 + 8) + minutes(15));
  now = history.summarize(at, figures(0.2, 0.22));
  EXPECT_NEAR(*now.cpu_forecast_soon, 2.2, 1e-9);
  EXPECT_EQ(*now.cpu_forecast_soon_at, midnight + hours(48 + 9));
  EXPECT_FALSE(now.anomaly);  // only two days of the hour
  // Day four at 09:30, use collapsed to 0.1 (an upstream outage): far below
  // the 2 cores the hour expects.
  run_until(midnight + hours(72 + 9));
  for (; at < midnight + hours(72 + 9) + minutes(30); at += minutes(5)) history.add(at, figures(0.1, 0.11, 100, 110));
  now = history.summarize(at, figures(0.1, 0.11));
  ASSERT_TRUE(now.cpu_expected);
  EXPECT_NEAR(*now.cpu_expected, 2.0, 1e-9);
  ASSERT_TRUE(now.anomaly_score);
  EXPECT_GT(*now.anomaly_score, 3);
  EXPECT_TRUE(now.anomaly);
  // Use back to what is expected is still held for the mean's span (30
  // min: the mean sized on lags behind), then no anomaly.
  EXPECT_TRUE(history.summarize(at, figures(1.9, 2.1)).anomaly);
  run_until(midnight + hours(72 + 10) + minutes(10));
  EXPECT_FALSE(history.summarize(at, figures(0.2, 0.22)).anomaly);
  // The profile reads back from the checkpoint.
  auto decoded = UsageHistory::decode(history.encode(), HistoryOptions{});
  ASSERT_TRUE(decoded) << decoded.error().message();
  now = history.summarize(at, figures(0.1, 0.11));
  const AppUsage again = decoded->summarize(at, figures(0.1, 0.11));
  ASSERT_TRUE(now.anomaly_score && now.cpu_forecast_peak);
  EXPECT_EQ(again.anomaly_score, now.anomaly_score);
  EXPECT_EQ(again.cpu_forecast_peak, now.cpu_forecast_peak);
  EXPECT_EQ(again.cpu_forecast_at, now.cpu_forecast_at);
}

// A checkpoint whose histogram reference is years before its figures (a
// sizer restored after a long stop) is re-based, not overflowed: the old
// weights fade to nothing and the new figures count.
TEST(UsageHistoryTest, AnOldHistogramReferenceIsRebasedNotOverflowed) {
  auto history = UsageHistory::decode("v2\ncpu 1000000000000000000 80:5\n", HistoryOptions{});
  ASSERT_TRUE(history) << history.error().message();
  TimePoint at = kStart;
  for (int minute = 0; minute < 30; ++minute, at += minutes(1)) history->add(at, figures(0.4, 0.5, 100, 110));
  const std::string text = history->encode();
  EXPECT_EQ(text.find("inf"), std::string::npos) << text;
  EXPECT_EQ(text.find("nan"), std::string::npos) << text;
  EXPECT_EQ(text.find(" 80:"), std::string::npos) << text;  // 0.01 x 1.05^79 cores, 31 years ago: gone
  EXPECT_TRUE(UsageHistory::decode(text, HistoryOptions{})) << text;
  EXPECT_NEAR(*history->summarize(at, figures(0.4, 0.5, 100, 110)).cpu_used_p95, 0.5, 1e-9);
}

TEST(UsageHistoryTest, IgnoresFiguresWithoutCpuAndStartsOverWhenTheClockStepsBack) {
  UsageHistory history;
  AppUsage none;
  history.add(kStart, none);
  EXPECT_TRUE(history.empty());
  history.add(kStart + seconds(60), figures(0.5, 3.0));
  // 30 s older than the last: the clock stepped back a little (an NTP
  // step). Those figures are left out; the history is kept.
  history.add(kStart + seconds(30), figures(0.5, 0.6));
  AppUsage out = history.summarize(kStart + seconds(90), figures(0.5, 0.6));
  EXPECT_NEAR(*out.cpu_used_p95, 3.0, 1e-9);
  EXPECT_EQ(*out.history, seconds(90) - seconds(60));
  // An hour back: the history's times mean nothing, it starts over.
  history.add(kStart - hours(1), figures(0.5, 0.6));
  out = history.summarize(kStart - hours(1), figures(0.5, 0.6));
  EXPECT_NEAR(*out.cpu_used_p95, 0.6, 1e-9);
  EXPECT_EQ(*out.history, Duration::zero());
}

TEST(UsageHistoryTest, DecodedFromItsEncodingItSummarizesTheSame) {
  UsageHistory history;
  TimePoint at = kStart;
  for (int minute = 0; minute < 90; ++minute, at += minutes(1)) {
    history.add(at, figures(0.1 + 0.013 * (minute % 7), 0.3 + 0.1 * (minute % 5), 100.5 + minute, 150.25 + minute));
  }
  const std::string text = history.encode();
  auto decoded = UsageHistory::decode(text, HistoryOptions{});
  ASSERT_TRUE(decoded) << decoded.error().message();
  EXPECT_EQ(decoded->encode(), text);
  EXPECT_EQ(decoded->oldest(), kStart);
  const AppUsage latest = figures(0.05, 0.06, 90, 95);
  const AppUsage a = history.summarize(at, latest);
  const AppUsage b = decoded->summarize(at, latest);
  EXPECT_EQ(a.cpu_used_avg, b.cpu_used_avg);  // exactly: the numbers read back as the same doubles
  EXPECT_EQ(a.cpu_used_p95, b.cpu_used_p95);
  EXPECT_EQ(a.mem_used_mib, b.mem_used_mib);
  EXPECT_EQ(a.mem_peak_mib, b.mem_peak_mib);
  EXPECT_EQ(a.history, b.history);
  EXPECT_EQ(UsageHistory().encode(), "v2\n");
  EXPECT_TRUE(UsageHistory::decode("v2\n", HistoryOptions{})->empty());
  // A checkpoint of an older sizer (buckets only) reads back.
  auto old = UsageHistory::decode("v1\n1 2 0.1 1 0.2 0 0 0\n", HistoryOptions{});
  ASSERT_TRUE(old) << old.error().message();
  EXPECT_EQ(old->encode(), "v2\n1 2 0.1 1 0.2 0 0 0\n");
}

TEST(UsageHistoryTest, AppendTakesTheNewerHistorysBucketsAfterItsOwn) {
  UsageHistory stored;  // a checkpoint: an hour, a peak of 900 MiB 40 minutes in
  UsageHistory own;     // what a restarted sizer saw: from 50 minutes on
  for (int minute = 0; minute < 90; ++minute) {
    const TimePoint at = kStart + minutes(minute);
    if (minute < 60) stored.add(at, figures(0.2, 0.3, 100, minute == 40 ? 900 : 110));
    if (minute >= 50) own.add(at, figures(0.4, 0.5, 120, 130));
  }
  stored.append(own);
  EXPECT_EQ(stored.oldest(), kStart);
  const AppUsage out = stored.summarize(kStart + minutes(89), figures(0.4, 0.5, 120, 130));
  EXPECT_EQ(out.history, minutes(89));
  EXPECT_EQ(out.mem_peak_mib, 900);            // the checkpoint's peak
  EXPECT_NEAR(*out.cpu_used_avg, 0.4, 1e-12);  // the last 30 minutes are the sizer's own
  // Its buckets from 50 to 60 minutes overlap the checkpoint's: left out.
  // (And a line for the day's memory peak, one per hour of the day seen,
  // one for the CPU histogram.)
  const std::string text = stored.encode();
  EXPECT_EQ(static_cast<int>(std::count(text.begin(), text.end(), '\n')), 1 + 12 + 6 + 1 + 2 + 1);
}

// Its buckets reach back `mem_span` (12 h); the days it keeps reach further:
// how far back it remembers is the earliest of them (of two histories of an
// app, a new leader keeps the one remembering more).
TEST(UsageHistoryTest, RemembersBackToTheEarliestDayItKeeps) {
  UsageHistory with_memory;
  UsageHistory cpu_only;
  EXPECT_FALSE(with_memory.rememberedSince());
  const TimePoint end = kStart + hours(72);
  for (TimePoint at = kStart; at <= end; at += minutes(5)) {
    with_memory.add(at, figures(0.3, 0.5, 700, 750));
    cpu_only.add(at, figures(0.3, 0.5));
  }
  // kStart is 22:13 UTC on day 19675: its day began at 1699920000.
  const TimePoint first_day = fromUnixSeconds(1'699'920'000);
  ASSERT_TRUE(with_memory.oldest());
  EXPECT_GT(*with_memory.oldest(), end - hours(13));
  EXPECT_EQ(with_memory.rememberedSince(), first_day);  // the daily memory peaks
  EXPECT_EQ(cpu_only.rememberedSince(), first_day);     // the time-of-day profile
  auto decoded = UsageHistory::decode(with_memory.encode(), {});
  ASSERT_TRUE(decoded) << decoded.error().message();
  EXPECT_EQ(decoded->rememberedSince(), first_day);
  // Without days (none kept), its buckets.
  HistoryOptions no_days = anHourOfBuckets();
  no_days.profile_half_life = Duration::zero();
  UsageHistory plain(no_days);
  plain.add(kStart + hours(30), figures(0.3, 0.5, 700, 750));
  plain.add(kStart + hours(31), figures(0.3, 0.5, 700, 750));
  EXPECT_EQ(plain.rememberedSince(), kStart + hours(30));
}

// A stored figure above the sizer's ceilings (--max-cpus, --max-mem, which
// the agents' figures are refused above) is refused, naming the line: it
// would grow the app to the ceiling.
TEST(UsageHistoryTest, AStoredFigureAboveTheCeilingsIsRefused) {
  HistoryOptions options;
  options.max_cpus = 16;
  options.max_mem_mib = 65536;
  const std::pair<std::string, std::string> cases[] = {
      {"v2\n1 2 1000 1 0.2 0 0 0\n", "line 2: cpu figure 1000 is above the ceiling of 16 (--max-cpus)"},
      {"v2\n1 2 0.1 1 17 0 0 0\n", "line 2: cpu figure 17 is above the ceiling of 16 (--max-cpus)"},
      {"v2\n1 2 0.1 1 0.2 5000000 1 100\n", "line 2: memory figure 5000000 is above the ceiling of 65536 (--max-mem)"},
      {"v2\n1 2 0.1 1 0.2 100 1 70000\n", "line 2: memory figure 70000 is above the ceiling of 65536 (--max-mem)"},
      {"v2\nday 20000 70000\n", "line 2: memory peak 70000 is above the ceiling of 65536 (--max-mem)"},
      {"v2\nhour 3 20000 2 1 0.1 0.01 40 0.1 0.01 1\n", "line 2: cpu figure 40 is above the ceiling of 16"},
      {"v2\ncpu 5 300:1\n", "line 2: cpu histogram bucket"},
  };
  for (const auto& [text, expected] : cases) {
    const auto decoded = UsageHistory::decode(text, options);
    ASSERT_FALSE(decoded) << text;
    EXPECT_NE(decoded.error().message().find(expected), std::string::npos) << decoded.error().message();
  }
  // Figures fed above them (scaled for a slower instance type) are kept at
  // them: what the sizer writes it reads back.
  UsageHistory scaled(options);
  for (int minute = 0; minute < 30; ++minute) scaled.add(kStart + minutes(minute), figures(19.5, 20, 70000, 80000));
  const auto read_back = UsageHistory::decode(scaled.encode(), options);
  ASSERT_TRUE(read_back) << read_back.error().message();
  const AppUsage summary = read_back->summarize(kStart + minutes(30), figures(15, 16, 60000, 65536));
  EXPECT_EQ(summary.cpu_used_p95, 16);
  EXPECT_EQ(summary.mem_peak_mib, 65536);
  // At the ceilings, and without them (a replay's), they are figures.
  EXPECT_TRUE(UsageHistory::decode("v2\n1 2 16 1 16 65536 1 65536\nday 20000 65536\n", options));
  EXPECT_TRUE(UsageHistory::decode("v2\n1 2 1000 1 0.2 5000000 1 100\n", {}));
}

TEST(UsageHistoryTest, ADamagedEncodingIsRefusedNamingTheLine) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "usage history: empty"},
      {"v3\n", "line 1: expected \"v2\""},
      {"v2\nday 20000\n", "line 2: expected \"day <UTC day> <memory peak>\""},
      {"v2\nday 20000 -5\n", "line 2: expected \"day <UTC day> <memory peak>\""},
      {"v2\nday 20000 5\nday 20000 6\n", "line 3: a day not after the one before it"},
      {"v2\nday 20000 5\n1 2 0.1 1 0.2 0 0 0\n", "line 3: a bucket after the days"},
      {"v2\ncpu x 3:1\n", "line 2: expected one \"cpu <reference ns> <bucket>:<weight> ...\""},
      {"v2\ncpu 5 3:1\ncpu 5 4:1\n", "line 3: expected one \"cpu"},
      {"v2\ncpu 5\n", "line 2: a CPU histogram without buckets"},
      {"v2\ncpu 5 400:1\n", "line 2: \"400:1\" is not <bucket 0-399>:<positive weight>, each bucket once"},
      {"v2\ncpu 5 3:0\n", "is not <bucket 0-399>:<positive weight>"},
      {"v2\ncpu 5 3:1 3:2\n", "each bucket once"},
      {"v2\ncpu 5 3-1\n", "is not <bucket 0-399>"},
      {"v2\nhour 24 1 1 1 0.1 0.01 0.2 0 0 0\n", "line 2: expected \"hour <0-23>"},
      {"v2\nhour 3 1 1 1 0.1 0.01 0.2 0 0 1\n", "base days below days"},
      {"v2\nhour 3 1 1 1 -0.1 0.01 0.2 0 0 0\n", "figures non-negative"},
      {"v2\nhour 3 1 1 1 0.1 0.01 0.2 0 0\n", "line 2: expected \"hour"},
      {"v2\nhour 3 1 1 1 0.1 0.01 0.2 0 0 0\nhour 3 2 2 1 0.1 0.01 0.2 0 0 1\n", "line 3: an hour given twice"},
      {"v1\n1 2 0.1 1 0.2 0 0 0 9\n", "line 2: expected 8 fields, got 9"},
      {"v1\n1 2 0.1 1 0.2 0 0\n", "line 2: expected 8 fields, got 7"},
      {"v1\n\n", "line 2: expected 8 fields, got 0"},
      {"v1\n5 2 0.1 1 0.2 0 0 0\n", "line 2: times are not nanoseconds from 1970 to 2200 with start <= last"},
      {"v1\n-5 2 0.1 1 0.2 0 0 0\n", "line 2: times are not nanoseconds from 1970 to 2200"},
      {"v1\n1 9223372035000000000 0.1 1 0.2 0 0 0\n", "line 2: times are not nanoseconds from 1970 to 2200"},
      {"v2\nday -3 5\n", "line 2: expected \"day <UTC day> <memory peak>\""},
      {"v2\ncpu 9223372035000000000 3:1\n", "line 2: expected one \"cpu"},
      {"v2\nhour 3 99999999 1 1 0.1 0.01 0.2 0 0 0\n", "line 2: expected \"hour <0-23>"},
      {"v1\nx 2 0.1 1 0.2 0 0 0\n", "line 2: times are not nanoseconds"},
      {"v1\n1 2 nan 1 0.2 0 0 0\n", "line 2: figures must be finite and non-negative"},
      {"v1\n1 2 1e999 1 0.2 0 0 0\n", "line 2: figures must be finite"},
      {"v1\n1 2 0.1 1 -0.2 0 0 0\n", "line 2: figures must be finite and non-negative"},
      {"v1\n1 2 0.1 -1 0.2 0 0 0\n", "counts whole numbers"},
      {"v1\n1 2 0.1 1.5 0.2 0 0 0\n", "counts whole numbers"},
      {"v1\n1 2 0.1 99999999999 0.2 0 0 0\n", "counts whole numbers"},
      {"v1\n1 2 0 0 0 0 0 0\n", "line 2: a bucket without CPU figures"},
      {"v1\n100 200 0.1 1 0.2 0 0 0\n50 60 0.1 1 0.2 0 0 0\n", "line 3: a bucket older than the one before it"},
  };
  for (const auto& [text, expected] : cases) {
    auto decoded = UsageHistory::decode(text, HistoryOptions{});
    ASSERT_FALSE(decoded) << text;
    EXPECT_EQ(decoded.error().kind(), ErrorKind::kInvalidValue) << text;
    EXPECT_NE(decoded.error().message().find(expected), std::string::npos)
        << text << " -> " << decoded.error().message();
  }
}

}  // namespace
}  // namespace rightsize::sizing
