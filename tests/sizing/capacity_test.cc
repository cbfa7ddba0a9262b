#include "rightsize/sizing/capacity.h"

#include <gtest/gtest.h>

#include "rightsize/core/units.h"

namespace rightsize::sizing {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

const TimePoint kStart = fromUnixSeconds(1'700'000'000);
const Market kFast{"c5.2xlarge", "eu-west-1a"};
const Market kSlow{"m4.2xlarge", "eu-west-1b"};

HostFigures host(std::string name, Market market, double reserved_cores, double capacity_cores = 8) {
  return HostFigures{.host = std::move(name),
                     .market = std::move(market),
                     .lifecycle = "spot",
                     .capacity_cores = capacity_cores,
                     .capacity_bytes = 32 * kGiB,
                     .reserved_cores = reserved_cores,
                     .reserved_bytes = reserved_cores * 2 * kGiB};
}

std::vector<HostFigures> fleet() {
  return {host("a1", kFast, 4), host("a2", kFast, 2), host("a3", kFast, 3), host("b1", kSlow, 6), host("b2", kSlow, 6)};
}

std::vector<HostFigures> without(std::vector<HostFigures> hosts, const std::string& name) {
  std::erase_if(hosts, [&](const HostFigures& h) { return h.host == name; });
  return hosts;
}

const MarketCapacity& marketOf(const std::vector<MarketCapacity>& markets, const Market& market) {
  for (const auto& m : markets) {
    if (m.market == market) return m;
  }
  throw std::runtime_error("no market " + marketName(market));
}

// A host of one instance type vanishes and comes back: the headroom its
// market needs rises to one host's worth times the multiple at once, holds
// while the loss is in the window, and falls back after it; the other
// market is untouched.
TEST(CapacityTest, AHostLostRaisesItsMarketsHeadroomUntilTheWindowEnds) {
  const HeadroomOptions options{.lead_time = minutes(5), .window = days(7), .multiple = 3};
  HostLossTracker tracker(options);
  TimePoint now = kStart;
  EXPECT_TRUE(tracker.observe(now, fleet()).empty());
  auto before = fleetCapacity(fleet(), tracker, options, now);
  EXPECT_EQ(marketOf(before, kFast).needed_cores, 0);
  EXPECT_EQ(marketOf(before, kFast).free_cores, 24 - 9);

  now += minutes(1);
  const auto lost = tracker.observe(now, without(fleet(), "a2"));
  ASSERT_EQ(lost.size(), 1U);
  EXPECT_EQ(lost[0].host, "a2");
  EXPECT_EQ(lost[0].market, kFast);
  EXPECT_EQ(lost[0].at, kStart);  // when it was last seen
  auto after = fleetCapacity(without(fleet(), "a2"), tracker, options, now);
  const MarketCapacity& fast = marketOf(after, kFast);
  EXPECT_EQ(fast.hosts, 2);
  EXPECT_EQ(fast.peak_losses, 1);
  // One lost host × 3, at the mean reservation of the market's hosts (3.5).
  EXPECT_DOUBLE_EQ(fast.needed_cores, 3 * 3.5);
  EXPECT_DOUBLE_EQ(fast.needed_bytes, 3 * 7 * kGiB);
  EXPECT_DOUBLE_EQ(fast.free_cores, 16 - 7);
  EXPECT_TRUE(fast.short_of_headroom());
  EXPECT_EQ(marketOf(after, kSlow).needed_cores, 0);
  EXPECT_FALSE(marketOf(after, kSlow).short_of_headroom());

  // It comes back: known again, its loss still counts.
  now += hours(1);
  EXPECT_TRUE(tracker.observe(now, fleet()).empty());
  EXPECT_EQ(tracker.knownHosts(), 5U);
  EXPECT_DOUBLE_EQ(marketOf(fleetCapacity(fleet(), tracker, options, now), kFast).needed_cores, 3 * 3);

  // A week after the loss it has left the window.
  now = kStart + days(7) + seconds(1);
  tracker.observe(now, fleet());
  const auto later = fleetCapacity(fleet(), tracker, options, now);
  EXPECT_EQ(marketOf(later, kFast).peak_losses, 0);
  EXPECT_EQ(marketOf(later, kFast).needed_cores, 0);
  EXPECT_TRUE(tracker.losses().empty());
}

// A host still listed (its agent's task is there) but not answering is
// lost only after lost_after; before that a slow or restarting agent is no
// loss.
TEST(CapacityTest, AnUnansweringHostIsLostOnlyAfterLostAfter) {
  const HeadroomOptions options{.lost_after = minutes(2)};
  HostLossTracker tracker(options);
  tracker.observe(kStart, fleet());
  const std::vector<std::string> listed{"a1", "a2", "a3", "b1", "b2"};
  EXPECT_TRUE(tracker.observe(kStart + minutes(1), without(fleet(), "b1"), listed).empty());
  EXPECT_TRUE(tracker.observe(kStart + seconds(110), without(fleet(), "b1"), listed).empty());
  const auto lost = tracker.observe(kStart + minutes(2), without(fleet(), "b1"), listed);
  ASSERT_EQ(lost.size(), 1U);
  EXPECT_EQ(lost[0].host, "b1");
  EXPECT_EQ(lost[0].at, kStart);  // last seen
  // Answering again within lost_after: no loss.
  tracker.observe(kStart + minutes(3), fleet(), listed);
  EXPECT_TRUE(tracker.observe(kStart + minutes(4), without(fleet(), "a1"), listed).empty());
  EXPECT_TRUE(tracker.observe(kStart + minutes(5), fleet(), listed).empty());
  EXPECT_EQ(tracker.losses().size(), 1U);
}

// The peak counts the losses within one lead time: three hosts gone within
// five minutes is three; losses spread wider count one at a time.
TEST(CapacityTest, ThePeakIsTheMostLostWithinTheLeadTime) {
  const HeadroomOptions options{.lead_time = minutes(5), .window = days(7), .multiple = 3};
  HostLossTracker tracker(options);
  std::vector<HostFigures> hosts;
  for (int i = 0; i < 8; ++i) hosts.push_back(host("h" + std::to_string(i), kFast, 2));
  TimePoint now = kStart;
  tracker.observe(now, hosts);
  // h0, h1 six minutes apart: one at a time.
  for (const std::string name : {"h0", "h1"}) {
    now += minutes(6);
    hosts = without(hosts, name);
    tracker.observe(now - minutes(1), hosts);  // seen a minute before going
    EXPECT_EQ(tracker.observe(now, hosts).size(), 0U);
  }
  EXPECT_EQ(tracker.peakLosses(now).at(kFast), 1);
  // h2, h3, h4 within four minutes.
  now += hours(1);
  tracker.observe(now, hosts);
  for (const std::string name : {"h2", "h3", "h4"}) {
    now += minutes(2);
    tracker.observe(now, hosts);
    hosts = without(hosts, name);
  }
  tracker.observe(now + minutes(1), hosts);
  EXPECT_EQ(tracker.losses().size(), 5U);
  EXPECT_EQ(tracker.peakLosses(now).at(kFast), 3);
  const auto markets = fleetCapacity(hosts, tracker, options, now);
  EXPECT_DOUBLE_EQ(marketOf(markets, kFast).needed_cores, 3 * 3 * 2.0);
}

TEST(CapacityTest, CheckpointRoundTripsAndRefusesWhatItCouldNotHaveWritten) {
  HostLossTracker tracker;
  tracker.observe(kStart, fleet());
  tracker.observe(kStart + minutes(1), without(without(fleet(), "a1"), "b2"));
  const std::string text = tracker.encode();
  auto restored = HostLossTracker::decode(text, {});
  ASSERT_TRUE(restored) << restored.error().message();
  EXPECT_EQ(restored->encode(), text);
  EXPECT_EQ(restored->losses(), tracker.losses());
  EXPECT_EQ(restored->knownHosts(), 3U);
  // A new leader restored from it notices a host that went while it was
  // away.
  const auto lost = restored->observe(kStart + minutes(3), without(without(without(fleet(), "a1"), "b2"), "a3"));
  ASSERT_EQ(lost.size(), 1U);
  EXPECT_EQ(lost[0].host, "a3");

  for (const auto& [bad, what] : std::vector<std::pair<std::string, std::string>>{
           {"[]", "expected a JSON object"},
           {R"({"version":2,"hosts":[],"losses":[]})", "version"},
           {R"({"version":1,"losses":[]})", "hosts"},
           {R"({"version":1,"hosts":[{"host":"x","instance_type":"t","zone":"z","last_seen":-5}],"losses":[]})",
            "hosts[0].last_seen"},
           {R"({"version":1,"hosts":[],"losses":[{"host":"x","instance_type":"t","zone":"z","at":10},)"
            R"({"host":"y","instance_type":"t","zone":"z","at":5}]})",
            "losses[1].at"},
           {R"({"version":1,"hosts":[{"host":"x","zone":"z","last_seen":5}],"losses":[]})", "instance_type"},
       }) {
    auto decoded = HostLossTracker::decode(bad, {});
    ASSERT_FALSE(decoded) << bad;
    EXPECT_NE(decoded.error().message().find(what), std::string::npos) << decoded.error().message();
  }
}

TEST(CapacityTest, AGrowThatWouldLeaveTheMarketBelowItsHeadroomEatsIt) {
  MarketCapacity market;
  market.free_cores = 10;
  market.needed_cores = 6;
  market.free_bytes = 10 * kGiB;
  market.needed_bytes = 4 * kGiB;
  EXPECT_FALSE(eatsHeadroom(market, 4, 6 * kGiB));
  EXPECT_TRUE(eatsHeadroom(market, 4.5, 0));
  EXPECT_TRUE(eatsHeadroom(market, 0, 6.5 * kGiB));
  EXPECT_FALSE(eatsHeadroom(market, -3, -1));  // a shrink never does
  // A market that lost no host needs none, even reserved beyond capacity.
  MarketCapacity over;
  over.free_cores = -2;
  over.free_bytes = -kGiB;
  EXPECT_FALSE(over.short_of_headroom());
  EXPECT_FALSE(eatsHeadroom(over, 1, kGiB));
  EXPECT_EQ(marketName(Market{}), "unknown/unknown");
  EXPECT_EQ(marketName(kFast), "c5.2xlarge/eu-west-1a");
}

}  // namespace
}  // namespace rightsize::sizing
