#include "rightsize/agent/agent.h"

#include <gtest/gtest.h>

#include <deque>
#include <limits>

namespace rightsize::agent {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

// A source that returns readings queued by the test.
class ScriptedSource final : public ContainerSource {
 public:
  std::string_view name() const override { return "scripted"; }
  SourceReading read() override {
    if (queue_.empty()) return {};
    SourceReading next = std::move(queue_.front());
    queue_.pop_front();
    return next;
  }
  void push(SourceReading reading) { queue_.push_back(std::move(reading)); }

 private:
  std::deque<SourceReading> queue_;
};

ContainerSample container(const std::string& id, TimePoint at, double cpu_seconds, bool nested = false) {
  ContainerSample s;
  s.identity.container_id = id;
  s.identity.app_id = "/" + id;
  s.identity.nested = nested;
  s.at = at;
  s.cpu_seconds = cpu_seconds;
  s.reserved_cores = 1.0;
  return s;
}

class AgentTest : public ::testing::Test {
 protected:
  AgentTest() : agent_(source_, clock_, errors_, options()) {}
  static AgentOptions options() {
    AgentOptions o;
    o.host = "agent-1";
    o.tracker.window = minutes(5);
    return o;
  }
  // One cycle, `dt` after the previous, with `containers` as (id, cpu) pairs.
  void cycle(std::vector<ContainerSample> containers, bool complete = true, std::vector<Error> errors = {}) {
    SourceReading reading;
    reading.containers = std::move(containers);
    reading.complete = complete;
    reading.errors = std::move(errors);
    reading.host_capacity_cores = 16;
    source_.push(std::move(reading));
    agent_.collectOnce();
  }
  const ContainerStats* find(const std::string& id) const {
    snapshot_ = agent_.snapshot();
    for (const auto& c : snapshot_->containers) {
      if (c.identity.container_id == id) return &c;
    }
    return nullptr;
  }

  ManualClock clock_;
  ScriptedSource source_;
  CountingErrorSink errors_;
  Agent agent_;
  mutable std::shared_ptr<const AgentSnapshot> snapshot_;
};

TEST_F(AgentTest, PublishesAnEmptySnapshotBeforeTheFirstCycle) {
  auto snapshot = agent_.snapshot();
  EXPECT_EQ(snapshot->cycles, 0u);
  EXPECT_TRUE(snapshot->containers.empty());
  EXPECT_EQ(snapshot->host, "agent-1");
}

TEST_F(AgentTest, SumsTopLevelContainersIntoHostUsage) {
  const TimePoint t0 = clock_.now();
  cycle({container("a", t0, 0), container("b", t0, 0), container("b.child", t0, 0, true)});
  clock_.advance(seconds(10));
  const TimePoint t1 = clock_.now();
  cycle({container("a", t1, 5), container("b", t1, 10), container("b.child", t1, 8, true)});
  auto snapshot = agent_.snapshot();
  EXPECT_EQ(snapshot->cycles, 2u);
  EXPECT_TRUE(snapshot->source_ok);
  ASSERT_EQ(snapshot->containers.size(), 3u);
  EXPECT_EQ(snapshot->containers[0].identity.container_id, "a");  // sorted by id
  EXPECT_NEAR(*snapshot->host_used_cores, 0.5 + 1.0, 1e-9);       // the nested child is inside b
  EXPECT_DOUBLE_EQ(*snapshot->host_capacity_cores, 16);
  EXPECT_EQ(snapshot->timestamp, t1);
}

TEST_F(AgentTest, AContainerMissingFromACompleteListingVanishes) {
  const TimePoint t0 = clock_.now();
  cycle({container("a", t0, 0), container("b", t0, 0)});
  clock_.advance(seconds(10));
  cycle({container("a", clock_.now(), 1)});
  EXPECT_EQ(find("b"), nullptr);
  // If it comes back, it starts afresh: no rate from a stale baseline.
  clock_.advance(seconds(10));
  cycle({container("a", clock_.now(), 2), container("b", clock_.now(), 100)});
  ASSERT_NE(find("b"), nullptr);
  EXPECT_FALSE(find("b")->used_cores);
}

TEST_F(AgentTest, AFailedListingKeepsHistoryUntilTheWindowPasses) {
  cycle({container("a", clock_.now(), 0)});
  clock_.advance(seconds(10));
  cycle({}, /*complete=*/false,
        {Error(ErrorKind::kUnavailable, "GET http://127.0.0.1:5051/monitor/statistics: refused")});
  auto snapshot = agent_.snapshot();
  EXPECT_FALSE(snapshot->source_ok);
  EXPECT_EQ(snapshot->consecutive_source_failures, 1u);
  EXPECT_TRUE(snapshot->containers.empty());  // nothing measured now, nothing published
  EXPECT_EQ(errors_.count("scripted", "unavailable"), 1u);
  // The source comes back within the window: the rate spans the outage.
  clock_.advance(seconds(10));
  cycle({container("a", clock_.now(), 10)});
  ASSERT_NE(find("a"), nullptr);
  EXPECT_NEAR(*find("a")->used_cores, 0.5, 1e-9);
  EXPECT_EQ(agent_.snapshot()->consecutive_source_failures, 0u);
  // A longer outage forgets the container.
  clock_.advance(minutes(6));
  cycle({}, false);
  clock_.advance(seconds(10));
  cycle({container("a", clock_.now(), 20)});
  EXPECT_FALSE(find("a")->used_cores);
}

TEST_F(AgentTest, AnUnreadableContainerKeepsItsHistory) {
  cycle({container("a", clock_.now(), 0), container("b", clock_.now(), 0)});
  clock_.advance(seconds(10));
  SourceReading reading;
  reading.containers = {container("a", clock_.now(), 5)};
  reading.unreadable = {"b"};
  source_.push(std::move(reading));
  agent_.collectOnce();
  EXPECT_EQ(find("b"), nullptr);  // nothing measured: not published
  clock_.advance(seconds(10));
  cycle({container("a", clock_.now(), 10), container("b", clock_.now(), 20)});
  ASSERT_NE(find("b"), nullptr);
  EXPECT_NEAR(*find("b")->used_cores, 1.0, 1e-9);  // the rate spans the unreadable cycle
}

TEST_F(AgentTest, ForgettingAfterAnOutageUsesTheAgentsClockNotTheSources) {
  // The source's clock runs a day ahead of the agent's (as Mesos' may).
  const TimePoint source_time = clock_.now() + std::chrono::hours(24);
  cycle({container("a", source_time, 0)});
  clock_.advance(seconds(10));
  cycle({}, /*complete=*/false);
  clock_.advance(seconds(10));
  cycle({container("a", source_time + seconds(20), 10)});
  ASSERT_NE(find("a"), nullptr);
  EXPECT_NEAR(*find("a")->used_cores, 0.5, 1e-9);
}

TEST_F(AgentTest, AnUnusableFirstReadingIsNotPublished) {
  auto bad = container("x", clock_.now(), std::numeric_limits<double>::infinity());
  cycle({bad});
  EXPECT_TRUE(agent_.snapshot()->containers.empty());
  EXPECT_EQ(errors_.count("scripted", "invalid_value"), 1u);
}

TEST_F(AgentTest, CountsSourceAndTrackerErrorsAndSkipsBadContainers) {
  cycle({container("a", clock_.now(), 50), container("a", clock_.now(), 1), container("", clock_.now(), 1)}, true,
        {Error(ErrorKind::kMalformed, "x")});
  clock_.advance(seconds(10));
  cycle({container("a", clock_.now(), 10)});  // CPU time went back
  EXPECT_EQ(errors_.count("scripted", "malformed"), 1u);
  EXPECT_EQ(errors_.count("scripted", "invalid_value"), 1u);  // listed twice
  EXPECT_EQ(errors_.count("scripted", "missing_field"), 1u);  // no id
  EXPECT_EQ(errors_.count("scripted", "counter_reset"), 1u);
  ASSERT_NE(find("a"), nullptr);
}

}  // namespace
}  // namespace rightsize::agent
