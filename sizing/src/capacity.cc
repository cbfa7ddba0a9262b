#include "rightsize/sizing/capacity.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "rightsize/core/json.h"

namespace rightsize::sizing {
namespace {

void writeMarket(json::Writer& writer, const Market& market) {
  json::writeKey(writer, "instance_type");
  json::writeString(writer, market.instance_type);
  json::writeKey(writer, "zone");
  json::writeString(writer, market.zone);
}

Expected<Market> readMarket(const json::Value& object, const std::string& path) {
  auto type = json::getString(object, "instance_type", path);
  if (!type) return type.error();
  auto zone = json::getString(object, "zone", path);
  if (!zone) return zone.error();
  return Market{*type, *zone};
}

// Seconds since 1970 up to 2200: a checkpoint holding anything else was not
// written by encode().
Expected<TimePoint> readTime(const json::Value& object, std::string_view name, const std::string& path) {
  auto seconds = json::getNumber(object, name, path);
  if (!seconds) return seconds.error();
  if (*seconds < 0 || *seconds > 7'258'118'400.0) {
    return Error(ErrorKind::kInvalidValue, path + "." + std::string(name) + ": not Unix seconds");
  }
  return fromUnixSeconds(*seconds);
}

}  // namespace

std::string marketName(const Market& market) {
  return (market.instance_type.empty() ? "unknown" : market.instance_type) + "/" +
         (market.zone.empty() ? "unknown" : market.zone);
}

void HostLossTracker::forget(TimePoint now) {
  const TimePoint oldest = now - options_.window;
  std::erase_if(losses_, [&](const HostLoss& loss) { return loss.at < oldest; });
}

std::vector<HostLoss> HostLossTracker::observe(TimePoint now, const std::vector<HostFigures>& seen,
                                               const std::vector<std::string>& listed) {
  std::set<std::string> here;
  for (const HostFigures& host : seen) {
    here.insert(host.host);
    known_[host.host] = Known{host.market, now};
  }
  const std::set<std::string> still_listed(listed.begin(), listed.end());
  std::vector<HostLoss> found;
  for (auto it = known_.begin(); it != known_.end();) {
    const auto& [host, known] = *it;
    // Not answering but still listed: lost once it has been silent for
    // lost_after (an agent restarting, a slow scrape is no loss).
    const bool silent_too_long = now - known.last_seen >= options_.lost_after;
    if (here.contains(host) || (still_listed.contains(host) && !silent_too_long)) {
      ++it;
      continue;
    }
    found.push_back(HostLoss{host, known.market, known.last_seen});
    it = known_.erase(it);
  }
  std::sort(found.begin(), found.end(), [](const HostLoss& a, const HostLoss& b) { return a.at < b.at; });
  for (const HostLoss& loss : found) {
    const auto at = std::upper_bound(losses_.begin(), losses_.end(), loss.at,
                                     [](TimePoint t, const HostLoss& other) { return t < other.at; });
    losses_.insert(at, loss);
  }
  forget(now);
  return found;
}

std::map<Market, int> HostLossTracker::peakLosses(TimePoint now) const {
  const TimePoint oldest = now - options_.window;
  std::map<Market, std::vector<TimePoint>> by_market;
  for (const HostLoss& loss : losses_) {
    if (loss.at >= oldest) by_market[loss.market].push_back(loss.at);
  }
  std::map<Market, int> peaks;
  for (const auto& [market, times] : by_market) {
    // Times are in order: a window sliding over them, its end at each loss.
    int peak = 0;
    std::size_t first = 0;
    for (std::size_t last = 0; last < times.size(); ++last) {
      while (times[last] - times[first] > options_.lead_time) ++first;
      peak = std::max(peak, static_cast<int>(last - first + 1));
    }
    peaks[market] = peak;
  }
  return peaks;
}

std::string HostLossTracker::encode() const {
  rapidjson::StringBuffer buffer;
  json::Writer writer(buffer);
  writer.StartObject();
  json::writeKey(writer, "version");
  writer.Int(1);
  json::writeKey(writer, "hosts");
  writer.StartArray();
  for (const auto& [host, known] : known_) {
    writer.StartObject();
    json::writeKey(writer, "host");
    json::writeString(writer, host);
    writeMarket(writer, known.market);
    json::writeKey(writer, "last_seen");
    json::writeNumber(writer, toUnixSeconds(known.last_seen));
    writer.EndObject();
  }
  writer.EndArray();
  json::writeKey(writer, "losses");
  writer.StartArray();
  for (const HostLoss& loss : losses_) {
    writer.StartObject();
    json::writeKey(writer, "host");
    json::writeString(writer, loss.host);
    writeMarket(writer, loss.market);
    json::writeKey(writer, "at");
    json::writeNumber(writer, toUnixSeconds(loss.at));
    writer.EndObject();
  }
  writer.EndArray();
  writer.EndObject();
  return buffer.GetString();
}

Expected<HostLossTracker> HostLossTracker::decode(std::string_view text, HeadroomOptions options) {
  auto document = json::parse(text, "host losses");
  if (!document) return document.error();
  if (!document->IsObject()) return Error(ErrorKind::kMalformed, "host losses: expected a JSON object");
  auto version = json::getNumber(*document, "version", "host losses");
  if (!version) return version.error();
  if (*version != 1) return Error(ErrorKind::kInvalidValue, "host losses: version " + std::to_string(*version));
  HostLossTracker tracker(options);
  const json::Value* hosts = json::find(*document, "hosts");
  const json::Value* losses = json::find(*document, "losses");
  if (hosts == nullptr || !hosts->IsArray())
    return Error(ErrorKind::kMalformed, "host losses: hosts: expected an array");
  if (losses == nullptr || !losses->IsArray()) {
    return Error(ErrorKind::kMalformed, "host losses: losses: expected an array");
  }
  std::size_t index = 0;
  for (const auto& entry : hosts->GetArray()) {
    const std::string path = "host losses: hosts[" + std::to_string(index++) + "]";
    auto host = json::getString(entry, "host", path);
    if (!host) return host.error();
    auto market = readMarket(entry, path);
    if (!market) return market.error();
    auto last_seen = readTime(entry, "last_seen", path);
    if (!last_seen) return last_seen.error();
    tracker.known_[*host] = Known{std::move(*market), *last_seen};
  }
  index = 0;
  for (const auto& entry : losses->GetArray()) {
    const std::string path = "host losses: losses[" + std::to_string(index++) + "]";
    auto host = json::getString(entry, "host", path);
    if (!host) return host.error();
    auto market = readMarket(entry, path);
    if (!market) return market.error();
    auto at = readTime(entry, "at", path);
    if (!at) return at.error();
    if (!tracker.losses_.empty() && *at < tracker.losses_.back().at) {
      return Error(ErrorKind::kInvalidValue, path + ".at: before the loss before it");
    }
    tracker.losses_.push_back(HostLoss{std::move(*host), std::move(*market), *at});
  }
  return tracker;
}

std::vector<HostFigures> hostsFromReports(const std::vector<AgentReport>& reports) {
  std::vector<HostFigures> hosts;
  for (const AgentReport& report : reports) {
    if (!report.reachable) continue;
    HostFigures host{.host = report.url,
                     .market = Market{report.place.instance_type, report.place.zone},
                     .lifecycle = report.place.lifecycle,
                     .capacity_cores = report.host_capacity_cores,
                     .capacity_bytes = report.host_capacity_bytes};
    for (const wire::Container& container : report.containers) {
      host.reserved_cores += container.cpu.reserved_cores.value_or(0);
      host.reserved_bytes += container.mem.reserved_bytes.value_or(0);
    }
    hosts.push_back(std::move(host));
  }
  return hosts;
}

std::vector<std::string> listedHosts(const std::vector<AgentReport>& reports) {
  std::vector<std::string> urls;
  urls.reserve(reports.size());
  for (const AgentReport& report : reports) urls.push_back(report.url);
  return urls;
}

std::vector<MarketCapacity> fleetCapacity(const std::vector<HostFigures>& hosts, const HostLossTracker& tracker,
                                          const HeadroomOptions& options, TimePoint now) {
  std::map<Market, MarketCapacity> markets;
  for (const HostFigures& host : hosts) {
    MarketCapacity& market = markets[host.market];
    market.market = host.market;
    ++market.hosts;
    if (host.lifecycle == "spot") ++market.spot_hosts;
    market.reserved_cores += host.reserved_cores;
    market.reserved_bytes += host.reserved_bytes;
    if (host.capacity_cores) {
      market.capacity_cores += *host.capacity_cores;
      market.free_cores += *host.capacity_cores - host.reserved_cores;
    }
    if (host.capacity_bytes) {
      market.capacity_bytes += *host.capacity_bytes;
      market.free_bytes += *host.capacity_bytes - host.reserved_bytes;
    }
  }
  for (const auto& [key, peak] : tracker.peakLosses(now)) {
    MarketCapacity& market = markets[key];
    market.market = key;
    market.peak_losses = peak;
  }
  std::vector<MarketCapacity> out;
  for (auto& [key, market] : markets) {
    // A lost host is taken as an average one of its market: its tasks'
    // reservations are what must land elsewhere. A market with no host left
    // needs nothing of its own (its tasks went to other markets already).
    if (market.hosts > 0) {
      const double per_host = market.peak_losses * options.multiple / market.hosts;
      market.needed_cores = market.reserved_cores * per_host;
      market.needed_bytes = market.reserved_bytes * per_host;
    }
    out.push_back(std::move(market));
  }
  return out;
}

bool eatsHeadroom(const MarketCapacity& market, double cores, double bytes) {
  return (cores > 0 && market.needed_cores > 0 && market.free_cores - cores < market.needed_cores) ||
         (bytes > 0 && market.needed_bytes > 0 && market.free_bytes - bytes < market.needed_bytes);
}

}  // namespace rightsize::sizing
