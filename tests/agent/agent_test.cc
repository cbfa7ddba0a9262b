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

// An agent that ran before: its checkpoint after three readings of "a" and
// "b", 10 s apart, at 0.5 cores each.
std::map<std::string, TrackerCheckpoint> earlierAgentsCheckpoint(ManualClock& clock) {
  ScriptedSource source;
  CountingErrorSink errors;
  AgentOptions options;
  options.tracker.window = minutes(5);
  Agent earlier(source, clock, errors, options);
  for (int i = 0; i < 3; ++i) {
    SourceReading reading;
    reading.containers = {container("a", clock.now(), 5.0 * i), container("b", clock.now(), 5.0 * i)};
    source.push(std::move(reading));
    earlier.collectOnce();
    clock.advance(seconds(10));
  }
  return earlier.checkpoint();
}

TEST_F(AgentTest, ARestoredContainerKeepsItsWindowsAndHasARateAtItsFirstReading) {
  auto entries = earlierAgentsCheckpoint(clock_);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries.at("a").state.sample_times.size(), 3u);
  agent_.restore(std::move(entries));
  // The clock went on 10 s since the last reading: the first one of this
  // agent gives the rate over those 10 s.
  cycle({container("a", clock_.now(), 15), container("c", clock_.now(), 0)});
  const ContainerStats* a = find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->samples, 4u);
  ASSERT_TRUE(a->used_cores);
  EXPECT_DOUBLE_EQ(*a->used_cores, 0.5);
  EXPECT_DOUBLE_EQ(*a->used_cores_avg, 0.5);
  EXPECT_DOUBLE_EQ(*a->used_cores_p95, 0.5);
  EXPECT_EQ(a->identity.app_id, "/a");  // the identity comes with the reading
  const ContainerStats* c = find("c");  // not in the checkpoint: afresh
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->samples, 1u);
  EXPECT_FALSE(c->used_cores);
  // "b" was not listed by a complete listing: its entry is dropped.
  const auto next = agent_.checkpoint();
  EXPECT_TRUE(next.contains("a"));
  EXPECT_TRUE(next.contains("c"));
  EXPECT_FALSE(next.contains("b"));
  EXPECT_EQ(errors_.total(), 0u);
}

TEST_F(AgentTest, RestoredEntriesOutliveFailedListingsButNotTheWindow) {
  agent_.restore(earlierAgentsCheckpoint(clock_));
  cycle({}, /*complete=*/false);
  EXPECT_EQ(agent_.checkpoint().size(), 2u);  // kept for the next agent, with their own times
  clock_.advance(minutes(5));
  cycle({}, /*complete=*/false);
  EXPECT_TRUE(agent_.checkpoint().empty());
  cycle({container("a", clock_.now(), 1000)});
  ASSERT_NE(find("a"), nullptr);
  EXPECT_EQ(find("a")->samples, 1u);
}

TEST_F(AgentTest, AnEntrySeenLongerAgoThanTheWindowIsNotRestored) {
  auto entries = earlierAgentsCheckpoint(clock_);
  clock_.advance(minutes(5));
  agent_.restore(std::move(entries));
  cycle({container("a", clock_.now(), 200)});
  ASSERT_NE(find("a"), nullptr);
  EXPECT_EQ(find("a")->samples, 1u);
  EXPECT_FALSE(find("a")->used_cores);
}

}  // namespace
}  // namespace rightsize::agent
