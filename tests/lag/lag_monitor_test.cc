// The lag monitor against librdkafka's mock cluster, over the real Kafka
// protocol: exact figures on known data, every edge case, brokers going down
// mid-cycle, injected request errors. What the mock cannot be made to do (a
// deleted topic whose commits remain) runs against FakeKafkaClient.

#include "rightsize/lag/lag_monitor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <string_view>
#include <utility>

#include "rightsize/lag/rdkafka_client.h"
#include "rightsize/testing/fake_kafka_client.h"
#include "rightsize/testing/fake_kafka_cluster.h"

namespace rightsize::lag {
namespace {

using namespace std::chrono_literals;

// Message timestamps: one second apart from a fixed point.
constexpr std::int64_t kT0 = 1'700'000'000'000;

const GroupLag* group(const LagSnapshot& snapshot, const std::string& name) {
  for (const auto& g : snapshot.groups) {
    if (g.request.group == name) return &g;
  }
  return nullptr;
}

const PartitionLag* partition(const GroupLag& group, const std::string& topic, std::int32_t p) {
  for (const auto& lag : group.partitions) {
    if (lag.tp.topic == topic && lag.tp.partition == p) return &lag;
  }
  return nullptr;
}

// Forwards to another KafkaClient and runs a hook, once, as the watermarks
// are asked for: a fault injected at a known point of a cycle.
class HookedKafkaClient final : public KafkaClient {
 public:
  explicit HookedKafkaClient(KafkaClient& inner) : inner_(inner) {}
  void beforeWatermarks(std::function<void()> hook) { before_watermarks_ = std::move(hook); }

  Expected<ClusterMetadata> metadata(Duration timeout) override { return inner_.metadata(timeout); }
  std::map<std::string, Expected<std::map<TopicPartition, std::optional<std::int64_t>>>> committed(
      const std::map<std::string, std::vector<TopicPartition>>& partitions_by_group, Duration timeout) override {
    return inner_.committed(partitions_by_group, timeout);
  }
  std::map<TopicPartition, Expected<Watermarks>> watermarks(const std::vector<PartitionInfo>& partitions,
                                                            Duration timeout) override {
    if (before_watermarks_) std::exchange(before_watermarks_, nullptr)();
    return inner_.watermarks(partitions, timeout);
  }
  std::map<OffsetProbe, Expected<std::int64_t>> timestamps(const std::vector<OffsetProbe>& probes,
                                                           Duration timeout) override {
    return inner_.timestamps(probes, timeout);
  }

 private:
  KafkaClient& inner_;
  std::function<void()> before_watermarks_;
};

class LagMonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto mock = testing::FakeKafkaCluster::create(3);
    ASSERT_TRUE(mock.ok()) << mock.error().message();
    mock_ = std::move(*mock);
    auto client = RdKafkaClient::create({.brokers = mock_->bootstrap()}, clock_);
    ASSERT_TRUE(client.ok()) << client.error().message();
    client_ = std::move(*client);
    options_.timeout = 3s;
    options_.window = 10min;
    monitor_ = std::make_unique<LagMonitor>(*client_, clock_, errors_, options_);
  }

  std::shared_ptr<const LagSnapshot> cycle(const std::vector<GroupRequest>& groups) {
    monitor_->collectOnce(groups);
    return monitor_->snapshot();
  }

  // Status windows are moved by hand; deadlines hold in real time, in which
  // the mock cluster answers.
  ManualWallClock clock_;
  CountingErrorSink errors_;
  LagOptions options_;
  std::unique_ptr<testing::FakeKafkaCluster> mock_;
  std::unique_ptr<RdKafkaClient> client_;
  std::unique_ptr<LagMonitor> monitor_;
};

TEST_F(LagMonitorTest, ExactLagInMessagesAndSeconds) {
  ASSERT_TRUE(mock_->createTopic("orders", 3).ok());
  ASSERT_TRUE(mock_->produce("orders", 0, 100, kT0, 1000).ok());
  ASSERT_TRUE(mock_->produce("orders", 1, 10, kT0, 1000).ok());
  ASSERT_TRUE(mock_->commit("billing", "orders", 0, 40).ok());
  ASSERT_TRUE(mock_->commit("billing", "orders", 1, 10).ok());
  auto snapshot = cycle({{"billing", "/billing", "prod"}});
  EXPECT_TRUE(snapshot->kafka_ok);
  const GroupLag* billing = group(*snapshot, "billing");
  ASSERT_NE(billing, nullptr);
  EXPECT_EQ(billing->request.app_id, "/billing");
  ASSERT_EQ(billing->partitions.size(), 3u);

  const PartitionLag* behind = partition(*billing, "orders", 0);
  ASSERT_NE(behind, nullptr);
  ASSERT_TRUE(behind->lag_seconds && behind->status) << behind->error;
  EXPECT_EQ(*behind->committed_offset, 40);
  EXPECT_EQ(*behind->low_watermark, 0);
  EXPECT_EQ(*behind->high_watermark, 100);
  EXPECT_EQ(*behind->lag_messages, 60);
  // Newest message (offset 99) minus the first unread (offset 40): 59 s.
  EXPECT_DOUBLE_EQ(*behind->lag_seconds, 59.0);
  EXPECT_EQ(*behind->status, LagStatus::kOk);
  EXPECT_FALSE(behind->stale);

  const PartitionLag* caught_up = partition(*billing, "orders", 1);
  ASSERT_TRUE(caught_up->lag_seconds && caught_up->status) << caught_up->error;
  EXPECT_EQ(*caught_up->lag_messages, 0);
  EXPECT_DOUBLE_EQ(*caught_up->lag_seconds, 0.0);
  EXPECT_EQ(*caught_up->status, LagStatus::kOk);

  // Nothing committed on partition 2: unknown, never "the whole log".
  const PartitionLag* uncommitted = partition(*billing, "orders", 2);
  EXPECT_FALSE(uncommitted->committed_offset);
  EXPECT_FALSE(uncommitted->lag_messages);
  EXPECT_FALSE(uncommitted->lag_seconds);
  EXPECT_EQ(*uncommitted->status, LagStatus::kNoCommit);
  EXPECT_EQ(*billing->status, LagStatus::kOk);  // the committed partitions decide
  EXPECT_EQ(errors_.total(), 0u) << errors_.lastMessage();
}

TEST_F(LagMonitorTest, AGroupThatNeverCommittedIsNoCommit) {
  ASSERT_TRUE(mock_->createTopic("orders", 2).ok());
  ASSERT_TRUE(mock_->produce("orders", 0, 5, kT0, 1000).ok());
  auto snapshot = cycle({{"nobody", "", ""}});
  const GroupLag* nobody = group(*snapshot, "nobody");
  ASSERT_NE(nobody, nullptr);
  EXPECT_EQ(*nobody->status, LagStatus::kNoCommit);
  EXPECT_TRUE(nobody->partitions.empty());
  EXPECT_TRUE(nobody->error.empty());
}

TEST_F(LagMonitorTest, AnEmptyPartitionHasNoLag) {
  ASSERT_TRUE(mock_->createTopic("quiet", 1).ok());
  ASSERT_TRUE(mock_->commit("idle", "quiet", 0, 0).ok());
  auto snapshot = cycle({{"idle", "", ""}});
  const PartitionLag* lag = partition(*group(*snapshot, "idle"), "quiet", 0);
  ASSERT_NE(lag, nullptr);
  ASSERT_TRUE(lag->lag_seconds && lag->status) << lag->error;
  EXPECT_EQ(*lag->low_watermark, 0);
  EXPECT_EQ(*lag->high_watermark, 0);
  EXPECT_EQ(*lag->lag_messages, 0);
  EXPECT_DOUBLE_EQ(*lag->lag_seconds, 0.0);
  EXPECT_EQ(*lag->status, LagStatus::kOk);
}

TEST_F(LagMonitorTest, ACommitBelowTheLowWatermarkCountsFromTheLowWatermark) {
  ASSERT_TRUE(mock_->createTopic("big", 1).ok());
  // 80 messages of 100 KB: past the mock's 5 MB per partition, the oldest go.
  ASSERT_TRUE(mock_->produce("big", 0, 80, kT0, 1000, 100 * 1024).ok());
  ASSERT_TRUE(mock_->commit("slow", "big", 0, 0).ok());
  auto snapshot = cycle({{"slow", "", ""}});
  const PartitionLag* lag = partition(*group(*snapshot, "slow"), "big", 0);
  ASSERT_NE(lag, nullptr);
  ASSERT_TRUE(lag->low_watermark && lag->lag_seconds) << lag->error;
  ASSERT_GT(*lag->low_watermark, 0);
  EXPECT_TRUE(lag->below_low_watermark);
  EXPECT_EQ(*lag->lag_messages, 80 - *lag->low_watermark);
  EXPECT_DOUBLE_EQ(*lag->lag_seconds, static_cast<double>(79 - *lag->low_watermark));
}

TEST_F(LagMonitorTest, ALeaderDownMakesItsPartitionsStaleWithinTheDeadlineAndTheyRecover) {
  ASSERT_TRUE(mock_->createTopic("orders", 2).ok());
  ASSERT_TRUE(mock_->setLeader("orders", 0, 1).ok());
  ASSERT_TRUE(mock_->setLeader("orders", 1, 2).ok());
  ASSERT_TRUE(mock_->setGroupCoordinator("billing", 3).ok());
  for (int p = 0; p < 2; ++p) {
    ASSERT_TRUE(mock_->produce("orders", p, 20, kT0, 1000).ok());
    ASSERT_TRUE(mock_->commit("billing", "orders", p, 10).ok());
  }
  ASSERT_EQ(partition(*group(*cycle({{"billing", "", ""}}), "billing"), "orders", 0)->lag_messages, 10);

  ASSERT_TRUE(mock_->setBrokerDown(1).ok());
  const auto started = std::chrono::steady_clock::now();
  clock_.advance(10s);
  auto down = cycle({{"billing", "", ""}});
  EXPECT_LT(std::chrono::steady_clock::now() - started, options_.timeout + 1s);
  const PartitionLag* stale = partition(*group(*down, "billing"), "orders", 0);
  ASSERT_NE(stale, nullptr) << group(*down, "billing")->error;
  EXPECT_TRUE(stale->stale);
  EXPECT_FALSE(stale->lag_messages);
  EXPECT_FALSE(stale->status);
  EXPECT_FALSE(stale->error.empty());
  const PartitionLag* fine = partition(*group(*down, "billing"), "orders", 1);
  ASSERT_NE(fine, nullptr);
  ASSERT_FALSE(fine->stale) << fine->error;
  EXPECT_EQ(*fine->lag_messages, 10);
  EXPECT_DOUBLE_EQ(*fine->lag_seconds, 9.0);
  EXPECT_GT(errors_.count("kafka", "unavailable"), 0u);

  ASSERT_TRUE(mock_->setBrokerUp(1).ok());
  bool recovered = false;
  for (int attempt = 0; attempt < 20 && !recovered; ++attempt) {  // reconnection backoff: bounded
    clock_.advance(10s);
    const PartitionLag* lag = partition(*group(*cycle({{"billing", "", ""}}), "billing"), "orders", 0);
    recovered = lag != nullptr && !lag->stale && lag->lag_messages == 10;
  }
  EXPECT_TRUE(recovered);
}

TEST_F(LagMonitorTest, ABrokerGoingDownDuringACycleStillEndsItInTime) {
  ASSERT_TRUE(mock_->createTopic("orders", 3).ok());
  for (int p = 0; p < 3; ++p) {
    ASSERT_TRUE(mock_->setLeader("orders", p, p + 1).ok());
    ASSERT_TRUE(mock_->produce("orders", p, 20, kT0, 1000).ok());
    ASSERT_TRUE(mock_->commit("billing", "orders", p, 10).ok());
  }
  ASSERT_TRUE(mock_->setGroupCoordinator("billing", 3).ok());
  HookedKafkaClient hooked(*client_);
  LagMonitor monitor(hooked, clock_, errors_, options_);
  auto hooked_cycle = [&](const std::vector<GroupRequest>& groups) {
    monitor.collectOnce(groups);
    return monitor.snapshot();
  };
  // Connected, topics known, and every timestamp the next cycle needs read.
  auto before = hooked_cycle({{"billing", "", ""}});
  for (int p = 0; p < 3; ++p) {
    const PartitionLag* lag = partition(*group(*before, "billing"), "orders", p);
    ASSERT_NE(lag, nullptr);
    ASSERT_TRUE(lag->lag_seconds) << lag->error;
  }
  // Every answer 300 ms late, and broker 1 dies once metadata and committed
  // offsets are read, as the watermarks are asked for.
  ASSERT_TRUE(mock_->setRtt(-1, 300).ok());
  clock_.advance(10s);
  hooked.beforeWatermarks([&] { (void)mock_->setBrokerDown(1); });
  const auto started = std::chrono::steady_clock::now();
  auto snapshot = hooked_cycle({{"billing", "", ""}});
  EXPECT_LT(std::chrono::steady_clock::now() - started, options_.timeout + 1s);
  const GroupLag* billing = group(*snapshot, "billing");
  ASSERT_NE(billing, nullptr);
  EXPECT_TRUE(billing->error.empty()) << billing->error;
  // Broker 1 led orders[0]: stale, no figures, no status.
  const PartitionLag* stale = partition(*billing, "orders", 0);
  ASSERT_NE(stale, nullptr);
  EXPECT_TRUE(stale->stale);
  EXPECT_FALSE(stale->high_watermark);
  EXPECT_FALSE(stale->lag_messages);
  EXPECT_FALSE(stale->lag_seconds);
  EXPECT_FALSE(stale->status);
  EXPECT_FALSE(stale->error.empty());
  // The partitions led by brokers 2 and 3 are as before, exactly.
  for (int p = 1; p < 3; ++p) {
    const PartitionLag* fresh = partition(*billing, "orders", p);
    ASSERT_NE(fresh, nullptr);
    ASSERT_FALSE(fresh->stale) << fresh->error;
    EXPECT_EQ(*fresh->committed_offset, 10);
    EXPECT_EQ(*fresh->low_watermark, 0);
    EXPECT_EQ(*fresh->high_watermark, 20);
    EXPECT_EQ(*fresh->lag_messages, 10);
    EXPECT_DOUBLE_EQ(*fresh->lag_seconds, 9.0);  // offsets 19 and 10
    EXPECT_EQ(*fresh->status, LagStatus::kOk);
  }
  EXPECT_EQ(*billing->status, LagStatus::kOk);  // a stale partition has no say
  EXPECT_GT(errors_.count("kafka", "unavailable"), 0u);
  ASSERT_TRUE(mock_->setRtt(-1, 0).ok());
  ASSERT_TRUE(mock_->setBrokerUp(1).ok());
  bool recovered = false;
  for (int attempt = 0; attempt < 20 && !recovered; ++attempt) {
    clock_.advance(10s);
    auto later = hooked_cycle({{"billing", "", ""}});
    recovered = true;
    for (int p = 0; p < 3; ++p) {
      const PartitionLag* lag = partition(*group(*later, "billing"), "orders", p);
      recovered = recovered && lag != nullptr && !lag->stale && lag->lag_messages == 10;
    }
  }
  EXPECT_TRUE(recovered);
}

TEST_F(LagMonitorTest, InjectedRequestErrorsSpoilOneCycleOnly) {
  ASSERT_TRUE(mock_->createTopic("orders", 1).ok());
  ASSERT_TRUE(mock_->produce("orders", 0, 20, kT0, 1000).ok());
  ASSERT_TRUE(mock_->commit("billing", "orders", 0, 5).ok());
  ASSERT_EQ(partition(*group(*cycle({{"billing", "", ""}}), "billing"), "orders", 0)->lag_messages, 15);
  // ListOffsets (API key 2) refused with NOT_LEADER_FOR_PARTITION a few times.
  mock_->failRequests(2, 4, 6);
  clock_.advance(10s);
  const PartitionLag* spoiled = partition(*group(*cycle({{"billing", "", ""}}), "billing"), "orders", 0);
  ASSERT_NE(spoiled, nullptr);
  EXPECT_TRUE(spoiled->stale);
  EXPECT_FALSE(spoiled->lag_messages);
  bool recovered = false;
  for (int attempt = 0; attempt < 10 && !recovered; ++attempt) {
    clock_.advance(10s);
    const PartitionLag* lag = partition(*group(*cycle({{"billing", "", ""}}), "billing"), "orders", 0);
    recovered = lag != nullptr && !lag->stale && lag->lag_messages == 15;
  }
  EXPECT_TRUE(recovered);
}

TEST_F(LagMonitorTest, StatusFollowsTheConsumerOverCycles) {
  ASSERT_TRUE(mock_->createTopic("events", 1).ok());
  ASSERT_TRUE(mock_->produce("events", 0, 50, kT0, 1000).ok());
  std::int64_t committed = 10;
  auto status = [&] {
    const PartitionLag* lag = partition(*group(*cycle({{"consumer", "", ""}}), "consumer"), "events", 0);
    return lag != nullptr && lag->status ? *lag->status : LagStatus::kNoCommit;
  };
  // Moving, but the producer is faster: WARN.
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(mock_->commit("consumer", "events", 0, committed).ok());
    ASSERT_TRUE(mock_->produce("events", 0, 10, kT0 + 100000 + std::int64_t{i} * 10000, 1000).ok());
    committed += 2;
    clock_.advance(10s);
    (void)status();
  }
  EXPECT_EQ(status(), LagStatus::kWarn);
  // Stuck: STALL after half the window, STOP after the whole window.
  clock_.advance(5min);
  EXPECT_EQ(status(), LagStatus::kStall);
  clock_.advance(5min);
  EXPECT_EQ(status(), LagStatus::kStop);
  // Reset to an earlier offset: REWIND.
  ASSERT_TRUE(mock_->commit("consumer", "events", 0, 3).ok());
  clock_.advance(10s);
  EXPECT_EQ(status(), LagStatus::kRewind);
}

TEST_F(LagMonitorTest, AGroupCoordinatorDownFailsItsGroupsWithinTheDeadlineAndTheyRecover) {
  ASSERT_TRUE(mock_->createTopic("orders", 1).ok());
  ASSERT_TRUE(mock_->setLeader("orders", 0, 1).ok());
  ASSERT_TRUE(mock_->produce("orders", 0, 20, kT0, 1000).ok());
  const std::vector<GroupRequest> groups = {{"g0", "", ""}, {"g1", "", ""}, {"g2", "", ""}, {"g3", "", ""}};
  for (const auto& request : groups) {
    ASSERT_TRUE(mock_->setGroupCoordinator(request.group, 3).ok());
    ASSERT_TRUE(mock_->commit(request.group, "orders", 0, 10).ok());
  }
  // One group asked at a time: each waiting for a dead coordinator as long as
  // the deadline allows, four would take 1.6 times the deadline.
  auto client = RdKafkaClient::create({.brokers = mock_->bootstrap(), .max_parallel_groups = 1}, clock_);
  ASSERT_TRUE(client.ok()) << client.error().message();
  LagMonitor monitor(**client, clock_, errors_, options_);
  auto lag_of = [&](const std::string& name) -> std::optional<std::int64_t> {
    const GroupLag* g = group(*monitor.snapshot(), name);
    const PartitionLag* lag = g == nullptr ? nullptr : partition(*g, "orders", 0);
    return lag == nullptr || lag->stale ? std::nullopt : lag->lag_messages;
  };
  monitor.collectOnce(groups);
  for (const auto& request : groups) ASSERT_EQ(lag_of(request.group), 10) << request.group;

  ASSERT_TRUE(mock_->setBrokerDown(3).ok());
  const std::uint64_t unavailable_before = errors_.count("kafka", "unavailable");
  clock_.advance(10s);
  const auto started = std::chrono::steady_clock::now();
  monitor.collectOnce(groups);
  EXPECT_LT(std::chrono::steady_clock::now() - started, options_.timeout);
  auto down = monitor.snapshot();
  for (const auto& request : groups) {
    const GroupLag* g = group(*down, request.group);
    ASSERT_NE(g, nullptr);
    EXPECT_FALSE(g->status) << request.group;
    EXPECT_TRUE(g->partitions.empty()) << request.group;
    EXPECT_FALSE(g->error.empty()) << request.group;
  }
  // Each waited only its share of the time: every one was asked, none was
  // left "not asked" behind the others.
  for (const auto& request : groups) {
    EXPECT_EQ(group(*down, request.group)->error.find("not asked"), std::string::npos)
        << group(*down, request.group)->error;
  }
  EXPECT_GE(errors_.count("kafka", "unavailable") - unavailable_before, groups.size());

  ASSERT_TRUE(mock_->setBrokerUp(3).ok());
  bool recovered = false;
  for (int attempt = 0; attempt < 20 && !recovered; ++attempt) {  // reconnection backoff: bounded
    clock_.advance(10s);
    monitor.collectOnce(groups);
    recovered = std::all_of(groups.begin(), groups.end(),
                            [&](const GroupRequest& request) { return lag_of(request.group) == 10; });
  }
  EXPECT_TRUE(recovered);
}

TEST_F(LagMonitorTest, GroupsOnADeadCoordinatorDoNotStarveTheHealthyOnesQueuedBehindThem) {
  ASSERT_TRUE(mock_->createTopic("orders", 1).ok());
  ASSERT_TRUE(mock_->setLeader("orders", 0, 1).ok());
  ASSERT_TRUE(mock_->produce("orders", 0, 20, kT0, 1000).ok());
  // Asked in name order, two at a time: the four dead ones come first and
  // would hold both threads until the deadline.
  std::vector<GroupRequest> groups;
  for (const char* name : {"a-dead-0", "a-dead-1", "a-dead-2", "a-dead-3", "b-healthy-0", "b-healthy-1"}) {
    groups.push_back({name, "", ""});
    ASSERT_TRUE(mock_->setGroupCoordinator(name, std::string(name).starts_with("a-") ? 3 : 1).ok());
    ASSERT_TRUE(mock_->commit(name, "orders", 0, 10).ok());
  }
  auto client = RdKafkaClient::create({.brokers = mock_->bootstrap(), .max_parallel_groups = 2}, clock_);
  ASSERT_TRUE(client.ok()) << client.error().message();
  LagMonitor monitor(**client, clock_, errors_, options_);
  monitor.collectOnce(groups);  // every group's topics found while all is up
  ASSERT_TRUE(mock_->setBrokerDown(3).ok());
  clock_.advance(10s);
  monitor.collectOnce(groups);
  auto snapshot = monitor.snapshot();
  for (const auto& request : groups) {
    const GroupLag* g = group(*snapshot, request.group);
    ASSERT_NE(g, nullptr) << request.group;
    if (request.group.starts_with("a-")) {
      EXPECT_FALSE(g->error.empty()) << request.group;
      continue;
    }
    EXPECT_TRUE(g->error.empty()) << request.group << ": " << g->error;
    const PartitionLag* lag = partition(*g, "orders", 0);
    ASSERT_NE(lag, nullptr) << request.group;
    EXPECT_FALSE(lag->stale) << request.group;
    EXPECT_EQ(lag->lag_messages, 10) << request.group;
  }
  ASSERT_TRUE(mock_->setBrokerUp(3).ok());
}

TEST_F(LagMonitorTest, AGroupHasTheStatusOfItsWorstPartition) {
  ASSERT_TRUE(mock_->createTopic("events", 2).ok());
  ASSERT_TRUE(mock_->produce("events", 0, 50, kT0, 1000).ok());
  ASSERT_TRUE(mock_->produce("events", 1, 20, kT0, 1000).ok());
  ASSERT_TRUE(mock_->commit("consumer", "events", 1, 20).ok());  // caught up on partition 1: OK throughout
  struct Statuses {
    std::optional<LagStatus> group, behind, caught_up;
  };
  auto statuses = [&] {
    auto snapshot = cycle({{"consumer", "", ""}});
    const GroupLag* g = group(*snapshot, "consumer");
    Statuses out;
    if (g == nullptr) return out;
    out.group = g->status;
    if (const PartitionLag* lag = partition(*g, "events", 0)) out.behind = lag->status;
    if (const PartitionLag* lag = partition(*g, "events", 1)) out.caught_up = lag->status;
    return out;
  };
  // Partition 0 moves, but the producer is faster: WARN, and so the group.
  std::int64_t committed = 10;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(mock_->commit("consumer", "events", 0, committed).ok());
    ASSERT_TRUE(mock_->produce("events", 0, 10, kT0 + 100000 + i * 10000, 1000).ok());
    committed += 2;
    clock_.advance(10s);
    (void)statuses();
  }
  Statuses warn = statuses();
  EXPECT_EQ(warn.behind, LagStatus::kWarn);
  EXPECT_EQ(warn.caught_up, LagStatus::kOk);
  EXPECT_EQ(warn.group, LagStatus::kWarn);
  // Partition 0 stuck for half the window: STALL, and so the group.
  clock_.advance(5min);
  Statuses stall = statuses();
  EXPECT_EQ(stall.behind, LagStatus::kStall);
  EXPECT_EQ(stall.caught_up, LagStatus::kOk);
  EXPECT_EQ(stall.group, LagStatus::kStall);
}

TEST_F(LagMonitorTest, AnUnreachableClusterFailsTheCycleInTimeAndSaysSo) {
  auto client = RdKafkaClient::create({.brokers = "127.0.0.1:1"}, clock_);  // nothing listens on port 1
  ASSERT_TRUE(client.ok());
  options_.timeout = 1s;
  LagMonitor monitor(**client, clock_, errors_, options_);
  const auto started = std::chrono::steady_clock::now();
  monitor.collectOnce({{"billing", "", ""}});
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  auto snapshot = monitor.snapshot();
  EXPECT_FALSE(snapshot->kafka_ok);
  ASSERT_EQ(snapshot->groups.size(), 1u);
  EXPECT_FALSE(snapshot->groups[0].status);
  EXPECT_FALSE(snapshot->groups[0].error.empty());
  EXPECT_EQ(errors_.count("kafka", "unavailable"), 1u);
}

class LagMonitorOnFakeKafkaTest : public ::testing::Test {
 protected:
  std::shared_ptr<const LagSnapshot> cycle(const std::vector<GroupRequest>& groups) {
    monitor_.collectOnce(groups);
    return monitor_.snapshot();
  }

  FakeKafkaClient kafka_;
  ManualClock clock_;
  CountingErrorSink errors_;
  LagOptions options_;
  LagMonitor monitor_{kafka_, clock_, errors_, options_};
};

TEST_F(LagMonitorOnFakeKafkaTest, CommitsOnATopicMissingFromTheClusterAreLeftOut) {
  kafka_.createTopic("orders", 2);
  kafka_.setLog({"orders", 0}, 0, 100, kT0, 1000);
  kafka_.setLog({"orders", 1}, 0, 10, kT0, 1000);
  kafka_.commit("billing", {"orders", 0}, 40);
  kafka_.commit("billing", {"orders", 1}, 10);
  // Commits on a topic the cluster does not have (deleted: Kafka keeps them
  // until they expire), and a client that answers with every commit of the
  // group, asked for or not.
  kafka_.commit("billing", {"deleted", 0}, 5);
  kafka_.commit("ghosts", {"deleted", 0}, 5);
  kafka_.answerUnaskedCommits(true);
  auto snapshot = cycle({{"billing", "/billing", "prod"}, {"ghosts", "", ""}});

  const GroupLag* billing = group(*snapshot, "billing");
  ASSERT_NE(billing, nullptr);
  EXPECT_TRUE(billing->error.empty()) << billing->error;
  ASSERT_EQ(billing->partitions.size(), 2u);
  EXPECT_EQ(partition(*billing, "deleted", 0), nullptr);
  const PartitionLag* behind = partition(*billing, "orders", 0);
  ASSERT_NE(behind, nullptr);
  ASSERT_FALSE(behind->stale) << behind->error;
  EXPECT_EQ(behind->committed_offset, 40);
  EXPECT_EQ(behind->low_watermark, 0);
  EXPECT_EQ(behind->high_watermark, 100);
  EXPECT_EQ(behind->lag_messages, 60);
  EXPECT_EQ(behind->lag_seconds, 59.0);  // offsets 99 and 40
  EXPECT_EQ(behind->status, LagStatus::kOk);
  EXPECT_FALSE(behind->below_low_watermark);
  const PartitionLag* caught_up = partition(*billing, "orders", 1);
  ASSERT_NE(caught_up, nullptr);
  EXPECT_EQ(caught_up->lag_messages, 0);
  EXPECT_EQ(caught_up->lag_seconds, 0.0);
  EXPECT_EQ(billing->status, LagStatus::kOk);

  // A group whose only commits are on the missing topic has none that count.
  const GroupLag* ghosts = group(*snapshot, "ghosts");
  ASSERT_NE(ghosts, nullptr);
  EXPECT_EQ(ghosts->status, LagStatus::kNoCommit);
  EXPECT_TRUE(ghosts->partitions.empty());
  EXPECT_TRUE(ghosts->error.empty()) << ghosts->error;

  EXPECT_FALSE(kafka_.topicsProbed().contains("deleted"));
  EXPECT_EQ(errors_.total(), 0u) << errors_.lastMessage();
}

TEST_F(LagMonitorOnFakeKafkaTest, ATopicDeletedBetweenCyclesIsDroppedAndStartsAfreshWhenCreatedAgain) {
  kafka_.createTopic("orders", 1);
  kafka_.setLog({"orders", 0}, 0, 100, kT0, 1000);
  kafka_.commit("billing", {"orders", 0}, 40);
  kafka_.createTopic("old", 1);
  kafka_.setLog({"old", 0}, 0, 1000, kT0, 1000);
  kafka_.commit("billing", {"old", 0}, 500);
  auto first = cycle({{"billing", "", ""}});
  ASSERT_NE(group(*first, "billing"), nullptr);
  const PartitionLag* old = partition(*group(*first, "billing"), "old", 0);
  ASSERT_NE(old, nullptr);
  ASSERT_EQ(old->lag_messages, 500);

  // Deleted: its commits stay in Kafka, but it is no longer reported, nor asked about.
  kafka_.deleteTopic("old");
  kafka_.forgetRequests();
  clock_.advance(10s);
  auto second = cycle({{"billing", "", ""}});
  const GroupLag* billing = group(*second, "billing");
  ASSERT_NE(billing, nullptr);
  EXPECT_TRUE(billing->error.empty()) << billing->error;
  ASSERT_EQ(billing->partitions.size(), 1u);
  const PartitionLag* orders = partition(*billing, "orders", 0);
  ASSERT_NE(orders, nullptr);
  ASSERT_FALSE(orders->stale) << orders->error;
  EXPECT_EQ(orders->lag_messages, 60);
  EXPECT_EQ(orders->lag_seconds, 59.0);
  EXPECT_EQ(orders->status, LagStatus::kOk);
  EXPECT_EQ(billing->status, LagStatus::kOk);
  EXPECT_FALSE(kafka_.topicsProbed().contains("old"));
  EXPECT_EQ(errors_.total(), 0u) << errors_.lastMessage();

  // Created again and consumed from its start: found by the next discovery
  // pass, with a window of its own (the old one would see offset 500 go back
  // to 3 and say REWIND).
  kafka_.createTopic("old", 1);
  kafka_.setLog({"old", 0}, 0, 10, kT0 + 3'600'000, 1000);
  kafka_.commit("billing", {"old", 0}, 3);
  clock_.advance(options_.topic_rediscovery);
  auto third = cycle({{"billing", "", ""}});
  ASSERT_NE(group(*third, "billing"), nullptr);
  const PartitionLag* again = partition(*group(*third, "billing"), "old", 0);
  ASSERT_NE(again, nullptr);
  ASSERT_FALSE(again->stale) << again->error;
  EXPECT_EQ(again->committed_offset, 3);
  EXPECT_EQ(again->lag_messages, 7);
  EXPECT_EQ(again->lag_seconds, 6.0);  // offsets 9 and 3
  EXPECT_EQ(again->status, LagStatus::kOk);
}

// FakeKafkaClient answering in time kept by a ManualClock: each call takes
// its latency, or gives up at its timeout with every item unavailable, as a
// real client does; a call that ignores its timeout (as
// rd_kafka_query_watermark_offsets() does while a leader is down) takes its
// latency whatever it was given. Records the timeout of every call.
class SlowKafkaClient final : public KafkaClient {
 public:
  SlowKafkaClient(FakeKafkaClient& fake, ManualClock& clock) : fake_(fake), clock_(clock) {}

  // `call`: "metadata", "committed", "watermarks" or "timestamps".
  void answerIn(const std::string& call, Duration latency, bool ignores_timeout = false) {
    latencies_[call] = {latency, ignores_timeout};
  }
  // (call, timeout given), in the order of the calls.
  const std::vector<std::pair<std::string, Duration>>& timeouts() const { return timeouts_; }

  Expected<ClusterMetadata> metadata(Duration timeout) override {
    if (!answers("metadata", timeout)) return timedOut("metadata");
    return fake_.metadata(timeout);
  }
  std::map<std::string, Expected<std::map<TopicPartition, std::optional<std::int64_t>>>> committed(
      const std::map<std::string, std::vector<TopicPartition>>& partitions_by_group, Duration timeout) override {
    if (answers("committed", timeout)) return fake_.committed(partitions_by_group, timeout);
    std::map<std::string, Expected<std::map<TopicPartition, std::optional<std::int64_t>>>> out;
    for (const auto& [group, partitions] : partitions_by_group) out.emplace(group, timedOut("committed offsets"));
    return out;
  }
  std::map<TopicPartition, Expected<Watermarks>> watermarks(const std::vector<PartitionInfo>& partitions,
                                                            Duration timeout) override {
    if (answers("watermarks", timeout)) return fake_.watermarks(partitions, timeout);
    std::map<TopicPartition, Expected<Watermarks>> out;
    for (const auto& info : partitions) out.emplace(info.tp, timedOut("watermarks"));
    return out;
  }
  std::map<OffsetProbe, Expected<std::int64_t>> timestamps(const std::vector<OffsetProbe>& probes,
                                                           Duration timeout) override {
    if (answers("timestamps", timeout)) return fake_.timestamps(probes, timeout);
    std::map<OffsetProbe, Expected<std::int64_t>> out;
    for (const auto& probe : probes) out.emplace(probe, timedOut("timestamps"));
    return out;
  }

 private:
  struct Latency {
    Duration latency{};
    bool ignores_timeout = false;
  };
  bool answers(const std::string& call, Duration timeout) {
    timeouts_.emplace_back(call, timeout);
    const Latency latency = latencies_[call];
    const bool answered = latency.latency <= timeout || latency.ignores_timeout;
    clock_.advance(answered ? latency.latency : timeout);
    return answered;
  }
  static Error timedOut(std::string_view what) {
    return Error(ErrorKind::kUnavailable, std::string(what) + ": timed out");
  }

  FakeKafkaClient& fake_;
  ManualClock& clock_;
  std::map<std::string, Latency> latencies_;
  std::vector<std::pair<std::string, Duration>> timeouts_;
};

// The cycle's budget, on the monitor's clock: with every call taking clock
// time, the share of the time left each phase is given is exact.
class LagMonitorBudgetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_.createTopic("orders", 1);
    fake_.setLog({"orders", 0}, 0, 100, kT0, 1000);
    fake_.commit("billing", {"orders", 0}, 40);
    options_.timeout = 10s;
  }
  std::shared_ptr<const LagSnapshot> cycle() {
    LagMonitor monitor(kafka_, clock_, errors_, options_);
    monitor.collectOnce({{"billing", "", ""}});
    return monitor.snapshot();
  }
  // The timeouts given, in microseconds, in the order of the calls.
  std::vector<std::pair<std::string, std::int64_t>> timeoutsGiven() const {
    std::vector<std::pair<std::string, std::int64_t>> out;
    for (const auto& [call, timeout] : kafka_.timeouts()) {
      out.emplace_back(call, std::chrono::round<std::chrono::microseconds>(timeout).count());
    }
    return out;
  }

  FakeKafkaClient fake_;
  ManualClock clock_;
  SlowKafkaClient kafka_{fake_, clock_};
  CountingErrorSink errors_;
  LagOptions options_;
};

TEST_F(LagMonitorBudgetTest, EachPhaseIsGivenAShareOfTheTimeLeftOnTheClock) {
  kafka_.answerIn("metadata", 1s);
  kafka_.answerIn("committed", 3s);
  kafka_.answerIn("watermarks", 2s);
  kafka_.answerIn("timestamps", 500ms);
  auto snapshot = cycle();
  // Of 10 s: metadata 15 %; committed offsets 40 % of the 9 s left;
  // watermarks half of the 6 s left; timestamps all of the last 4 s.
  const std::vector<std::pair<std::string, std::int64_t>> expected = {
      {"metadata", 1'500'000}, {"committed", 3'600'000}, {"watermarks", 3'000'000}, {"timestamps", 4'000'000}};
  EXPECT_EQ(timeoutsGiven(), expected);
  EXPECT_EQ(snapshot->last_cycle, 6500ms);
  const GroupLag* billing = group(*snapshot, "billing");
  ASSERT_NE(billing, nullptr);
  const PartitionLag* lag = partition(*billing, "orders", 0);
  ASSERT_NE(lag, nullptr);
  ASSERT_FALSE(lag->stale) << lag->error;
  EXPECT_EQ(lag->lag_seconds, 59.0);
  EXPECT_EQ(errors_.total(), 0u) << errors_.lastMessage();
}

TEST_F(LagMonitorBudgetTest, ACallOverrunningTheDeadlineLeavesTheRestTheLeastTimeAndItsFiguresStale) {
  kafka_.answerIn("metadata", 1s);
  kafka_.answerIn("committed", 1s);
  kafka_.answerIn("watermarks", 20s, /*ignores_timeout=*/true);
  kafka_.answerIn("timestamps", 10ms);
  auto snapshot = cycle();
  // The watermarks were given half of the 8 s left and took 20: the
  // timestamps get the least there is, 1 ms, and time out.
  const std::vector<std::pair<std::string, std::int64_t>> expected = {
      {"metadata", 1'500'000}, {"committed", 3'600'000}, {"watermarks", 4'000'000}, {"timestamps", 1'000}};
  EXPECT_EQ(timeoutsGiven(), expected);
  EXPECT_EQ(snapshot->last_cycle, 22001ms);
  const GroupLag* billing = group(*snapshot, "billing");
  ASSERT_NE(billing, nullptr);
  EXPECT_TRUE(billing->error.empty()) << billing->error;
  EXPECT_FALSE(billing->status);  // its only partition is stale
  const PartitionLag* lag = partition(*billing, "orders", 0);
  ASSERT_NE(lag, nullptr);
  EXPECT_EQ(lag->committed_offset, 40);
  EXPECT_EQ(lag->lag_messages, 60);
  EXPECT_TRUE(lag->stale);
  EXPECT_FALSE(lag->lag_seconds);
  EXPECT_FALSE(lag->status);
  EXPECT_EQ(lag->error, "message timestamps not fetched in time");
  EXPECT_EQ(errors_.count("kafka", "unavailable"), 2u);  // both probes
}

TEST_F(LagMonitorBudgetTest, MetadataAskedAgainGetsItsShareOfWhatTheFirstAskLeft) {
  kafka_.answerIn("metadata", 1h);  // no broker answers
  auto snapshot = cycle();
  // 15 % of 10 s, then 15 % of the 8.5 s left; nothing else is asked.
  const std::vector<std::pair<std::string, std::int64_t>> expected = {{"metadata", 1'500'000}, {"metadata", 1'275'000}};
  EXPECT_EQ(timeoutsGiven(), expected);
  EXPECT_NEAR(toSeconds(snapshot->last_cycle), 2.775, 1e-6);
  EXPECT_FALSE(snapshot->kafka_ok);
  ASSERT_EQ(snapshot->groups.size(), 1u);
  EXPECT_FALSE(snapshot->groups[0].error.empty());
  EXPECT_EQ(errors_.count("kafka", "unavailable"), 1u);
}

}  // namespace
}  // namespace rightsize::lag
