#include "rightsize/wire/lag_report.h"

#include <gtest/gtest.h>

namespace rightsize::wire {
namespace {

// A group that could not be read, and one with a partition behind, one
// without a commit and one stale.
LagReport aLagReport() {
  LagReport report;
  report.timestamp = fromUnixSeconds(1700000000);
  LagGroup broken;
  broken.group = "audit";
  broken.error = "committed offsets of group audit: Local: Timed out";
  LagGroup billing;
  billing.group = "billing";
  billing.app_id = "/billing";
  billing.env = "prod";
  billing.status = LagStatus::kWarn;
  billing.partitions = {
      {.topic = "orders",
       .partition = 0,
       .committed_offset = 40,
       .low_watermark = 0,
       .high_watermark = 100,
       .lag_messages = 60,
       .lag_seconds = 59,
       .status = LagStatus::kWarn},
      {.topic = "orders", .partition = 1, .low_watermark = 0, .high_watermark = 7, .status = LagStatus::kNoCommit},
      {.topic = "orders",
       .partition = 2,
       .committed_offset = 3,
       .stale = true,
       .error = "watermarks from broker 1: Local: Timed out"}};
  report.groups = {broken, billing};
  return report;
}

TEST(WireLagReportTest, EncodesTheJsonOfApiMd) {
  EXPECT_EQ(encodeLagReport(aLagReport()),
            R"({"timestamp":1700000000.0,"groups":[)"
            R"({"group":"audit","app_id":null,"env":null,"status":null,)"
            R"("error":"committed offsets of group audit: Local: Timed out","partitions":[]},)"
            R"({"group":"billing","app_id":"/billing","env":"prod","status":"WARN","error":null,"partitions":[)"
            R"({"topic":"orders","partition":0,"committed_offset":40,"low_watermark":0,"high_watermark":100,)"
            R"("lag_messages":60,"lag_seconds":59,"status":"WARN","stale":false,"below_low_watermark":false,)"
            R"("error":null},)"
            R"({"topic":"orders","partition":1,"committed_offset":null,"low_watermark":0,"high_watermark":7,)"
            R"("lag_messages":null,"lag_seconds":null,"status":"NO_COMMIT","stale":false,)"
            R"("below_low_watermark":false,"error":null},)"
            R"({"topic":"orders","partition":2,"committed_offset":3,"low_watermark":null,"high_watermark":null,)"
            R"("lag_messages":null,"lag_seconds":null,"status":null,"stale":true,"below_low_watermark":false,)"
            R"("error":"watermarks from broker 1: Local: Timed out"}]}]})");
  EXPECT_EQ(encodeLagReport({}), R"({"timestamp":0.0,"groups":[]})");
}

TEST(WireLagReportTest, WhatIsEncodedDecodesToItself) {
  LagReport report = aLagReport();
  report.timestamp = fromUnixSeconds(1700000000.25);
  report.groups[1].partitions[0].lag_seconds = 59.5;
  report.groups[1].partitions[0].below_low_watermark = true;
  report.groups[1].partitions[0].committed_offset = 9'007'199'254'740'993;  // not a double
  for (const LagStatus status : {LagStatus::kOk, LagStatus::kNoCommit, LagStatus::kWarn, LagStatus::kRewind,
                                 LagStatus::kStall, LagStatus::kStop}) {
    report.groups.push_back({.group = "g" + std::string(lagStatusName(status)), .status = status});
  }
  std::vector<Error> errors;
  const LagReport decoded = decodeLagReport(encodeLagReport(report), "agent", errors);
  EXPECT_TRUE(errors.empty()) << errors.front().message();
  EXPECT_EQ(decoded, report);
}

TEST(WireLagReportTest, AGroupMustBeNamedByAString) {
  std::vector<Error> errors;
  const LagReport report = decodeLagReport(
      R"({"timestamp": 1, "groups": [{"group": "g1", "app_id": "/consumer", "status": "WARN", "partitions": []},)"
      R"( {"status": "OK"}, {"group": 7}, "g3", {"group": "g2", "status": "OK"}]})",
      "http://agent-1:9540/v1/lag", errors);
  ASSERT_EQ(report.groups.size(), 2u);
  EXPECT_EQ(report.groups[0].group, "g1");
  EXPECT_EQ(report.groups[0].app_id, "/consumer");
  EXPECT_EQ(report.groups[0].status, LagStatus::kWarn);
  EXPECT_EQ(report.groups[1].group, "g2");
  EXPECT_EQ(report.groups[1].app_id, "");
  ASSERT_EQ(errors.size(), 3u);
  for (std::size_t i = 0; i < errors.size(); ++i) {
    EXPECT_EQ(errors[i].kind(), ErrorKind::kMissingField);
    EXPECT_EQ(errors[i].message(),
              "http://agent-1:9540/v1/lag: groups[" + std::to_string(i + 1) + "]: group must be a string");
  }
}

TEST(WireLagReportTest, ABodyThatIsNoReportIsOneError) {
  for (const char* body : {R"({"groups": [)", "", "[]", R"({"groups": {}})", R"({"timestamp": 1})"}) {
    std::vector<Error> errors;
    EXPECT_TRUE(decodeLagReport(body, "lag", errors).groups.empty()) << body;
    ASSERT_EQ(errors.size(), 1u) << body;
    EXPECT_NE(errors[0].message().find("lag"), std::string::npos) << errors[0].message();
  }
  std::vector<Error> errors;
  (void)decodeLagReport(R"({"groups": "none"})", "lag", errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].kind(), ErrorKind::kMalformed);
  EXPECT_EQ(errors[0].message(), "lag: no groups array");
}

// A status the sizer does not know (a newer agent's), null or of another
// type reads as unknown; other members are taken when of their type.
TEST(WireLagReportTest, UnknownStatusesAndInformationalMembers) {
  std::vector<Error> errors;
  const LagReport report = decodeLagReport(
      R"({"groups": [{"group": "a", "status": "LAGGING"}, {"group": "b", "status": null, "app_id": 5},)"
      R"( {"group": "c", "status": 1, "partitions": [{"topic": "t", "partition": "0", "status": "ok",)"
      R"( "committed_offset": 1.5, "lag_seconds": "x", "stale": 1}, 7]}, {"group": "d", "status": "STOP"}]})",
      "lag", errors);
  EXPECT_TRUE(errors.empty());
  ASSERT_EQ(report.groups.size(), 4u);
  EXPECT_FALSE(report.groups[0].status);
  EXPECT_FALSE(report.groups[1].status);
  EXPECT_EQ(report.groups[1].app_id, "");
  EXPECT_FALSE(report.groups[2].status);
  ASSERT_EQ(report.groups[2].partitions.size(), 1u);
  EXPECT_EQ(report.groups[2].partitions[0], LagPartition{.topic = "t"});
  EXPECT_EQ(report.groups[3].status, LagStatus::kStop);
}

TEST(WireLagStatusTest, NamesReadBack) {
  EXPECT_EQ(lagStatusName(LagStatus::kNoCommit), "NO_COMMIT");
  EXPECT_EQ(lagStatusName(LagStatus::kStall), "STALL");
  for (const LagStatus status : {LagStatus::kOk, LagStatus::kNoCommit, LagStatus::kWarn, LagStatus::kRewind,
                                 LagStatus::kStall, LagStatus::kStop}) {
    EXPECT_EQ(parseLagStatus(lagStatusName(status)), status);
  }
  EXPECT_FALSE(parseLagStatus("ok"));
  EXPECT_FALSE(parseLagStatus(""));
  EXPECT_FALSE(parseLagStatus("WARNING"));
}

}  // namespace
}  // namespace rightsize::wire
