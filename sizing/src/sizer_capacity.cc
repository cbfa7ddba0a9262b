// The sizer's fleet capacity (docs/capacity.md): which hosts its agents
// show, which vanished, and what that means for each market's headroom.

#include <spdlog/spdlog.h>

#include <cstdio>

#include "shared.h"

#include "rightsize/core/units.h"
#include "rightsize/sizing/sizer.h"

namespace rightsize::sizing {
namespace {

using detail::kStore;

std::string figure(double value, int decimals = 1) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

}  // namespace

void Sizer::trackCapacity(const std::vector<AgentReport>& reports, TimePoint now, bool may_write) {
  // A new leader starts from the hosts and losses the last one saw: a host
  // that vanished while the lease changed hands is still noticed.
  if (lease_ && hosts_restored_for_ != lease_->token) {
    auto stored = store_.loadHostLosses();
    if (!stored) {
      errors_.record(kStore, stored.error());  // tried again next cycle
    } else {
      hosts_restored_for_ = lease_->token;
      if (*stored) {
        auto decoded = HostLossTracker::decode(**stored, options_.headroom);
        if (decoded) {
          hosts_ = std::move(*decoded);
        } else {
          errors_.record(kStore, decoded.error().withContext("the stored host losses (capacity:hosts)"));
        }
      }
    }
  }
  const std::vector<HostFigures> hosts = hostsFromReports(reports);
  const std::vector<HostLoss> lost = hosts_.observe(now, hosts, listedHosts(reports));
  for (const HostLoss& loss : lost) {
    ++capacity_.hosts_lost[loss.market];
    spdlog::warn("host {} ({}) is gone: last seen {:.0f} s ago", loss.host, marketName(loss.market),
                 toSeconds(now - loss.at));
  }
  if (may_write && lease_ &&
      (!lost.empty() || !hosts_saved_at_ || now - *hosts_saved_at_ >= options_.history.bucket ||
       now < *hosts_saved_at_)) {
    const Duration ttl = options_.headroom.window + options_.headroom.lead_time;
    if (Status saved = store_.saveHostLosses(hosts_.encode(), ttl, *lease_); saved) {
      hosts_saved_at_ = now;
    } else {
      errors_.record(kStore, saved.error());
    }
  }
  capacity_.known = true;
  capacity_.at = now;
  capacity_.markets = fleetCapacity(hosts, hosts_, options_.headroom, now);
  capacity_.losses = hosts_.losses();
  speed_.observe(reports);
  capacity_.speed = speed_.factors();
  app_markets_.clear();
  for (const AgentReport& report : reports) {
    if (!report.reachable) continue;
    const Market market{report.place.instance_type, report.place.zone};
    for (const wire::Container& container : report.containers) {
      if (!container.app_id.empty()) ++app_markets_[container.app_id][market];
    }
  }
}

void Sizer::markHeadroomEaters(SizerSnapshot& snapshot) const {
  if (!capacity_.known) return;
  std::map<Market, const MarketCapacity*> markets;
  for (const MarketCapacity& market : capacity_.markets) markets[market.market] = &market;
  for (AppView& view : snapshot.apps) {
    const auto found = app_markets_.find(view.app_id);
    if (found == app_markets_.end()) continue;
    // What the recommendation adds per task; a shrink adds nothing.
    const double cores = std::max(0.0, view.recommended_cpus.value_or(view.cpus) - view.cpus);
    const double bytes = std::max(0.0, view.recommended_mem_mib.value_or(view.mem_mib) - view.mem_mib) * kMiB;
    if (cores <= 0 && bytes <= 0) continue;
    for (const auto& [key, tasks] : found->second) {
      const auto market = markets.find(key);
      if (market == markets.end() || !eatsHeadroom(*market->second, cores * tasks, bytes * tasks)) continue;
      const MarketCapacity& m = *market->second;
      view.eats_headroom.push_back(marketName(key));
      view.reason += (view.reason.empty() ? "" : "; ") + std::string("its grow leaves ") + marketName(key) +
                     " below the headroom for lost hosts (" + figure(m.free_cores) + " cores free, " +
                     figure(m.needed_cores) + " needed; " + figure(m.free_bytes / kMiB / 1024) + " GiB free, " +
                     figure(m.needed_bytes / kMiB / 1024) + " needed)";
    }
  }
}

void Sizer::scaleForSpeed(std::map<std::string, AppUsage>& usage, const std::vector<MarathonApp>& apps) {
  speed_scales_.clear();
  speed_problems_.clear();
  std::vector<std::string> known;
  for (const SpeedFactor& factor : capacity_.speed) known.push_back(factor.instance_type);
  for (const MarathonApp& app : apps) {
    const auto figures = usage.find(app.id);
    const auto markets = app_markets_.find(app.id);
    if (figures == usage.end() || markets == app_markets_.end()) continue;
    std::vector<std::string> running_on;
    for (const auto& [market, tasks] : markets->second) {
      if (!market.instance_type.empty()) running_on.push_back(market.instance_type);
    }
    std::vector<std::string> problems;
    const auto allowed = allowedTypes(app.constraints, known, running_on, problems);
    for (const std::string& problem : problems) {
      errors_.record("labels", Error(ErrorKind::kInvalidValue, "app " + app.id + ": " + problem));
    }
    if (!problems.empty()) speed_problems_[app.id] = std::move(problems);
    const SpeedScale scale = speedScale(speed_, running_on, allowed);
    if (scale.scale == 1) continue;
    AppUsage& u = figures->second;
    for (std::optional<double>* cpu : {&u.cpu_used_avg, &u.cpu_used_p95, &u.cpu_used_sustained, &u.cpu_used_peak}) {
      if (*cpu) **cpu *= scale.scale;
    }
    speed_scales_[app.id] = scale;
  }
}

void Sizer::noteSpeed(SizerSnapshot& snapshot) const {
  for (AppView& view : snapshot.apps) {
    if (const auto problems = speed_problems_.find(view.app_id); problems != speed_problems_.end()) {
      view.label_errors.insert(view.label_errors.end(), problems->second.begin(), problems->second.end());
    }
    const auto found = speed_scales_.find(view.app_id);
    if (found == speed_scales_.end()) continue;
    const SpeedScale& scale = found->second;
    view.cpu_speed_scale = scale.scale;
    view.sized_for_instance_type = scale.sized_for;
    view.reason += (view.reason.empty() ? "" : "; ") + std::string("CPU sized for ") + scale.sized_for +
                   ", the slowest instance type it may land on (its use on " + scale.measured_on + " x" +
                   figure(scale.scale, 2) + ")";
  }
}

}  // namespace rightsize::sizing
