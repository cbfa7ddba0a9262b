#include "rightsize/lag/lag_status.h"

#include <gtest/gtest.h>

namespace rightsize::lag {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

class PartitionWindowTest : public ::testing::Test {
 protected:
  // One observation every 10 s: the committed offset and the lag.
  void observe(std::int64_t committed, std::int64_t lag) {
    now_ += seconds(10);
    window_.observe(now_, committed, lag);
  }
  LagStatus status() const { return window_.status(now_); }

  TimePoint now_ = fromUnixSeconds(1'700'000'000);
  PartitionWindow window_{minutes(10)};
};

TEST_F(PartitionWindowTest, NothingCommittedIsNoCommit) {
  EXPECT_EQ(status(), LagStatus::kNoCommit);
  window_.observe(now_, std::nullopt, 0);
  EXPECT_EQ(status(), LagStatus::kNoCommit);
}

TEST_F(PartitionWindowTest, CaughtUpAtSomePointInTheWindowIsOk) {
  observe(100, 0);
  for (int i = 0; i < 20; ++i) observe(100, 5 + i);  // a backlog builds, but it was 0 recently
  EXPECT_EQ(status(), LagStatus::kOk);
}

TEST_F(PartitionWindowTest, MovingWithAShrinkingOrSteadyBacklogIsOk) {
  for (int i = 0; i < 30; ++i) observe(100 + 10 * i, 50);
  EXPECT_EQ(status(), LagStatus::kOk);
}

TEST_F(PartitionWindowTest, MovingButFallingBehindIsWarn) {
  for (int i = 0; i < 30; ++i) observe(100 + 10 * i, 50 + i);
  EXPECT_EQ(status(), LagStatus::kWarn);
}

TEST_F(PartitionWindowTest, NotMovingWithABacklogIsStallThenStop) {
  for (int i = 0; i < 10; ++i) observe(100 + 10 * i, 50);
  observe(200, 60);
  for (int i = 0; i < 29; ++i) observe(200, 60 + i);  // 4 min 50 s without a commit
  EXPECT_EQ(status(), LagStatus::kWarn);
  observe(200, 90);  // 5 min: half the window
  EXPECT_EQ(status(), LagStatus::kStall);
  for (int i = 0; i < 30; ++i) observe(200, 91 + i);  // 10 min
  EXPECT_EQ(status(), LagStatus::kStop);
  observe(210, 100);  // it commits again
  EXPECT_NE(status(), LagStatus::kStop);
  EXPECT_NE(status(), LagStatus::kStall);
}

TEST_F(PartitionWindowTest, GoingBackIsRewindWhileInTheWindow) {
  observe(500, 10);
  observe(510, 10);
  observe(100, 410);  // reset to an earlier offset
  EXPECT_EQ(status(), LagStatus::kRewind);
  for (int i = 0; i < 61; ++i) observe(110 + 10 * i, 400);
  EXPECT_EQ(status(), LagStatus::kOk);  // the rewind left the window
}

TEST(LagStatusTest, NamesAndSeverity) {
  EXPECT_EQ(lagStatusName(LagStatus::kNoCommit), "NO_COMMIT");
  EXPECT_EQ(lagStatusName(LagStatus::kStall), "STALL");
  EXPECT_LT(lagStatusSeverity(LagStatus::kNoCommit), lagStatusSeverity(LagStatus::kOk));
  EXPECT_LT(lagStatusSeverity(LagStatus::kOk), lagStatusSeverity(LagStatus::kWarn));
  EXPECT_LT(lagStatusSeverity(LagStatus::kWarn), lagStatusSeverity(LagStatus::kRewind));
  EXPECT_LT(lagStatusSeverity(LagStatus::kRewind), lagStatusSeverity(LagStatus::kStall));
  EXPECT_LT(lagStatusSeverity(LagStatus::kStall), lagStatusSeverity(LagStatus::kStop));
}

}  // namespace
}  // namespace rightsize::lag
