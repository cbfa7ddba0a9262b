// The sizer's fleet capacity (docs/capacity.md) end to end: the Marathon
// double places an app's tasks on four hosts of two instance types, each
// host has its own agent double reporting only its tasks, and the sizer
// reads them over HTTP as it reads a fleet's.

#include <gtest/gtest.h>

#include "rightsize/core/json.h"
#include "rightsize/core/units.h"
#include "rightsize/exporters/capacity_export.h"
#include "rightsize/exporters/sizer_http.h"
#include "rightsize/sizing/agent_reader.h"
#include "rightsize/sizing/sizer.h"
#include "rightsize/testing/fake_agent.h"
#include "rightsize/testing/fake_marathon.h"

namespace rightsize::sizing {
namespace {

using namespace std::chrono_literals;

const wire::HostPlace kFastHost{"c5.2xlarge", "eu-west-1a", "spot"};
const wire::HostPlace kSlowHost{"m4.2xlarge", "eu-west-1b", "on-demand"};

class CapacitySizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::FakeMarathonOptions marathon_options;
    marathon_options.default_hosts = {"fast-1", "fast-2", "slow-1", "slow-2"};
    marathon_ = std::make_unique<testing::FakeMarathon>(clock_, marathon_options);
    testing::FakeAppSpec web;
    web.id = "/shop/web";
    web.cpus = 1.5;
    web.mem_mib = 2048;
    web.instances = 4;  // one task a host
    web.labels = {{"rightsize.enabled", "true"}};
    ASSERT_TRUE(marathon_->addApp(web).ok());
    ASSERT_TRUE(marathon_->start({"127.0.0.1", 0}).ok());
    for (const auto& [host, place] :
         {std::pair{"fast-1", kFastHost}, {"fast-2", kFastHost}, {"slow-1", kSlowHost}, {"slow-2", kSlowHost}}) {
      startAgent(host, place, 0);
    }
  }

  testing::FakeAgent& startAgent(const std::string& host, const wire::HostPlace& place, std::uint16_t port) {
    testing::FakeAgent::Options options{.host = host,
                                        .only_its_tasks = true,
                                        .place = place,
                                        .capacity_cores = 4,
                                        .capacity_bytes = 8 * kGiB,
                                        .port = port};
    auto agent = std::make_unique<testing::FakeAgent>(*marathon_, options);
    EXPECT_TRUE(agent->start().ok());
    agent->set("/shop/web", {0.4, 0.6, 900});
    auto& started = *agent;
    agents_[host] = std::move(agent);
    return started;
  }

  SizerOptions options() const {
    SizerOptions o;
    o.mode = Mode::kApply;
    o.owner = "capacity-test";
    for (const char* host : {"fast-1", "fast-2", "slow-1", "slow-2"}) {
      o.agents.push_back("http://" + agents_.at(host)->address());
    }
    o.headroom = {.lead_time = 5min, .window = 24h, .multiple = 3, .lost_after = 2min};
    return o;
  }

  static const MarketCapacity& market(const FleetCapacityView& capacity, const wire::HostPlace& place) {
    for (const auto& m : capacity.markets) {
      if (m.market.instance_type == place.instance_type && m.market.zone == place.zone) return m;
    }
    throw std::runtime_error("no market " + place.instance_type);
  }

  ManualClock clock_;
  std::unique_ptr<testing::FakeMarathon> marathon_;
  std::map<std::string, std::unique_ptr<testing::FakeAgent>> agents_;
  CurlHttpClient http_;
  HttpAgentSource agents_source_{http_, 2s};
  exporters::SizerMetrics metrics_;
};

// One host of one instance type vanishes and comes back: its market's
// needed headroom rises to one host's worth × 3 once it has been silent
// for --host-lost-after, holds while the loss is in the window, and falls
// back after it; the other market needs nothing. A new sizer taking over
// from the store remembers the loss.
TEST_F(CapacitySizerTest, AHostLostRaisesItsMarketsHeadroomUntilTheWindowEnds) {
  HttpMarathonOptions marathon_options;
  marathon_options.urls = {marathon_->url()};
  HttpMarathonClient marathon(http_, marathon_options);
  MemoryStateStore store;
  auto first = std::make_unique<Sizer>(marathon, agents_source_, &store, clock_, metrics_, options());
  first->runCycle();
  auto capacity = first->snapshot()->capacity;
  ASSERT_TRUE(capacity.known);
  ASSERT_EQ(capacity.markets.size(), 2U);
  // Each host: one task of 1.5 + 0.1 cores (the executor's), 8 GiB.
  EXPECT_DOUBLE_EQ(market(capacity, kFastHost).reserved_cores, 2 * 1.6);
  EXPECT_DOUBLE_EQ(market(capacity, kFastHost).free_cores, 8 - 2 * 1.6);
  EXPECT_EQ(market(capacity, kFastHost).needed_cores, 0);
  EXPECT_EQ(market(capacity, kFastHost).spot_hosts, 2);

  const std::uint16_t port = static_cast<std::uint16_t>(std::stoi(agents_["fast-2"]->address().substr(10)));
  agents_["fast-2"]->stop();
  clock_.advance(30s);
  first->runCycle();
  EXPECT_EQ(market(first->snapshot()->capacity, kFastHost).peak_losses, 0);  // silent 30 s: not lost yet
  clock_.advance(2min);
  first->runCycle();
  capacity = first->snapshot()->capacity;
  const MarketCapacity& fast = market(capacity, kFastHost);
  EXPECT_EQ(fast.hosts, 1);
  EXPECT_EQ(fast.peak_losses, 1);
  EXPECT_DOUBLE_EQ(fast.needed_cores, 1 * 3 * 1.6);  // the loss × 3 × the mean reservation per host
  EXPECT_TRUE(fast.short_of_headroom());             // 4 - 1.6 free < 4.8
  EXPECT_EQ(market(capacity, kSlowHost).needed_cores, 0);
  ASSERT_EQ(capacity.losses.size(), 1U);
  EXPECT_EQ(capacity.losses[0].at, clock_.now() - 2min - 30s);  // last seen
  const std::string metrics = metrics_.render(*first->snapshot());
  EXPECT_NE(
      metrics.find(R"(rightsize_cluster_headroom_needed_cores{instance_type="c5.2xlarge",zone="eu-west-1a"} 4.8)"),
      std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find(R"(rightsize_cluster_hosts_lost_total{instance_type="c5.2xlarge",zone="eu-west-1a"} 1)"),
            std::string::npos)
      << metrics;
  const auto json = json::parse(exporters::capacityJson(capacity), "/v1/capacity");
  ASSERT_TRUE(json) << json.error().message();
  EXPECT_TRUE((*json)["markets"][0]["short"].GetBool());
  EXPECT_EQ((*json)["losses"].Size(), 1U);

  // It comes back on the same address: known again, its loss still counts.
  startAgent("fast-2", kFastHost, port);
  clock_.advance(1h);
  first->runCycle();
  EXPECT_EQ(market(first->snapshot()->capacity, kFastHost).hosts, 2);
  EXPECT_DOUBLE_EQ(market(first->snapshot()->capacity, kFastHost).needed_cores, 1 * 3 * 1.6);

  // Another sizer takes the lease over: it starts from the stored losses.
  first->resign();
  auto second = std::make_unique<Sizer>(marathon, agents_source_, &store, clock_, metrics_, options());
  second->runCycle();
  ASSERT_TRUE(second->snapshot()->leader);
  EXPECT_EQ(market(second->snapshot()->capacity, kFastHost).peak_losses, 1);

  // A day after the loss it has left the window.
  clock_.advance(23h);
  second->runCycle();
  EXPECT_EQ(market(second->snapshot()->capacity, kFastHost).peak_losses, 0);
  EXPECT_EQ(market(second->snapshot()->capacity, kFastHost).needed_cores, 0);
}

// An app that needs more CPU, with tasks on a market short of headroom: its
// grow is reported as eating that market's headroom (never held: an app
// short of CPU grows), the other market's is not named.
TEST_F(CapacitySizerTest, AGrowIntoAMarketShortOfHeadroomIsReported) {
  for (auto& [host, agent] : agents_) agent->set("/shop/web", {1.9, 2.4, 1700});
  HttpMarathonOptions marathon_options;
  marathon_options.urls = {marathon_->url()};
  HttpMarathonClient marathon(http_, marathon_options);
  SizerOptions o = options();
  o.mode = Mode::kRecommend;
  Sizer sizer(marathon, agents_source_, nullptr, clock_, metrics_, o);
  sizer.runCycle();
  agents_["fast-2"]->stop();
  for (int i = 0; i < 30; ++i) {  // 15 minutes: past --sustain
    clock_.advance(30s);
    sizer.runCycle();
  }
  const AppView& web = sizer.snapshot()->apps.at(0);
  ASSERT_TRUE(web.recommended_cpus);
  EXPECT_GT(*web.recommended_cpus, 1.5) << web.reason;
  EXPECT_EQ(web.eats_headroom, std::vector<std::string>{"c5.2xlarge/eu-west-1a"});
  EXPECT_NE(web.reason.find("leaves c5.2xlarge/eu-west-1a below the headroom for lost hosts"), std::string::npos)
      << web.reason;
  EXPECT_NE(metrics_.render(*sizer.snapshot()).find(R"(rightsize_app_grow_eats_headroom{app_id="/shop/web"} 1)"),
            std::string::npos);
}

// Three apps run a task on every host: theirs on the m4 hosts need 1.25
// times the CPU of those on c5, which teaches the sizer m4's factor once
// --speed-min-apps apps have shown it for --speed-min-samples cycles. Two
// more apps run on the c5 hosts only: /web may land anywhere and is sized
// for m4 (1.25 x its use), /pinned is held to c5 by its constraint and
// sized as measured. Before the factor is trusted, neither is scaled.
TEST_F(CapacitySizerTest, AnAppIsSizedForTheSlowestInstanceTypeItMayLandOn) {
  for (const char* id : {"/a", "/b", "/c"}) {
    testing::FakeAppSpec spec;
    spec.id = id;
    spec.cpus = 2;
    spec.instances = 4;
    ASSERT_TRUE(marathon_->addApp(spec).ok());
    for (const char* host : {"fast-1", "fast-2"}) agents_[host]->set(id, {0.8, 0.9, 100});
    for (const char* host : {"slow-1", "slow-2"}) agents_[host]->set(id, {1.0, 1.125, 100});
  }
  auto added = marathon_->addAppsFromJson(R"({"apps": [
    {"id": "/web", "cmd": "sleep 3600", "cpus": 4, "mem": 1024, "instances": 2, "labels": {"rightsize.enabled": "true"}},
    {"id": "/pinned", "cmd": "sleep 3600", "cpus": 4, "mem": 1024, "instances": 2, "labels": {"rightsize.enabled": "true"},
     "constraints": [["instance_type", "CLUSTER", "c5.2xlarge"], ["hostname", "UNIQUE"],
                     ["instance_type", "UNLIKE", "m4.(2xlarge"]]}]})",
                                          "test apps");
  ASSERT_TRUE(added) << added.error().message();
  for (const char* id : {"/web", "/pinned"}) {
    for (const char* host : {"fast-1", "fast-2"}) agents_[host]->set(id, {1.0, 1.2, 500});
  }
  HttpMarathonOptions marathon_options;
  marathon_options.urls = {marathon_->url()};
  HttpMarathonClient marathon(http_, marathon_options);
  SizerOptions o = options();
  o.mode = Mode::kRecommend;
  o.speed = {.min_cores = 0.05, .min_apps = 3, .min_samples = 3};
  Sizer sizer(marathon, agents_source_, nullptr, clock_, metrics_, o);
  const auto view = [&](const std::string& id) {
    for (const AppView& app : sizer.snapshot()->apps) {
      if (app.app_id == id) return app;
    }
    throw std::runtime_error("no app " + id);
  };
  for (int i = 0; i < 2; ++i) {
    sizer.runCycle();
    clock_.advance(30s);
  }
  EXPECT_EQ(view("/web").cpu_speed_scale, 1);  // two cycles: m4's factor not trusted yet
  for (int i = 0; i < 30; ++i) {
    sizer.runCycle();
    clock_.advance(30s);
  }
  const auto& speed = sizer.snapshot()->capacity.speed;
  ASSERT_EQ(speed.size(), 2U);
  EXPECT_EQ(speed[0].instance_type, "c5.2xlarge");
  EXPECT_TRUE(speed[0].reference);
  EXPECT_TRUE(speed[1].trusted);
  EXPECT_NEAR(speed[1].factor, 1.25, 1e-6);
  const AppView web = view("/web");
  const AppView pinned = view("/pinned");
  EXPECT_NEAR(web.cpu_speed_scale, 1.25, 1e-6);
  EXPECT_EQ(web.sized_for_instance_type, "m4.2xlarge");
  EXPECT_NE(web.reason.find("CPU sized for m4.2xlarge"), std::string::npos) << web.reason;
  EXPECT_EQ(pinned.cpu_speed_scale, 1);
  // A constraint whose expression does not compile is left out, shown and
  // counted.
  EXPECT_EQ(pinned.label_errors,
            std::vector<std::string>{"constraint [instance_type, UNLIKE, m4.(2xlarge]: not a regular expression"});
  // An app running on the fast and the slow type at once is sized for the
  // slow one: its busiest task runs there (p95 1.125 cores on m4, 0.9 on
  // c5), and nothing is scaled.
  const AppView both = view("/a");
  EXPECT_EQ(both.cpu_speed_scale, 1);
  ASSERT_TRUE(both.recommended_cpus);
  EXPECT_GE(*both.recommended_cpus, 1.125) << both.reason;
  ASSERT_TRUE(web.recommended_cpus && pinned.recommended_cpus);
  EXPECT_GT(*web.recommended_cpus, *pinned.recommended_cpus * 1.15) << web.reason << " / " << pinned.reason;
  const std::string metrics = metrics_.render(*sizer.snapshot());
  EXPECT_NE(metrics.find(R"(rightsize_instance_type_cpu_factor{instance_type="m4.2xlarge"} 1.25)"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find(R"(rightsize_instance_type_cpu_factor_trusted{instance_type="m4.2xlarge"} 1)"),
            std::string::npos);
  EXPECT_EQ(metrics.find(R"(rightsize_sizer_errors_total{kind="invalid_value"} 0)"), std::string::npos) << metrics;
}

}  // namespace
}  // namespace rightsize::sizing
