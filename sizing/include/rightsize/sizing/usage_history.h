#pragma once

// What the sizer remembers of an app's use beyond the agents' window.
//
// Agents report figures over a short window (--window, 5m by default): fine
// for spotting a hot spot now, too short to size on. The sizer adds each
// cycle's figures (the busiest task's, see AppUsage) here and decides on a
// longer view: the average over `mean_span` (30m) or the latest average if
// higher (use that rises shows at once, use that falls once the mean
// follows), the 95th percentile of the CPU p95s over `span` (6h) and the
// peak of memory over `mem_span` (12h). Figures are kept in
// buckets (5m each: the largest p95 and peak, the mean of the averages), so
// an app costs about 15 kilobytes (12 h of buckets) whatever the decision period. `rightsize
// simulate` feeds the same class, so its replays see what the sizer sees.
//
// Beyond those hours it remembers days, compactly (grow fast, shrink
// slowly):
//  - memory: the peak of each UTC day, for `mem_days` (7) days before
//    today: memory is sized above the peak of the daily peaks over a week
//    (VPA: 8 days of daily peaks), unless the app's percentile of memory
//    peaks is below 100 (then the rarest peaks are left out);
//  - CPU: a decaying histogram of the buckets' p95s (VPA's: exponential
//    buckets 5 % apart from 0.01 cores, a weight halving every
//    `cpu_half_life`, 24 h): the CPU sized on is the higher of the recent
//    percentile and the histogram's, so use that rises shows at once and use
//    that falls takes days to lower it, while a daily peak keeps its weight.
//  - the time of day: for each UTC hour, the mean and spread of the CPU
//    used and the peak of its p95s, old days fading (`profile_half_life`,
//    7 days). summarize() says the highest p95 expected over the next day
//    (a shrink must hold through it: every hour fed within the last week
//    and seen on `floor_min_days` (1) day or more, its peak fading) and over the next `forecast_lead` (1h: grown before
//    a recurring peak, an hour seen on `profile_min_days` (2) days or more), and, where an hour has been seen on
//    `anomaly_min_days` (3) days, how far use now is below what the hour
//    expects, in standard deviations: use that collapsed beyond
//    `anomaly_sigmas` (3) and to less than half is an anomaly (an upstream
//    outage), on which nothing shrinks.
// All are fed each 5-minute bucket as it closes. For 7 days they take
// 3.5-4.3 kilobytes per app (docs/sizer.md).
//
// The sizer checkpoints it in its store (encode(), decode()), so that a
// restarted sizer, or the next leader, sizes on what was seen before it;
// summarize() says how much the history covers, so that a resize down
// waits for enough of it (see evaluate()) when there is none.

#include <array>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rightsize/core/clock.h"
#include "rightsize/core/status.h"
#include "rightsize/sizing/policy.h"

namespace rightsize::sizing {

struct HistoryOptions {
  Duration bucket = std::chrono::minutes(5);
  Duration span = std::chrono::hours(6);  // CPU p95s
  // Memory's peak looks further back: memory that was needed once (a nightly
  // job, a cache filling up) is needed again, and too little of it is an OOM
  // kill, not a slowdown.
  Duration mem_span = std::chrono::hours(12);
  Duration mean_span = std::chrono::minutes(30);
  // Days of daily memory peaks kept before today (--memory-days; 0: none).
  int mem_days = 7;
  // The CPU histogram's half-life (--cpu-half-life; zero: no histogram).
  Duration cpu_half_life = std::chrono::hours(24);
  // The time-of-day profile (see above).
  Duration profile_half_life = std::chrono::days(7);
  int profile_min_days = 2;
  // The highest p95 expected over the next day, which a shrink holds
  // through, counts an hour fed within the last week and seen on this many
  // days (--peak-days; 1: every such hour, today's so far included; 0:
  // none), at its peak fading by half a week. A shrink below a peak seen once is a
  // gamble on it not coming back, and costs two restarts when it does (the
  // grow, the next shrink); a grow ahead of a peak waits for it to recur
  // (profile_min_days), as does the shrink of an app labelled a lower CPU
  // percentile than the default (it accepts some peaks throttled).
  int floor_min_days = 1;
  int anomaly_min_days = 3;
  double anomaly_sigmas = 3;
  Duration forecast_lead = std::chrono::hours(1);
  // The ceilings a figure never goes above (the sizer's --max-cpus and
  // --max-mem, which the agents' figures are refused above): a stored
  // history holding a higher one is refused when decoded, naming the line,
  // rather than growing the app to the ceiling.
  double max_cpus = std::numeric_limits<double>::infinity();
  double max_mem_mib = std::numeric_limits<double>::infinity();
  // How long anything in a history matters: what a checkpoint is kept for.
  Duration longest() const;
};

// Which nearest-rank percentiles summarize() takes of the buckets, as
// shares: of the CPU p95s (0.95) and of the memory peaks (1: the peak).
// Per app from its labels (AppSettings::cpu_percentile, mem_percentile).
struct Percentiles {
  double cpu = 0.95;
  double mem = 1;
};
// The app's percentiles: its labels', else the defaults.
Percentiles percentilesOf(const AppSettings& settings);

// Not thread-safe.
class UsageHistory {
 public:
  explicit UsageHistory(HistoryOptions options = {}) : options_(options) {}

  // Adds one cycle's figures (ignored without CPU figures). Figures older
  // than the last ones mean the clock stepped back: less than a bucket,
  // they are ignored; more, the history starts over.
  void add(TimePoint at, const AppUsage& usage);
  // `latest` with its averages, p95 and peak replaced by the history's, and
  // `history` set to the time it covers; `latest` itself when empty.
  AppUsage summarize(TimePoint now, const AppUsage& latest, const Percentiles& percentiles = {}) const;
  bool empty() const { return buckets_.empty() && days_.empty() && cpu_weights_.empty(); }
  // When the oldest figures kept were taken; nullopt when empty.
  std::optional<TimePoint> oldest() const;
  // How far back what it remembers reaches: the oldest figures kept, or the
  // start of the earliest UTC day it keeps a figure of (a daily memory peak,
  // an hour of the time-of-day profile), whichever is older; nullopt when
  // empty. Of two histories of one app, the one that remembers more days
  // (the buckets of each reach back only `mem_span`).
  std::optional<TimePoint> rememberedSince() const;
  // Adds the buckets of `newer` that begin after this history's last
  // figures: a restored checkpoint, then what this sizer saw since.
  void append(const UsageHistory& newer);

  // One line per bucket, then one per day's memory peak, then the CPU
  // histogram's non-empty buckets, exact (numbers read back as the same
  // doubles):
  //   v2
  //   <start ns> <last ns> <cpu avg sum> <cpu count> <cpu p95> <mem sum> <mem count> <mem peak>
  //   day <UTC day since 1970> <mem peak>
  //   cpu <reference ns> <bucket>:<weight> ...
  //   hour <UTC hour> <last day> <days> <weight> <mean> <mean of squares> <peak>
  //        <base mean> <base mean of squares> <base days>
  std::string encode() const;
  // What encode() wrote, or a v1 value (buckets only); anything else (a
  // damaged or foreign value) is an error naming the line and what is wrong
  // with it.
  static Expected<UsageHistory> decode(std::string_view text, HistoryOptions options);

 private:
  struct Bucket {
    TimePoint start{};
    TimePoint last{};
    double cpu_avg_sum = 0;
    int cpu_count = 0;
    double cpu_p95 = 0;  // largest
    double mem_used_sum = 0;
    int mem_count = 0;
    double mem_peak = 0;  // largest
  };

  // buckets_.back() was added, or its memory peak rose: into mem_peaks_.
  void notePeak();
  // The oldest bucket goes.
  void popFront();
  // A bucket that closed (a newer one began): into the days and the
  // histogram.
  void absorb(const Bucket& bucket);
  // The time-of-day forecasts and anomaly of `out` (AppUsage), from the
  // profile, at `now`; `used_now` (cores: the agents' latest average, which
  // falls at once, where the mean sized on lags) against this hour's; the
  // next day's peak counts hours seen on `floor_days` days or more.
  void forecast(TimePoint now, double used_now, int floor_days, AppUsage& out) const;

  HistoryOptions options_;
  std::deque<Bucket> buckets_;  // oldest first
  // The buckets with memory figures whose peak no later one's exceeds, by
  // number (`popped_` + their place in buckets_), oldest first: the highest
  // peak of the newest buckets (summarize(), over mem_span) is the first of
  // these among them, found without walking them. Not checkpointed: rebuilt
  // as buckets are added.
  std::deque<std::uint64_t> mem_peaks_;
  std::uint64_t popped_ = 0;  // buckets dropped from the front so far
  // (UTC day since 1970, memory peak), oldest first.
  std::deque<std::pair<std::int64_t, double>> days_;
  // The CPU histogram: (bucket index, weight) by index, relative to
  // `cpu_reference_` (a p95 closing at t weighs 2^((t - reference) /
  // half-life)). A sorted vector, not a map: summarize() walks it at every
  // call, and it holds at most a few hundred buckets.
  std::vector<std::pair<int, double>> cpu_weights_;
  TimePoint cpu_reference_{};
  // The time-of-day profile: one slot per UTC hour that has been seen.
  struct HourSlot {
    std::int64_t last_day = 0;  // the UTC day it was last fed
    int days = 0;               // days it was fed on
    double weight = 0;          // buckets, old days' fading
    double mean = 0;            // of the buckets' CPU averages
    double mean_sq = 0;         // of their squares
    double peak = 0;            // of the buckets' p95s, old days' fading
    // The mean and mean of squares up to the day before `last_day`, on
    // `base_days` days: what today's use is compared with.
    double base_mean = 0;
    double base_mean_sq = 0;
    int base_days = 0;
  };
  // By UTC hour; one with `days` 0 has not been seen (a seen one has 1 or
  // more). A table, not a map: summarize() looks up the next day's hours at
  // every call.
  std::array<HourSlot, 24> hours_{};
};

}  // namespace rightsize::sizing
