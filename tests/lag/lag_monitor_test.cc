// The lag monitor against librdkafka's mock cluster, over the real Kafka
// protocol: exact figures on known data, every edge case, brokers going down
// mid-cycle, injected request errors.

#include "rightsize/lag/lag_monitor.h"

#include <gtest/gtest.h>

#include <thread>

#include "rightsize/lag/rdkafka_client.h"
#include "rightsize/sim/mock_kafka.h"

namespace rightsize::lag {
namespace {

using namespace std::chrono_literals;

// Message timestamps: one second apart from a fixed point.
constexpr std::int64_t kT0 = 1'700'000'000'000;

class LagMonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto mock = sim::MockKafkaCluster::create(3);
    ASSERT_TRUE(mock.ok()) << mock.error().message();
    mock_ = std::move(*mock);
    auto client = RdKafkaClient::create({.brokers = mock_->bootstrap()});
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
  static const GroupLag* group(const LagSnapshot& snapshot, const std::string& name) {
    for (const auto& g : snapshot.groups) {
      if (g.request.group == name) return &g;
    }
    return nullptr;
  }
  static const PartitionLag* partition(const GroupLag& group, const std::string& topic, std::int32_t p) {
    for (const auto& lag : group.partitions) {
      if (lag.tp.topic == topic && lag.tp.partition == p) return &lag;
    }
    return nullptr;
  }

  ManualClock clock_;
  CountingErrorSink errors_;
  LagOptions options_;
  std::unique_ptr<sim::MockKafkaCluster> mock_;
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

TEST_F(LagMonitorTest, CommitsOnATopicThatDoesNotExistAreIgnored) {
  ASSERT_TRUE(mock_->createTopic("orders", 1).ok());
  (void)mock_->commit("ghosts", "deleted-topic", 0, 5);  // the mock may refuse it; either way no topic
  auto snapshot = cycle({{"ghosts", "", ""}});
  const GroupLag* ghosts = group(*snapshot, "ghosts");
  ASSERT_NE(ghosts, nullptr);
  EXPECT_EQ(*ghosts->status, LagStatus::kNoCommit);
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
  (void)cycle({{"billing", "", ""}});        // connected, topics known
  ASSERT_TRUE(mock_->setRtt(-1, 150).ok());  // a slow cycle, so the broker dies in its middle
  clock_.advance(10s);
  std::thread killer([&] {
    std::this_thread::sleep_for(200ms);
    (void)mock_->setBrokerDown(1);
  });
  const auto started = std::chrono::steady_clock::now();
  auto snapshot = cycle({{"billing", "", ""}});
  killer.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, options_.timeout + 1s);
  ASSERT_NE(group(*snapshot, "billing"), nullptr);
  ASSERT_TRUE(mock_->setRtt(-1, 0).ok());
  ASSERT_TRUE(mock_->setBrokerUp(1).ok());
  bool recovered = false;
  for (int attempt = 0; attempt < 20 && !recovered; ++attempt) {
    clock_.advance(10s);
    auto later = cycle({{"billing", "", ""}});
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
    ASSERT_TRUE(mock_->produce("events", 0, 10, kT0 + 100000 + i * 10000, 1000).ok());
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

TEST_F(LagMonitorTest, AnUnreachableClusterFailsTheCycleInTimeAndSaysSo) {
  auto client = RdKafkaClient::create({.brokers = "127.0.0.1:1"});  // nothing listens on port 1
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

}  // namespace
}  // namespace rightsize::lag
