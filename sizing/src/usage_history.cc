#include "rightsize/sizing/usage_history.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "rightsize/core/text.h"

namespace rightsize::sizing {
namespace {

// The CPU histogram's buckets (VPA's): bucket 0 holds up to 0.01 cores, and
// bucket i > 0 up to 0.01 x 1.05^i, so that its edges are 5 % apart.
constexpr double kHistogramFirst = 0.01;
constexpr double kHistogramRatio = 1.05;
constexpr int kHistogramBuckets = 400;  // the last up to 0.01 x 1.05^399: beyond any host
// Weights are re-based on the newest figures before they reach 2^40, and
// those below this share of the total then dropped.
constexpr double kMaxExponent = 40;
constexpr double kNegligible = 1e-4;
// The share of the histogram's weight below the peak it reports.
constexpr double kPeakShare = 0.99;
constexpr std::int64_t kMaxDays = 1000;

int histogramIndex(double cores) {
  if (!(cores > kHistogramFirst)) return 0;
  const double i = std::ceil(std::log(cores / kHistogramFirst) / std::log(kHistogramRatio) - 1e-9);
  return static_cast<int>(std::clamp(i, 0.0, static_cast<double>(kHistogramBuckets - 1)));
}

// The lower edge of bucket `index`: what the histogram says of a figure in
// it (at most 5 % below it: the recent percentile, exact, is taken when
// higher, so steady use is sized on exactly).
double histogramLower(int index) { return index == 0 ? 0 : kHistogramFirst * std::pow(kHistogramRatio, index - 1); }

std::int64_t utcDay(TimePoint t) { return std::chrono::floor<std::chrono::days>(t.time_since_epoch()).count(); }

int utcHour(TimePoint t) {
  const auto since_midnight = t.time_since_epoch() - std::chrono::floor<std::chrono::days>(t.time_since_epoch());
  return static_cast<int>(std::chrono::duration_cast<std::chrono::hours>(since_midnight).count());
}

constexpr int kMaxProfileDays = 1'000'000;

// Adds (index, weight) to a histogram sorted by index; false when it has
// that index already.
bool insertWeight(std::vector<std::pair<int, double>>& weights, int index, double weight) {
  const auto at =
      std::lower_bound(weights.begin(), weights.end(), index, [](const auto& entry, int i) { return entry.first < i; });
  if (at != weights.end() && at->first == index) return false;
  weights.insert(at, {index, weight});
  return true;
}

}  // namespace

Duration HistoryOptions::longest() const {
  Duration longest = std::max(span, mem_span);
  if (mem_days > 0) longest = std::max<Duration>(longest, std::chrono::days(mem_days + 1));
  // A weight a tenth of a percent of a new one's: ten half-lives.
  if (cpu_half_life > Duration::zero()) longest = std::max(longest, cpu_half_life * 10);
  if (profile_half_life > Duration::zero()) longest = std::max(longest, profile_half_life * 2);
  return longest;
}

void UsageHistory::absorb(const Bucket& b) {
  if (options_.mem_days > 0 && b.mem_count > 0) {
    const std::int64_t day = utcDay(b.last);
    if (days_.empty() || days_.back().first < day) {
      days_.emplace_back(day, b.mem_peak);
    } else if (days_.back().first == day) {
      days_.back().second = std::max(days_.back().second, b.mem_peak);
    }
    while (!days_.empty() && days_.front().first < day - options_.mem_days) days_.pop_front();
  }
  if (options_.profile_half_life > Duration::zero()) {
    const std::int64_t day = utcDay(b.start);
    HourSlot& slot = hours_[static_cast<std::size_t>(utcHour(b.start))];
    if (slot.days == 0 || day > slot.last_day) {
      // A new day for this hour: the figures so far become the base, and
      // the old days fade.
      slot.base_mean = slot.mean;
      slot.base_mean_sq = slot.mean_sq;
      slot.base_days = slot.days;
      const double fade =
          slot.days == 0
              ? 0
              : std::exp2(-toSeconds(std::chrono::days(day - slot.last_day)) / toSeconds(options_.profile_half_life));
      slot.weight *= fade;
      slot.peak *= fade;
      slot.days = std::min(slot.days + 1, kMaxProfileDays);
      slot.last_day = day;
    }
    if (day == slot.last_day) {
      const double used = b.cpu_avg_sum / b.cpu_count;
      slot.mean = (slot.mean * slot.weight + used) / (slot.weight + 1);
      slot.mean_sq = (slot.mean_sq * slot.weight + used * used) / (slot.weight + 1);
      slot.weight += 1;
      slot.peak = std::max(slot.peak, b.cpu_p95);
    }
  }
  if (options_.cpu_half_life > Duration::zero()) {
    if (cpu_weights_.empty()) cpu_reference_ = b.last;
    double half_lives = toSeconds(b.last - cpu_reference_) / toSeconds(options_.cpu_half_life);
    if (half_lives > kMaxExponent) {
      // Re-based on this bucket before its weight is added: a reference
      // years old (a restored checkpoint) would make 2^half_lives infinite.
      double total = 1;
      for (auto& [index, weight] : cpu_weights_) total += (weight *= std::exp2(-half_lives));
      std::erase_if(cpu_weights_, [total](const auto& entry) { return entry.second < total * kNegligible; });
      cpu_reference_ = b.last;
      half_lives = 0;
    }
    const int index = histogramIndex(b.cpu_p95);
    auto at = std::lower_bound(cpu_weights_.begin(), cpu_weights_.end(), index,
                               [](const auto& entry, int i) { return entry.first < i; });
    if (at == cpu_weights_.end() || at->first != index) at = cpu_weights_.insert(at, {index, 0.0});
    at->second += std::exp2(half_lives);
  }
}

void UsageHistory::add(TimePoint at, const AppUsage& usage) {
  if (!usage.cpu_used_avg || !std::isfinite(*usage.cpu_used_avg)) return;
  // The clock stepped back. A little (less than a bucket: an NTP step):
  // these figures are left out, and days of history are kept. Further: the
  // history's times mean nothing now, and it starts over.
  if (!buckets_.empty() && at < buckets_.back().last && buckets_.back().last - at < options_.bucket) return;
  if (!buckets_.empty() && at < buckets_.back().last) {
    buckets_.clear();
    mem_peaks_.clear();
    days_.clear();
    cpu_weights_.clear();
    hours_.fill(HourSlot{});
  }
  if (buckets_.empty() || at - buckets_.back().start >= options_.bucket) {
    if (!buckets_.empty()) absorb(buckets_.back());
    Bucket bucket;
    bucket.start = at;
    buckets_.push_back(bucket);
  }
  // Kept within the ceilings (figures scaled for a slower instance type may
  // be above them): a history written is one decode() reads back.
  const auto cpu = [this](double cores) { return std::min(cores, options_.max_cpus); };
  const auto mem = [this](double mib) { return std::min(mib, options_.max_mem_mib); };
  Bucket& b = buckets_.back();
  b.last = at;
  b.cpu_avg_sum += cpu(*usage.cpu_used_avg);
  ++b.cpu_count;
  b.cpu_p95 = std::max(b.cpu_p95, cpu(usage.cpu_used_p95.value_or(*usage.cpu_used_avg)));
  if (usage.mem_used_mib && std::isfinite(*usage.mem_used_mib)) {
    b.mem_used_sum += mem(*usage.mem_used_mib);
    ++b.mem_count;
    b.mem_peak = std::max({b.mem_peak, mem(*usage.mem_used_mib), mem(usage.mem_peak_mib.value_or(0))});
    notePeak();
  }
  // The oldest bucket goes once the buckets after it cover the span by
  // themselves: the history kept reaches the span (a --min-history as long
  // as it is met), not a step short of it. The summaries' spans leave the
  // one older bucket out.
  const Duration kept = std::max(options_.span, options_.mem_span);
  while (buckets_.size() > 1 && at - buckets_[1].start >= kept) popFront();
}

void UsageHistory::notePeak() {
  const Bucket& b = buckets_.back();
  if (b.mem_count == 0) return;
  const std::uint64_t number = popped_ + buckets_.size() - 1;
  if (!mem_peaks_.empty() && mem_peaks_.back() == number) mem_peaks_.pop_back();
  // Equal peaks stay: the oldest of them is the one the summary's walk took.
  while (!mem_peaks_.empty() && buckets_[mem_peaks_.back() - popped_].mem_peak < b.mem_peak) mem_peaks_.pop_back();
  mem_peaks_.push_back(number);
}

void UsageHistory::popFront() {
  buckets_.pop_front();
  ++popped_;
  while (!mem_peaks_.empty() && mem_peaks_.front() < popped_) mem_peaks_.pop_front();
}

namespace {

// The nearest-rank `share` percentile of `values` (not empty); reorders them.
double nearestRank(std::vector<double>& values, double share) {
  const double rank = std::ceil(std::clamp(share, 0.0, 1.0) * static_cast<double>(values.size()));
  const auto index = static_cast<std::size_t>(std::max(rank, 1.0)) - 1;
  // The largest (memory's default): no partition needed.
  if (index + 1 == values.size()) return *std::max_element(values.begin(), values.end());
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(index), values.end());
  return values[index];
}

// The m-th largest of values fed one at a time, without keeping them all:
// a nearest-rank percentile of n values is the m-th largest (mFromTop()),
// and for the shares the summary takes (0.95 of 72 buckets: the 4th largest;
// 1: the largest) m is small, so only the m largest so far are kept,
// sorted. The same value nearestRank() picks (an order statistic does not
// depend on the order the values came in); where m is larger than kKept, or
// a value is not a number, the caller sorts them instead (nearestRank()).
class LargestKept {
 public:
  static constexpr std::size_t kKept = 8;
  // m for the nearest-rank `share` percentile of `n` values (n > 0).
  static std::size_t mFromTop(std::size_t n, double share) {
    const double rank = std::ceil(std::clamp(share, 0.0, 1.0) * static_cast<double>(n));
    const auto index = static_cast<std::size_t>(std::max(rank, 1.0)) - 1;
    return n > index ? n - index : 1;
  }
  // (m beyond kKept: nothing is kept, get() says nullopt.)
  explicit LargestKept(std::size_t m) : m_(std::clamp<std::size_t>(m, 1, kKept)), fits_(m <= kKept) {}
  bool fits() const { return fits_; }
  void add(double value) {
    if (std::isnan(value)) numbers_ = false;
    if (kept_ == m_ && !(value > top_[m_ - 1])) return;
    std::size_t at = kept_ < m_ ? kept_++ : m_ - 1;
    while (at > 0 && top_[at - 1] < value) {
      top_[at] = top_[at - 1];
      --at;
    }
    top_[at] = value;
  }
  // The m-th largest, once at least m values were added and all were
  // numbers.
  std::optional<double> get() const {
    if (!fits_ || !numbers_ || kept_ < m_) return std::nullopt;
    return top_[m_ - 1];
  }

 private:
  std::size_t m_;
  bool fits_;
  std::size_t kept_ = 0;
  bool numbers_ = true;
  std::array<double, kKept> top_{};
};

}  // namespace

Percentiles percentilesOf(const AppSettings& settings) {
  const Percentiles defaults;
  return {settings.cpu_percentile.value_or(defaults.cpu), settings.mem_percentile.value_or(defaults.mem)};
}

AppUsage UsageHistory::summarize(TimePoint now, const AppUsage& latest, const Percentiles& percentiles) const {
  AppUsage out = latest;
  if (buckets_.empty()) return out;
  double cpu_sum = 0, mem_sum = 0, span_sum = 0;
  int cpu_n = 0, mem_n = 0, span_n = 0;
  // The buckets' times never go back (add(), append() and decode() keep
  // them in order), so the buckets within a span are the newest ones: where
  // each span begins is found by a binary search, and only its buckets are
  // walked, oldest first (as the sums always were). The percentiles are
  // taken from the largest values alone (LargestKept): no copy of the
  // figures at every summary. Where that does not do (a low percentile, a
  // figure that is not a number), they are copied and sorted
  // (nearestRank()), into scratch space kept between calls.
  const auto begins = [&](Duration span) {
    return std::partition_point(buckets_.begin(), buckets_.end(), [&](const Bucket& b) { return now - b.last > span; });
  };
  const auto span_begin = begins(options_.span);
  // (The mean's few buckets: from the newest back.)
  auto mean_begin = buckets_.end();
  while (mean_begin != span_begin && now - std::prev(mean_begin)->last < options_.mean_span) --mean_begin;
  const auto memBegin = [&] { return begins(options_.mem_span); };
  const auto p95_n = static_cast<std::size_t>(buckets_.end() - span_begin);
  if (p95_n == 0) return out;
  // The span's sums, highest p95 and percentile in one walk.
  LargestKept p95_kept(LargestKept::mFromTop(p95_n, percentiles.cpu));
  double highest_p95 = span_begin->cpu_p95;
  for (auto b = span_begin; b != buckets_.end(); ++b) {
    span_sum += b->cpu_avg_sum;
    span_n += b->cpu_count;
    highest_p95 = std::max(highest_p95, b->cpu_p95);
    if (p95_kept.fits()) p95_kept.add(b->cpu_p95);
  }
  for (auto b = mean_begin; b != buckets_.end(); ++b) {
    cpu_sum += b->cpu_avg_sum;
    cpu_n += b->cpu_count;
    mem_sum += b->mem_used_sum;
    mem_n += b->mem_count;
  }
  std::size_t peak_n = 0;
  if (percentiles.mem < 1) {
    for (auto b = memBegin(); b != buckets_.end(); ++b) peak_n += b->mem_count > 0 ? 1 : 0;
  }
  LargestKept peak_kept(percentiles.mem < 1 && peak_n > 0 ? LargestKept::mFromTop(peak_n, percentiles.mem) : 1);
  std::optional<double> cpu_percentile, mem_percentile = 0.0;
  if (p95_kept.fits() && peak_kept.fits()) {
    cpu_percentile = p95_kept.get();
    if (percentiles.mem >= 1) {
      // The highest peak: the first of mem_peaks_ within the span.
      const auto found = std::partition_point(mem_peaks_.begin(), mem_peaks_.end(), [&](std::uint64_t number) {
        return now - buckets_[number - popped_].last > options_.mem_span;
      });
      peak_n = found == mem_peaks_.end() ? 0 : 1;
      if (peak_n > 0) mem_percentile = buckets_[*found - popped_].mem_peak;
    } else {
      peak_n = 0;
      for (auto b = memBegin(); b != buckets_.end(); ++b) {
        if (b->mem_count == 0) continue;
        ++peak_n;
        peak_kept.add(b->mem_peak);
      }
      if (peak_n > 0) mem_percentile = peak_kept.get();
    }
  }
  if (!cpu_percentile || !mem_percentile) {
    thread_local std::vector<double> p95s;
    thread_local std::vector<double> peaks;
    p95s.clear();
    peaks.clear();
    for (auto b = memBegin(); b != buckets_.end(); ++b) {
      if (b->mem_count > 0) peaks.push_back(b->mem_peak);
    }
    for (auto b = span_begin; b != buckets_.end(); ++b) p95s.push_back(b->cpu_p95);
    peak_n = peaks.size();
    highest_p95 = *std::max_element(p95s.begin(), p95s.end());
    cpu_percentile = nearestRank(p95s, percentiles.cpu);
    if (!peaks.empty()) mem_percentile = nearestRank(peaks, percentiles.mem);
  }
  // The larger of now and the recent mean: use that rises shows at once (a
  // hot spot), use that falls only once the mean has followed (no shrink on a
  // lull).
  // (An app known only from its lag has no figure now: the mean alone.)
  if (cpu_n > 0) out.cpu_used_avg = std::max(latest.cpu_used_avg.value_or(0), cpu_sum / cpu_n);
  // The nearest-rank percentile (95th) of the buckets' largest p95s, or the
  // days' histogram's when higher.
  // The histogram's nearest-rank percentile (a share of its weight): the
  // lower edge of the bucket it falls in; 0 when empty.
  // Both shares the summary asks for (the percentile's and the peak's) in
  // one walk of the histogram.
  const auto histogram = [this](double share, double peak_share) {
    double total = 0;
    for (const auto& [index, weight] : cpu_weights_) total += weight;
    const double share_at = std::clamp(share, 0.0, 1.0) * total * (1 - 1e-12);
    const double peak_at = std::clamp(peak_share, 0.0, 1.0) * total * (1 - 1e-12);
    std::optional<double> at_share, at_peak;
    double below = 0;
    for (const auto& [index, weight] : cpu_weights_) {
      below += weight;
      if (!at_share && below >= share_at) at_share = histogramLower(index);
      if (!at_peak && below >= peak_at) at_peak = histogramLower(index);
      if (at_share && at_peak) break;
    }
    return std::pair(at_share.value_or(0.0), at_peak.value_or(0.0));
  };
  const auto [histogram_share, histogram_peak] = histogram(percentiles.cpu, kPeakShare);
  const double cpu_p95 = std::max(*cpu_percentile, histogram_share);
  out.cpu_used_p95 = std::max(cpu_p95, out.cpu_used_avg.value_or(0));
  if (histogram_share > *cpu_percentile && histogram_share >= *out.cpu_used_p95) out.cpu_p95_days = histogram_share;
  // Sustained use (a burstable app's request): the mean over the span; and
  // the peak a burstable app's limit is sized on: the span's highest p95, or
  // the days' (the histogram's 99th percentile: a burst of an hour a day is
  // in it, a rarer one fades).
  if (span_n > 0) out.cpu_used_sustained = span_sum / span_n;
  out.cpu_used_peak = std::max({highest_p95, *out.cpu_used_p95, histogram_peak});
  // An app labelled a lower CPU percentile than the default accepts some
  // of its peaks throttled: its shrink holds through recurring ones only.
  const int floor_days = options_.floor_min_days == 0 || percentiles.cpu >= Percentiles{}.cpu
                             ? options_.floor_min_days
                             : std::max(options_.floor_min_days, options_.profile_min_days);
  forecast(now, latest.cpu_used_avg.value_or(*out.cpu_used_avg), floor_days, out);
  if (latest.mem_used_mib && peak_n > 0) {
    if (mem_n > 0) out.mem_used_mib = std::max(*latest.mem_used_mib, mem_sum / mem_n);
    // The highest of the buckets' peaks by default (and the latest figures'
    // peak): memory needed once is needed again. A lower percentile (an app's
    // label) leaves out the rarest peaks.
    const double recent = *mem_percentile;
    double peak = recent;
    // And the days' peaks over the last `mem_days` days (the rarest peaks
    // left out by a lower percentile are in them: not then).
    if (percentiles.mem >= 1) {
      for (const auto& [day, day_peak] : days_) {
        if (day >= utcDay(now) - options_.mem_days) peak = std::max(peak, day_peak);
      }
    }
    out.mem_peak_mib = std::max({peak, *out.mem_used_mib, percentiles.mem < 1 ? 0.0 : latest.mem_peak_mib.value_or(0)});
    if (peak > recent && peak >= *out.mem_peak_mib) out.mem_peak_days = peak;
  }
  out.history = now - buckets_.front().start;
  return out;
}

void UsageHistory::forecast(TimePoint now, double used_now, int floor_days, AppUsage& out) const {
  if (std::none_of(hours_.begin(), hours_.end(), [](const HourSlot& slot) { return slot.days > 0; })) return;
  const std::int64_t today = utcDay(now);
  const auto recent_days =
      std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::days>(options_.profile_half_life).count());
  const TimePoint this_hour = std::chrono::floor<std::chrono::hours>(now);
  // The slot of an hour (nullptr: not seen).
  const auto slotOf = [&](int hour) -> const HourSlot* {
    const HourSlot& slot = hours_[static_cast<std::size_t>(hour)];
    return slot.days > 0 ? &slot : nullptr;
  };
  const auto slotAt = [&](TimePoint at) { return slotOf(utcHour(at)); };
  // The next day's hours, this one first: those seen on enough days, lately
  // (the highest of each kept in locals, written to `out` once).
  const TimePoint soon_until = now + options_.forecast_lead;
  std::optional<double> peak = out.cpu_forecast_peak, soon = out.cpu_forecast_soon;
  int peak_ahead = -1, soon_ahead = -1;
  for (int ahead = 0, hour = utcHour(this_hour); ahead < 24; ++ahead, hour = hour == 23 ? 0 : hour + 1) {
    const HourSlot& slot = hours_[static_cast<std::size_t>(hour)];
    if (slot.days == 0 || today - slot.last_day > recent_days) continue;
    if ((!peak || slot.peak > *peak) && floor_days > 0 && slot.days >= floor_days) {
      peak = slot.peak;
      peak_ahead = ahead;
    }
    if (slot.days < options_.profile_min_days) continue;
    if ((!soon || slot.peak > *soon) && this_hour + std::chrono::hours(ahead) < soon_until) {
      soon = slot.peak;
      soon_ahead = ahead;
    }
  }
  if (peak_ahead >= 0) {
    out.cpu_forecast_peak = peak;
    out.cpu_forecast_at = std::max(this_hour + std::chrono::hours(peak_ahead), now);
  }
  if (soon_ahead >= 0) {
    out.cpu_forecast_soon = soon;
    out.cpu_forecast_soon_at = std::max(this_hour + std::chrono::hours(soon_ahead), now);
  }
  // Use against what its hour expected on the days before today's: the
  // expectation and how many standard deviations `used` is below it.
  struct Expected {
    double mean;
    double score;
  };
  const auto against = [&](TimePoint at, double used) -> std::optional<Expected> {
    if (slotAt(at) == nullptr) return std::nullopt;
    const HourSlot& slot = *slotAt(at);
    const std::int64_t day = utcDay(at);
    const bool base_today = slot.last_day == day;
    const double mean = base_today ? slot.base_mean : slot.mean;
    const double mean_sq = base_today ? slot.base_mean_sq : slot.mean_sq;
    const int days = base_today ? slot.base_days : slot.days;
    if (days < options_.anomaly_min_days || day - slot.last_day > recent_days) return std::nullopt;
    // A spread of at least 5 % of the mean (and 0.01 cores): steady use is
    // not anomalous for a small move.
    const double sigma = std::max({std::sqrt(std::max(mean_sq - mean * mean, 0.0)), 0.05 * mean, 0.01});
    const double score = (mean - used) / sigma;
    // (A damaged checkpoint's absurd figures give none.)
    if (!std::isfinite(sigma) || !std::isfinite(score)) return std::nullopt;
    return Expected{mean, score};
  };
  const auto collapsed = [&](const std::optional<Expected>& e, double used) {
    return e && e->score >= options_.anomaly_sigmas && used < e->mean / 2;
  };
  const std::optional<Expected> now_expected = against(now, used_now);
  if (now_expected) {
    out.cpu_expected = now_expected->mean;
    out.anomaly_score = now_expected->score;
  }
  out.anomaly = collapsed(now_expected, used_now);
  // A collapse within the mean's span still counts: as use returns, the mean
  // sized on lags behind it, and would shrink the app for nothing.
  for (auto b = buckets_.rbegin(); !out.anomaly && b != buckets_.rend() && now - b->last < options_.mean_span; ++b) {
    const double used = b->cpu_avg_sum / b->cpu_count;
    out.anomaly = collapsed(against(b->start, used), used);
  }
}

std::optional<TimePoint> UsageHistory::oldest() const {
  if (buckets_.empty()) return std::nullopt;
  return buckets_.front().start;
}

std::optional<TimePoint> UsageHistory::rememberedSince() const {
  std::optional<TimePoint> since = oldest();
  const auto take = [&since](std::int64_t day) {
    const TimePoint start{std::chrono::days(std::max<std::int64_t>(day, 0))};
    if (!since || start < *since) since = start;
  };
  if (!days_.empty()) take(days_.front().first);
  // An hour seen on n days was first seen n days before its last, or
  // earlier (the days need not follow each other).
  for (const HourSlot& slot : hours_) {
    if (slot.days > 0) take(slot.last_day - (slot.days - 1));
  }
  return since;
}

void UsageHistory::append(const UsageHistory& newer) {
  for (const Bucket& b : newer.buckets_) {
    if (buckets_.empty() || b.start >= buckets_.back().last) {
      if (!buckets_.empty()) absorb(buckets_.back());
      buckets_.push_back(b);
      notePeak();
    }
  }
}

namespace {

constexpr std::string_view kHistoryVersion = "v2";
constexpr std::string_view kBucketsOnlyVersion = "v1";  // before the days
// More buckets than any span needs (a week of 5-second buckets): a longer
// value is not one this sizer wrote.
constexpr std::size_t kMaxBuckets = 120'000;
constexpr std::int64_t kMaxCount = 1'000'000'000;
// Times from 1970 to 2200 (as Marathon's are read): a clock's, with room for
// differences that do not overflow.
constexpr std::int64_t kLatestNs = 7'258'118'400'000'000'000;
constexpr std::int64_t kLatestDay = kLatestNs / 86'400'000'000'000;
bool saneNs(std::optional<std::int64_t> ns) { return ns && *ns >= 0 && *ns <= kLatestNs; }
bool saneDay(std::optional<std::int64_t> day) { return day && *day >= 0 && *day <= kLatestDay; }

std::string nanoseconds(TimePoint t) { return std::to_string(t.time_since_epoch().count()); }

// "cpu figure 1000 is above the ceiling of 16 (--max-cpus)".
std::string aboveCeiling(std::string_view what, double value, double ceiling, std::string_view flag) {
  return std::string(what) + " " + formatRounded(value, 3) + " is above the ceiling of " + formatRounded(ceiling, 3) +
         " (" + std::string(flag) + ")";
}

}  // namespace

std::string UsageHistory::encode() const {
  std::string out(kHistoryVersion);
  out += '\n';
  for (const Bucket& b : buckets_) {
    out += nanoseconds(b.start) + ' ' + nanoseconds(b.last) + ' ' + formatExact(b.cpu_avg_sum) + ' ' +
           std::to_string(b.cpu_count) + ' ' + formatExact(b.cpu_p95) + ' ' + formatExact(b.mem_used_sum) + ' ' +
           std::to_string(b.mem_count) + ' ' + formatExact(b.mem_peak) + '\n';
  }
  for (const auto& [day, peak] : days_) out += "day " + std::to_string(day) + ' ' + formatExact(peak) + '\n';
  for (std::size_t hour = 0; hour < hours_.size(); ++hour) {
    const HourSlot& s = hours_[hour];
    if (s.days == 0) continue;
    out += "hour " + std::to_string(hour) + ' ' + std::to_string(s.last_day) + ' ' + std::to_string(s.days) + ' ' +
           formatExact(s.weight) + ' ' + formatExact(s.mean) + ' ' + formatExact(s.mean_sq) + ' ' +
           formatExact(s.peak) + ' ' + formatExact(s.base_mean) + ' ' + formatExact(s.base_mean_sq) + ' ' +
           std::to_string(s.base_days) + '\n';
  }
  if (!cpu_weights_.empty()) {
    out += "cpu " + nanoseconds(cpu_reference_);
    for (const auto& [index, weight] : cpu_weights_) out += ' ' + std::to_string(index) + ':' + formatExact(weight);
    out += '\n';
  }
  return out;
}

Expected<UsageHistory> UsageHistory::decode(std::string_view text, HistoryOptions options) {
  UsageHistory history(options);
  std::size_t line_number = 0;
  const auto bad = [&line_number](const std::string& what) {
    return Error(ErrorKind::kInvalidValue, "usage history, line " + std::to_string(line_number) + ": " + what);
  };
  while (!text.empty()) {
    const auto end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    ++line_number;
    if (line_number == 1) {
      if (line != kHistoryVersion && line != kBucketsOnlyVersion) {
        return bad("expected \"" + std::string(kHistoryVersion) + "\"");
      }
      continue;
    }
    std::vector<std::string_view> fields;
    for (std::string_view rest = line; !rest.empty();) {
      const auto space = rest.find(' ');
      fields.push_back(rest.substr(0, space));
      rest.remove_prefix(space == std::string_view::npos ? rest.size() : space + 1);
    }
    if (!fields.empty() && fields[0] == "day") {
      const auto day = fields.size() == 3 ? parseInt64(fields[1]) : std::nullopt;
      const auto peak = fields.size() == 3 ? parseDouble(fields[2]) : std::nullopt;
      if (!saneDay(day) || !peak || *peak < 0) return bad("expected \"day <UTC day> <memory peak>\"");
      if (*peak > options.max_mem_mib) return bad(aboveCeiling("memory peak", *peak, options.max_mem_mib, "--max-mem"));
      if (!history.days_.empty() && *day <= history.days_.back().first) return bad("a day not after the one before it");
      if (history.days_.size() >= kMaxDays) return bad("more than " + std::to_string(kMaxDays) + " days");
      history.days_.emplace_back(*day, *peak);
      continue;
    }
    if (!fields.empty() && fields[0] == "hour") {
      const auto number = [&](std::size_t i) { return fields.size() == 11 ? parseDouble(fields[i]) : std::nullopt; };
      const auto whole = [&](std::size_t i) { return fields.size() == 11 ? parseInt64(fields[i]) : std::nullopt; };
      const auto hour = whole(1), last_day = whole(2), days = whole(3), base_days = whole(10);
      const auto weight = number(4), mean = number(5), mean_sq = number(6), peak = number(7), base_mean = number(8),
                 base_mean_sq = number(9);
      const bool figures = weight && mean && mean_sq && peak && base_mean && base_mean_sq && *weight >= 0 &&
                           *mean >= 0 && *mean_sq >= 0 && *peak >= 0 && *base_mean >= 0 && *base_mean_sq >= 0;
      if (!hour || *hour < 0 || *hour > 23 || !saneDay(last_day) || !days || *days < 1 || *days > kMaxProfileDays ||
          !base_days || *base_days < 0 || *base_days >= *days || !figures) {
        return bad(
            "expected \"hour <0-23> <last day> <days> <weight> <mean> <mean of squares> <peak> <base mean> "
            "<base mean of squares> <base days>\", figures non-negative, base days below days");
      }
      if (std::max({*mean, *peak, *base_mean}) > options.max_cpus) {
        return bad(aboveCeiling("cpu figure", std::max({*mean, *peak, *base_mean}), options.max_cpus, "--max-cpus"));
      }
      HourSlot slot{.last_day = *last_day,
                    .days = static_cast<int>(*days),
                    .weight = *weight,
                    .mean = *mean,
                    .mean_sq = *mean_sq,
                    .peak = *peak,
                    .base_mean = *base_mean,
                    .base_mean_sq = *base_mean_sq,
                    .base_days = static_cast<int>(*base_days)};
      HourSlot& into = history.hours_[static_cast<std::size_t>(*hour)];
      if (into.days > 0) return bad("an hour given twice");
      into = slot;
      continue;
    }
    if (!fields.empty() && fields[0] == "cpu") {
      const auto reference = fields.size() >= 2 ? parseInt64(fields[1]) : std::nullopt;
      if (!saneNs(reference) || !history.cpu_weights_.empty())
        return bad("expected one \"cpu <reference ns> <bucket>:<weight> ...\"");
      history.cpu_reference_ = TimePoint(Duration(*reference));
      for (std::size_t i = 2; i < fields.size(); ++i) {
        const auto colon = fields[i].find(':');
        const auto index = colon == std::string_view::npos ? std::nullopt : parseInt64(fields[i].substr(0, colon));
        const auto weight = colon == std::string_view::npos ? std::nullopt : parseDouble(fields[i].substr(colon + 1));
        if (!index || *index < 0 || *index >= kHistogramBuckets || !weight || !(*weight > 0) ||
            !insertWeight(history.cpu_weights_, static_cast<int>(*index), *weight)) {
          return bad("\"" + sanitizeUtf8(fields[i].substr(0, 40)) + "\" is not <bucket 0-" +
                     std::to_string(kHistogramBuckets - 1) + ">:<positive weight>, each bucket once");
        }
        if (histogramLower(static_cast<int>(*index)) > options.max_cpus) {
          return bad(aboveCeiling("cpu histogram bucket", histogramLower(static_cast<int>(*index)), options.max_cpus,
                                  "--max-cpus"));
        }
      }
      if (history.cpu_weights_.empty()) return bad("a CPU histogram without buckets");
      continue;
    }
    if (!history.days_.empty() || !history.cpu_weights_.empty() ||
        std::any_of(history.hours_.begin(), history.hours_.end(), [](const HourSlot& h) { return h.days > 0; })) {
      return bad("a bucket after the days");
    }
    if (history.buckets_.size() >= kMaxBuckets) return bad("more than " + std::to_string(kMaxBuckets) + " buckets");
    if (fields.size() != 8) return bad("expected 8 fields, got " + std::to_string(fields.size()));
    const auto start = parseInt64(fields[0]);
    const auto last = parseInt64(fields[1]);
    if (!saneNs(start) || !saneNs(last) || *last < *start) {
      return bad("times are not nanoseconds from 1970 to 2200 with start <= last");
    }
    const auto count = [](std::string_view field) -> std::optional<int> {
      const auto n = parseInt64(field);
      if (!n || *n < 0 || *n > kMaxCount) return std::nullopt;
      return static_cast<int>(*n);
    };
    const auto figure = [](std::string_view field) -> std::optional<double> {
      const auto x = parseDouble(field);
      if (!x || *x < 0) return std::nullopt;
      return x;
    };
    Bucket b;
    b.start = TimePoint(Duration(*start));
    b.last = TimePoint(Duration(*last));
    const auto cpu_sum = figure(fields[2]);
    const auto cpu_count = count(fields[3]);
    const auto cpu_p95 = figure(fields[4]);
    const auto mem_sum = figure(fields[5]);
    const auto mem_count = count(fields[6]);
    const auto mem_peak = figure(fields[7]);
    if (!cpu_sum || !cpu_count || !cpu_p95 || !mem_sum || !mem_count || !mem_peak) {
      return bad("figures must be finite and non-negative, counts whole numbers");
    }
    if (*cpu_count == 0) return bad("a bucket without CPU figures");
    if (const double cpu = std::max(*cpu_sum / *cpu_count, *cpu_p95); cpu > options.max_cpus) {
      return bad(aboveCeiling("cpu figure", cpu, options.max_cpus, "--max-cpus"));
    }
    if (const double mem = std::max(*mem_count > 0 ? *mem_sum / *mem_count : 0.0, *mem_peak);
        mem > options.max_mem_mib) {
      return bad(aboveCeiling("memory figure", mem, options.max_mem_mib, "--max-mem"));
    }
    b.cpu_avg_sum = *cpu_sum;
    b.cpu_count = *cpu_count;
    b.cpu_p95 = *cpu_p95;
    b.mem_used_sum = *mem_sum;
    b.mem_count = *mem_count;
    b.mem_peak = *mem_peak;
    if (!history.buckets_.empty() && b.start < history.buckets_.back().last) {
      return bad("a bucket older than the one before it");
    }
    history.buckets_.push_back(b);
    history.notePeak();
  }
  if (line_number == 0) return Error(ErrorKind::kInvalidValue, "usage history: empty");
  return history;
}

}  // namespace rightsize::sizing
