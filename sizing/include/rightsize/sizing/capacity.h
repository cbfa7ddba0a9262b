#pragma once

// Fleet capacity: the headroom a fleet needs for hosts that vanish (a spot
// host is taken back with minutes of notice, and its tasks must land
// elsewhere at once), and the free capacity it has (docs/capacity.md).
//
// The sizer sees the hosts through their agents. A host that was seen and
// then is not (its agent no longer listed, or unreachable for `lost_after`)
// is lost, at the time it was last seen. Per market (instance type × zone)
// the tracker keeps the losses of the last `window` and gives the most lost
// within any `lead_time` (the time a replacement takes to arrive): that many
// hosts' worth of tasks must fit in what the market has free, `multiple`
// times over. A host that comes back is known again; its loss still counts
// until it leaves the window.

#include <compare>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rightsize/core/clock.h"
#include "rightsize/core/status.h"
#include "rightsize/sizing/agent_reader.h"

namespace rightsize::sizing {

struct Market {
  std::string instance_type;  // "": not known
  std::string zone;           // "": not known
  auto operator<=>(const Market&) const = default;
};
// "m5.xlarge/us-east-1a"; an unknown part is "unknown".
std::string marketName(const Market& market);

// One host as its agent reports it this cycle.
struct HostFigures {
  std::string host;
  Market market;
  std::string lifecycle;                 // "spot", "on-demand" or "" (not known)
  std::optional<double> capacity_cores;  // the host's, when known
  std::optional<double> capacity_bytes;
  double reserved_cores = 0;  // the reservations of its tasks (every framework's)
  double reserved_bytes = 0;
};

struct HeadroomOptions {
  Duration lead_time = std::chrono::minutes(5);   // --headroom-lead-time
  Duration window = std::chrono::days(7);         // --headroom-window
  double multiple = 3;                            // --headroom-multiple
  Duration lost_after = std::chrono::minutes(2);  // --host-lost-after: unreachable this long = lost
};

struct HostLoss {
  std::string host;
  Market market;
  TimePoint at{};  // when it was last seen
  bool operator==(const HostLoss&) const = default;
};

// Thread-safety: none; the sizer's cycle owns it.
class HostLossTracker {
 public:
  explicit HostLossTracker(HeadroomOptions options = {}) : options_(options) {}

  // The hosts seen this cycle (their agents answered) and, of the hosts
  // known before, those still listed but not answering (`listed`, by host
  // name: they are lost only after `lost_after`). Returns the hosts found
  // lost by this call.
  std::vector<HostLoss> observe(TimePoint now, const std::vector<HostFigures>& seen,
                                const std::vector<std::string>& listed = {});

  // Per market, the most hosts lost within any `lead_time` over the last
  // `window` (markets with a loss in the window only).
  std::map<Market, int> peakLosses(TimePoint now) const;

  const std::vector<HostLoss>& losses() const { return losses_; }
  std::size_t knownHosts() const { return known_.size(); }

  // The tracker as the sizer checkpoints it (JSON: the known hosts and the
  // losses in the window), and back. decode() refuses what encode() could
  // not have written, naming the member.
  std::string encode() const;
  static Expected<HostLossTracker> decode(std::string_view text, HeadroomOptions options);

 private:
  struct Known {
    Market market;
    TimePoint last_seen{};
  };
  void forget(TimePoint now);
  HeadroomOptions options_;
  std::map<std::string, Known> known_;  // by host
  std::vector<HostLoss> losses_;        // in time order, within the window
};

// A market's capacity against the headroom it needs.
struct MarketCapacity {
  Market market;
  int hosts = 0;              // hosts reporting now
  int spot_hosts = 0;         // of which spot
  int peak_losses = 0;        // most hosts lost within the lead time, over the window
  double capacity_cores = 0;  // of the hosts whose capacity is known
  double capacity_bytes = 0;
  double reserved_cores = 0;
  double reserved_bytes = 0;
  double free_cores = 0;  // capacity - reserved, over the hosts whose capacity is known
  double free_bytes = 0;
  // peak_losses × multiple × the market's mean reservation per host.
  double needed_cores = 0;
  double needed_bytes = 0;
  // Free below needed, for cores or memory. A market that lost no host needs
  // no headroom: one reserved beyond its capacity (revocable resources, a
  // host reporting less than it offers) is not short of it.
  bool short_of_headroom() const {
    return (needed_cores > 0 && free_cores < needed_cores) || (needed_bytes > 0 && free_bytes < needed_bytes);
  }
};

// The hosts of the agents that answered this cycle, each told apart by its
// agent's URL (the agent's own host name may be missing or repeated), its
// reservations the sum of its containers' (every framework's tasks).
std::vector<HostFigures> hostsFromReports(const std::vector<AgentReport>& reports);
// The agents asked this cycle, answering or not (HostLossTracker::observe's
// `listed`).
std::vector<std::string> listedHosts(const std::vector<AgentReport>& reports);

// Every market with a host now or a loss in the window, by market.
std::vector<MarketCapacity> fleetCapacity(const std::vector<HostFigures>& hosts, const HostLossTracker& tracker,
                                          const HeadroomOptions& options, TimePoint now);

// Whether adding `cores` and `bytes` of reservations to `market` leaves it
// below its headroom (it was not before, or it is further below now); a
// market that needs none never is.
bool eatsHeadroom(const MarketCapacity& market, double cores, double bytes);

}  // namespace rightsize::sizing
