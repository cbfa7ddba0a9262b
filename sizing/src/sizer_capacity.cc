// The sizer's fleet capacity (docs/capacity.md): which hosts its agents
// show, which vanished, and what that means for each market's headroom.

#include <spdlog/spdlog.h>

#include <cstdio>

#include "rightsize/sizing/sizer.h"

namespace rightsize::sizing {
namespace {

constexpr std::string_view kStore = "redis";
constexpr double kMiB = 1024.0 * 1024.0;

std::string figure(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", value);
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

}  // namespace rightsize::sizing
