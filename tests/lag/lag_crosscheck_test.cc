// rightsize's lag figures against an independent client: python3-confluent-
// kafka reads the same group on the same mock cluster and must agree.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <sstream>

#include "test_support.h"

#include "rightsize/lag/lag_monitor.h"
#include "rightsize/lag/rdkafka_client.h"
#include "rightsize/testing/fake_kafka_cluster.h"

namespace rightsize::lag {
namespace {

using namespace std::chrono_literals;

TEST(LagCrossCheckTest, FiguresAgreeWithConfluentKafkaPython) {
  auto mock = testing::FakeKafkaCluster::create(3);
  ASSERT_TRUE(mock.ok());
  auto& kafka = **mock;
  ASSERT_TRUE(kafka.createTopic("payments", 4).ok());
  const std::int64_t t0 = 1'700'000'000'000;
  // Different rates, backlogs and a partition with nothing committed.
  ASSERT_TRUE(kafka.produce("payments", 0, 120, t0, 500).ok());
  ASSERT_TRUE(kafka.produce("payments", 1, 30, t0, 2000).ok());
  ASSERT_TRUE(kafka.produce("payments", 2, 50, t0, 1000).ok());
  ASSERT_TRUE(kafka.commit("ledger", "payments", 0, 17).ok());
  ASSERT_TRUE(kafka.commit("ledger", "payments", 1, 30).ok());
  ASSERT_TRUE(kafka.commit("ledger", "payments", 2, 1).ok());

  ManualWallClock clock;  // the mock cluster answers in real time
  auto client = RdKafkaClient::create({.brokers = kafka.bootstrap()}, clock);
  ASSERT_TRUE(client.ok());
  CountingErrorSink errors;
  LagMonitor monitor(**client, clock, errors, {});
  monitor.collectOnce({{"ledger", "", ""}});
  auto snapshot = monitor.snapshot();
  ASSERT_EQ(snapshot->groups.size(), 1u);

  auto python = testing::spawn({"/usr/bin/python3", std::string(RIGHTSIZE_SOURCE_DIR) + "/tests/lag/crosscheck_lag.py",
                                kafka.bootstrap(), "ledger", "payments", "4"});
  const int status = python->wait(120s);
  python->drain(200ms);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "python3-confluent-kafka failed (scripts/setup installs it):\n"
      << python->output();

  std::istringstream lines(python->output());
  int compared = 0;
  std::string partition, committed, low, high, lag, lag_seconds;
  while (lines >> partition >> committed >> low >> high >> lag >> lag_seconds) {
    const PartitionLag* ours = nullptr;
    for (const auto& p : snapshot->groups[0].partitions) {
      if (p.tp.partition == std::stoi(partition)) ours = &p;
    }
    ASSERT_NE(ours, nullptr) << "partition " << partition;
    SCOPED_TRACE("partition " + partition);
    EXPECT_EQ(ours->low_watermark, std::stoll(low));
    EXPECT_EQ(ours->high_watermark, std::stoll(high));
    if (committed == "-") {
      EXPECT_FALSE(ours->committed_offset);
      EXPECT_FALSE(ours->lag_messages);
    } else {
      EXPECT_EQ(ours->committed_offset, std::stoll(committed));
      EXPECT_EQ(ours->lag_messages, std::stoll(lag));
      ASSERT_TRUE(ours->lag_seconds);
      EXPECT_DOUBLE_EQ(*ours->lag_seconds, std::stod(lag_seconds));
    }
    ++compared;
  }
  EXPECT_EQ(compared, 4) << python->output();
}

}  // namespace
}  // namespace rightsize::lag
