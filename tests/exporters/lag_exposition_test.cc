#include "rightsize/exporters/lag_exposition.h"

#include <gtest/gtest.h>

#include "test_support.h"

#include "rightsize/core/json.h"

namespace rightsize::exporters {
namespace {

lag::LagSnapshot sample() {
  lag::LagSnapshot snapshot;
  snapshot.timestamp = fromUnixSeconds(1700000000);
  snapshot.cycles = 3;
  snapshot.kafka_ok = true;
  snapshot.last_cycle = std::chrono::milliseconds(40);
  lag::GroupLag group;
  group.request = {"billing", "/billing", "prod"};
  group.status = lag::LagStatus::kWarn;
  lag::PartitionLag behind;
  behind.tp = {"orders", 0};
  behind.committed_offset = 40;
  behind.low_watermark = 0;
  behind.high_watermark = 100;
  behind.lag_messages = 60;
  behind.lag_seconds = 59;
  behind.status = lag::LagStatus::kWarn;
  lag::PartitionLag none;
  none.tp = {"orders", 1};
  none.low_watermark = 0;
  none.high_watermark = 7;
  none.status = lag::LagStatus::kNoCommit;
  lag::PartitionLag stale;
  stale.tp = {"orders", 2};
  stale.stale = true;
  stale.committed_offset = 3;
  stale.error = "watermarks from broker 1: Local: Timed out";
  group.partitions = {behind, none, stale};
  lag::GroupLag broken;
  broken.request = {"audit", "", ""};
  broken.error = "committed offsets of group audit: Local: Timed out";
  snapshot.groups = {broken, group};
  return snapshot;
}

TEST(LagJsonTest, HasTheShapeOfDesignMdWithNullsForTheUnknown) {
  auto document = json::parse(lagJson(sample()), "output");
  ASSERT_TRUE(document.ok()) << document.error().message();
  const auto& groups = (*document)["groups"];
  ASSERT_EQ(groups.Size(), 2u);
  EXPECT_TRUE(groups[0]["status"].IsNull());
  EXPECT_STREQ(groups[0]["error"].GetString(), "committed offsets of group audit: Local: Timed out");
  const auto& billing = groups[1];
  EXPECT_STREQ(billing["group"].GetString(), "billing");
  EXPECT_STREQ(billing["status"].GetString(), "WARN");
  EXPECT_STREQ(billing["app_id"].GetString(), "/billing");
  const auto& p0 = billing["partitions"][0];
  EXPECT_STREQ(p0["topic"].GetString(), "orders");
  EXPECT_EQ(p0["partition"].GetInt(), 0);
  EXPECT_EQ(p0["committed_offset"].GetInt64(), 40);
  EXPECT_EQ(p0["low_watermark"].GetInt64(), 0);
  EXPECT_EQ(p0["high_watermark"].GetInt64(), 100);
  EXPECT_EQ(p0["lag_messages"].GetInt64(), 60);
  EXPECT_DOUBLE_EQ(p0["lag_seconds"].GetDouble(), 59);
  EXPECT_STREQ(p0["status"].GetString(), "WARN");
  const auto& p1 = billing["partitions"][1];
  EXPECT_TRUE(p1["committed_offset"].IsNull());
  EXPECT_TRUE(p1["lag_messages"].IsNull());
  EXPECT_TRUE(p1["lag_seconds"].IsNull());
  EXPECT_STREQ(p1["status"].GetString(), "NO_COMMIT");
  const auto& p2 = billing["partitions"][2];
  EXPECT_TRUE(p2["stale"].GetBool());
  EXPECT_TRUE(p2["status"].IsNull());
  EXPECT_TRUE(p2["high_watermark"].IsNull());
}

// The document is wire/'s encoding of the snapshot, the status travelling as
// the wire's enum.
TEST(LagJsonTest, IsTheWireEncodingOfTheSnapshot) {
  const wire::LagReport report = lagReport(sample());
  ASSERT_EQ(report.groups.size(), 2u);
  EXPECT_FALSE(report.groups[0].status);
  EXPECT_EQ(report.groups[1].status, wire::LagStatus::kWarn);
  ASSERT_EQ(report.groups[1].partitions.size(), 3u);
  EXPECT_EQ(report.groups[1].partitions[1].status, wire::LagStatus::kNoCommit);
  EXPECT_EQ(lagJson(sample()), wire::encodeLagReport(report));
  EXPECT_EQ(lagJson(lag::LagSnapshot{}), R"({"timestamp":0.0,"groups":[]})");
}

TEST(LagMetricsTest, SeriesWithDesignLabelsAndTheCurrentStatusOnly) {
  TextExposition out;
  writeLag(out, sample());
  const std::string& text = out.text();
  const std::string labels = R"({group="billing",app_id="/billing",env="prod",partition="0",topic="orders"})";
  for (
      const std::string& line : {
          "rightsize_kafka_consumer_lag_messages" + labels + " 60",
          "rightsize_kafka_consumer_lag_seconds" + labels + " 59",
          "rightsize_kafka_consumer_committed_offset" + labels + " 40",
          "rightsize_kafka_partition_high_watermark" + labels + " 100",
          std::string(
              R"(rightsize_kafka_consumer_status{group="billing",app_id="/billing",env="prod",partition="0",topic="orders",status="WARN"} 1)"),
          std::string(
              R"(rightsize_kafka_consumer_status{group="billing",app_id="/billing",env="prod",partition="1",topic="orders",status="NO_COMMIT"} 1)"),
          std::string(R"(rightsize_kafka_group_status{group="billing",app_id="/billing",env="prod",status="WARN"} 1)"),
          std::string("rightsize_kafka_up 1"),
      }) {
    EXPECT_NE(text.find(line + "\n"), std::string::npos) << line << "\n" << text;
  }
  // Unknown values are left out: no lag for the uncommitted or stale partitions.
  EXPECT_EQ(
      text.find(R"(rightsize_kafka_consumer_lag_messages{group="billing",app_id="/billing",env="prod",partition="1")"),
      std::string::npos);
  EXPECT_EQ(text.find(R"(partition="2",topic="orders",status=)"), std::string::npos);
  const auto promtool = testing::promtoolCheckMetrics(text);
  EXPECT_EQ(promtool.exit_code, 0) << promtool.output;
}

}  // namespace
}  // namespace rightsize::exporters
