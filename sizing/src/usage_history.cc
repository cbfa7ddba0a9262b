#include "rightsize/sizing/usage_history.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "rightsize/core/text.h"

namespace rightsize::sizing {

void UsageHistory::add(TimePoint at, const AppUsage& usage) {
  if (!usage.cpu_used_avg || !std::isfinite(*usage.cpu_used_avg)) return;
  // The clock stepped back: the buckets' times mean nothing now.
  if (!buckets_.empty() && at < buckets_.back().last) buckets_.clear();
  if (buckets_.empty() || at - buckets_.back().start >= options_.bucket) {
    Bucket bucket;
    bucket.start = at;
    buckets_.push_back(bucket);
  }
  Bucket& b = buckets_.back();
  b.last = at;
  b.cpu_avg_sum += *usage.cpu_used_avg;
  ++b.cpu_count;
  b.cpu_p95 = std::max(b.cpu_p95, usage.cpu_used_p95.value_or(*usage.cpu_used_avg));
  if (usage.mem_used_mib && std::isfinite(*usage.mem_used_mib)) {
    b.mem_used_sum += *usage.mem_used_mib;
    ++b.mem_count;
    b.mem_peak = std::max({b.mem_peak, *usage.mem_used_mib, usage.mem_peak_mib.value_or(0)});
  }
  const Duration kept = std::max(options_.span, options_.mem_span);
  while (!buckets_.empty() && at - buckets_.front().last > kept) buckets_.pop_front();
}

namespace {

// The nearest-rank `share` percentile of `values` (not empty); reorders them.
double nearestRank(std::vector<double>& values, double share) {
  const double rank = std::ceil(std::clamp(share, 0.0, 1.0) * static_cast<double>(values.size()));
  const auto index = static_cast<std::size_t>(std::max(rank, 1.0)) - 1;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(index), values.end());
  return values[index];
}

}  // namespace

Percentiles percentilesOf(const AppSettings& settings) {
  const Percentiles defaults;
  return {settings.cpu_percentile.value_or(defaults.cpu), settings.mem_percentile.value_or(defaults.mem)};
}

AppUsage UsageHistory::summarize(TimePoint now, const AppUsage& latest, const Percentiles& percentiles) const {
  AppUsage out = latest;
  if (buckets_.empty()) return out;
  double cpu_sum = 0, mem_sum = 0;
  int cpu_n = 0, mem_n = 0;
  std::vector<double> p95s;
  p95s.reserve(buckets_.size());
  std::vector<double> peaks;
  for (const Bucket& b : buckets_) {
    if (b.mem_count > 0 && now - b.last <= options_.mem_span) peaks.push_back(b.mem_peak);
    if (now - b.last > options_.span) continue;
    p95s.push_back(b.cpu_p95);
    if (now - b.last < options_.mean_span) {
      cpu_sum += b.cpu_avg_sum;
      cpu_n += b.cpu_count;
      mem_sum += b.mem_used_sum;
      mem_n += b.mem_count;
    }
  }
  if (p95s.empty()) return out;
  // The larger of now and the recent mean: use that rises shows at once (a
  // hot spot), use that falls only once the mean has followed (no shrink on a
  // lull).
  // (An app known only from its lag has no figure now: the mean alone.)
  if (cpu_n > 0) out.cpu_used_avg = std::max(latest.cpu_used_avg.value_or(0), cpu_sum / cpu_n);
  // The nearest-rank percentile (95th) of the buckets' largest p95s.
  out.cpu_used_p95 = std::max(nearestRank(p95s, percentiles.cpu), out.cpu_used_avg.value_or(0));
  if (latest.mem_used_mib && !peaks.empty()) {
    if (mem_n > 0) out.mem_used_mib = std::max(*latest.mem_used_mib, mem_sum / mem_n);
    // The highest of the buckets' peaks by default (and the latest figures'
    // peak): memory needed once is needed again. A lower percentile (an app's
    // label) leaves out the rarest peaks.
    out.mem_peak_mib = std::max({nearestRank(peaks, percentiles.mem), *out.mem_used_mib,
                                 percentiles.mem < 1 ? 0.0 : latest.mem_peak_mib.value_or(0)});
  }
  out.history = now - buckets_.front().start;
  return out;
}

std::optional<TimePoint> UsageHistory::oldest() const {
  if (buckets_.empty()) return std::nullopt;
  return buckets_.front().start;
}

void UsageHistory::append(const UsageHistory& newer) {
  for (const Bucket& b : newer.buckets_) {
    if (buckets_.empty() || b.start >= buckets_.back().last) buckets_.push_back(b);
  }
}

namespace {

constexpr std::string_view kHistoryVersion = "v1";
// More buckets than any span needs (a week of 5-second buckets): a longer
// value is not one this sizer wrote.
constexpr std::size_t kMaxBuckets = 120'000;
constexpr std::int64_t kMaxCount = 1'000'000'000;

std::string nanoseconds(TimePoint t) { return std::to_string(t.time_since_epoch().count()); }

}  // namespace

std::string UsageHistory::encode() const {
  std::string out(kHistoryVersion);
  out += '\n';
  for (const Bucket& b : buckets_) {
    out += nanoseconds(b.start) + ' ' + nanoseconds(b.last) + ' ' + formatExact(b.cpu_avg_sum) + ' ' +
           std::to_string(b.cpu_count) + ' ' + formatExact(b.cpu_p95) + ' ' + formatExact(b.mem_used_sum) + ' ' +
           std::to_string(b.mem_count) + ' ' + formatExact(b.mem_peak) + '\n';
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
      if (line != kHistoryVersion) return bad("expected \"" + std::string(kHistoryVersion) + "\"");
      continue;
    }
    if (history.buckets_.size() >= kMaxBuckets) return bad("more than " + std::to_string(kMaxBuckets) + " buckets");
    std::vector<std::string_view> fields;
    for (std::string_view rest = line; !rest.empty();) {
      const auto space = rest.find(' ');
      fields.push_back(rest.substr(0, space));
      rest.remove_prefix(space == std::string_view::npos ? rest.size() : space + 1);
    }
    if (fields.size() != 8) return bad("expected 8 fields, got " + std::to_string(fields.size()));
    const auto start = parseInt64(fields[0]);
    const auto last = parseInt64(fields[1]);
    if (!start || !last || *last < *start) return bad("times are not nanoseconds with start <= last");
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
  }
  if (line_number == 0) return Error(ErrorKind::kInvalidValue, "usage history: empty");
  return history;
}

}  // namespace rightsize::sizing
