#include "rightsize/sizing/usage_history.h"

#include <algorithm>
#include <cmath>
#include <vector>

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

AppUsage UsageHistory::summarize(TimePoint now, const AppUsage& latest) const {
  AppUsage out = latest;
  if (buckets_.empty()) return out;
  double cpu_sum = 0, mem_sum = 0;
  int cpu_n = 0, mem_n = 0;
  std::vector<double> p95s;
  p95s.reserve(buckets_.size());
  double peak = 0;
  bool any_mem = false;
  for (const Bucket& b : buckets_) {
    if (b.mem_count > 0 && now - b.last <= options_.mem_span) {
      peak = std::max(peak, b.mem_peak);
      any_mem = true;
    }
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
  if (cpu_n > 0) out.cpu_used_avg = std::max(*latest.cpu_used_avg, cpu_sum / cpu_n);
  // The nearest-rank 95th percentile of the buckets' largest p95s.
  const auto rank = static_cast<std::size_t>(std::ceil(0.95 * static_cast<double>(p95s.size()))) - 1;
  std::nth_element(p95s.begin(), p95s.begin() + static_cast<std::ptrdiff_t>(rank), p95s.end());
  out.cpu_used_p95 = std::max(p95s[rank], out.cpu_used_avg.value_or(0));
  if (latest.mem_used_mib && any_mem) {
    if (mem_n > 0) out.mem_used_mib = std::max(*latest.mem_used_mib, mem_sum / mem_n);
    out.mem_peak_mib = std::max({peak, *out.mem_used_mib, latest.mem_peak_mib.value_or(0)});
  }
  out.history = now - buckets_.front().start;
  return out;
}

}  // namespace rightsize::sizing
