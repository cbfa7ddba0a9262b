// The agent's checkpoint: the encoding of a tracker's state on literal
// inputs (exact values both ways, refusal of what a tracker must not be
// fed), a tracker continued from a decoded state, and the Checkpointer's
// loading and pacing against an in-memory store on a manual clock.

#include "rightsize/agent/checkpoint.h"

#include <gtest/gtest.h>

#include <limits>

namespace rightsize::agent {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

TimePoint at(std::int64_t unix_nanoseconds) { return TimePoint(Duration(unix_nanoseconds)); }

constexpr std::int64_t kT0 = 1'700'000'000'250'000'000;
constexpr std::int64_t kT1 = 1'700'000'010'250'000'000;

TrackerCheckpoint smallCheckpoint() {
  TrackerCheckpoint c;
  c.seen_at = at(1'700'000'010'500'000'000);
  TrackerState& s = c.state;
  s.baseline = TrackerState::Baseline{at(kT1), 12.5, 100, 7, 3.5};
  s.last_seen = at(kT1);
  s.sample_times = {at(kT0), at(kT1)};
  s.reserved_cores = 1.1;
  s.limit_cores = 2.1;
  s.used_cores = 0.4;
  s.throttled_ratio = 0.07;
  s.throttled_cores = 0.2;
  s.memory_limit_bytes = 301989888;
  s.memory_request_bytes = 167772160;
  s.memory_used_bytes = 90000000;
  s.used_cores_avg = TimedValue{at(kT1), 0.4};
  s.lying_factor_cores_avg = TimedValue{at(kT1), 0.7};
  s.lying_factor_bytes_avg = TimedValue{at(kT1), 77772160};
  s.used_cores_window = {{at(kT1), 0.4}};
  s.memory_used_bytes_window = {{at(kT0), 89000000}, {at(kT1), 90000000}};
  return c;
}

TEST(TrackerCheckpointCodecTest, WritesTheDocumentedLayout) {
  EXPECT_EQ(
      encodeTrackerCheckpoint(smallCheckpoint()),
      R"({"version":1,"seen_at_ns":1700000010500000000,"last_seen_ns":1700000010250000000,)"
      R"("baseline":{"at_ns":1700000010250000000,"cpu_seconds":12.5,"cfs_periods":100,"cfs_throttled_periods":7,)"
      R"("cfs_throttled_seconds":3.5},"reserved_cores":1.1,"limit_cores":2.1,"used_cores":0.4,"throttled_ratio":0.07,)"
      R"("throttled_cores":0.2,)"
      R"("memory_limit_bytes":301989888,"memory_request_bytes":167772160,"memory_used_bytes":90000000,)"
      R"("used_cores_avg":{"at_ns":1700000010250000000,"value":0.4},)"
      R"("lying_factor_cores_avg":{"at_ns":1700000010250000000,"value":0.7},)"
      R"("lying_factor_bytes_avg":{"at_ns":1700000010250000000,"value":77772160},)"
      R"("sample_times_ns":[1700000000250000000,1700000010250000000],)"
      R"("used_cores_window":[[1700000010250000000,0.4]],)"
      R"("memory_used_bytes_window":[[1700000000250000000,89000000],[1700000010250000000,90000000]]})");
}

TEST(TrackerCheckpointCodecTest, RoundTripsEveryValueExactly) {
  TrackerCheckpoint c = smallCheckpoint();
  // Values whose decimal forms are long or at the edges of double.
  c.state.baseline->cpu_seconds = 123456789.123456789;
  c.state.baseline->cfs_periods = std::numeric_limits<std::uint64_t>::max();
  c.state.baseline->cfs_throttled_periods.reset();
  c.state.baseline->cfs_throttled_seconds = 0.1 + 0.7;
  c.state.used_cores = 1.0 / 3.0;
  c.state.throttled_ratio = 5e-324;
  c.state.memory_limit_bytes = std::numeric_limits<double>::max();
  c.state.memory_used_bytes = 0.1 + 0.2;
  c.state.reserved_cores.reset();
  c.state.limit_cores = 8192;
  c.state.memory_request_bytes.reset();
  c.state.used_cores_avg = TimedValue{at(kT1 - 1), 2.0 / 3.0};
  c.state.lying_factor_cores_avg = TimedValue{at(kT0 + 123'456'789), -0.30000000000000004};
  c.state.lying_factor_bytes_avg.reset();
  c.state.used_cores_window = {{at(kT0), 8191.999999999999}, {at(kT0), 1e-300}, {at(kT1), 8192}};
  c.state.memory_used_bytes_window.clear();

  const std::string text = encodeTrackerCheckpoint(c);
  auto decoded = decodeTrackerCheckpoint(text, "test");
  ASSERT_TRUE(decoded.ok()) << decoded.error().message() << "\n" << text;
  EXPECT_EQ(*decoded, c) << text;
  EXPECT_EQ(encodeTrackerCheckpoint(*decoded), text);

  TrackerCheckpoint empty;
  auto decoded_empty = decodeTrackerCheckpoint(encodeTrackerCheckpoint(empty), "test");
  ASSERT_TRUE(decoded_empty.ok()) << decoded_empty.error().message();
  EXPECT_EQ(*decoded_empty, empty);
}

TEST(TrackerCheckpointCodecTest, ReadsNullsAsUnsetAndIgnoresUnknownMembers) {
  auto decoded = decodeTrackerCheckpoint(
      R"({"version":1,"seen_at_ns":5,"last_seen_ns":4,"used_cores":null,"baseline":null,"from_the_future":[1,2]})",
      "test");
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  EXPECT_EQ(decoded->seen_at, at(5));
  EXPECT_EQ(decoded->state.last_seen, at(4));
  EXPECT_FALSE(decoded->state.used_cores);
  EXPECT_FALSE(decoded->state.baseline);
}

// Numbers on which rapidjson 1.1.0's full-precision reader has undefined
// behaviour (found by fuzz/checkpoint_fuzz) are read, exactly, by from_chars.
TEST(TrackerCheckpointCodecTest, ReadsNumbersRapidjsonWouldMisreadExactly) {
  const auto decoded = decodeTrackerCheckpoint(
      R"({"version":1,"seen_at_ns":100,"last_seen_ns":90,"used_cores":0e38,"memory_used_bytes":184467440737095516157})",
      "entry");
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  EXPECT_EQ(decoded->state.used_cores, 0.0);
  EXPECT_EQ(decoded->state.memory_used_bytes, 184467440737095516157.0);
}

TEST(TrackerCheckpointCodecTest, RefusesWhatATrackerMustNotBeFed) {
  const std::string head = R"({"version":1,"seen_at_ns":100,"last_seen_ns":90)";
  const struct {
    std::string text;
    ErrorKind kind;
    std::string says;
  } cases[] = {
      {"", ErrorKind::kMalformed, "not JSON"},
      {"{\"version\":1,", ErrorKind::kMalformed, "not JSON"},
      {head + "} trailing", ErrorKind::kMalformed, "not JSON"},
      {"[1,2]", ErrorKind::kInvalidValue, "expected an object"},
      {R"({"seen_at_ns":1,"last_seen_ns":1})", ErrorKind::kMissingField, "version: missing"},
      {R"({"version":2,"seen_at_ns":1,"last_seen_ns":1})", ErrorKind::kInvalidValue, "version"},
      {R"({"version":"1","seen_at_ns":1,"last_seen_ns":1})", ErrorKind::kInvalidValue, "version"},
      {R"({"version":1,"last_seen_ns":1})", ErrorKind::kMissingField, "seen_at_ns: missing"},
      {R"({"version":1,"seen_at_ns":1})", ErrorKind::kMissingField, "last_seen_ns: missing"},
      {R"({"version":1,"seen_at_ns":-1,"last_seen_ns":1})", ErrorKind::kInvalidValue, "seen_at_ns"},
      {R"({"version":1,"seen_at_ns":1.5,"last_seen_ns":1})", ErrorKind::kInvalidValue, "seen_at_ns"},
      {R"({"version":1,"seen_at_ns":1,"last_seen_ns":9223372036854775808})", ErrorKind::kInvalidValue, "last_seen_ns"},
      {head + R"(,"used_cores":-0.1})", ErrorKind::kInvalidValue, "used_cores"},
      {head + R"(,"used_cores":"0.4"})", ErrorKind::kInvalidValue, "used_cores: expected a number"},
      {head + R"(,"sample_times_ns":"80"})", ErrorKind::kInvalidValue, "sample_times_ns: expected an array"},
      {head + R"(,"baseline":"x"})", ErrorKind::kMissingField, "baseline.at_ns: missing"},
      {R"({"version":1,"seen_at_ns":"1","last_seen_ns":1})", ErrorKind::kInvalidValue, "seen_at_ns"},
      {head + R"(,"used_cores":184467440737095516157})", ErrorKind::kInvalidValue, "used_cores"},
      {head + R"(,"reserved_cores":10000})", ErrorKind::kInvalidValue, "reserved_cores"},
      {head + R"(,"limit_cores":10000})", ErrorKind::kInvalidValue, "limit_cores"},
      {head + R"(,"memory_request_bytes":-1})", ErrorKind::kInvalidValue, "memory_request_bytes"},
      {head + R"(,"throttled_ratio":1.5})", ErrorKind::kInvalidValue, "throttled_ratio"},
      {head + R"(,"throttled_cores":-0.5})", ErrorKind::kInvalidValue, "throttled_cores"},
      {head + R"(,"memory_used_bytes":-1})", ErrorKind::kInvalidValue, "memory_used_bytes"},
      {head + R"(,"used_cores":1e999})", ErrorKind::kMalformed, "not JSON"},
      {head + R"(,"baseline":{"cpu_seconds":1}})", ErrorKind::kMissingField, "baseline.at_ns: missing"},
      {head + R"(,"baseline":{"at_ns":90}})", ErrorKind::kMissingField, "baseline.cpu_seconds: missing"},
      {head + R"(,"baseline":{"at_ns":91,"cpu_seconds":1}})", ErrorKind::kInvalidValue,
       "baseline.at_ns: after the last reading"},
      {head + R"(,"baseline":{"at_ns":90,"cpu_seconds":-1}})", ErrorKind::kInvalidValue, "baseline.cpu_seconds"},
      {head + R"(,"baseline":{"at_ns":90,"cpu_seconds":1,"cfs_periods":-3}})", ErrorKind::kInvalidValue,
       "baseline.cfs_periods"},
      {head + R"(,"baseline":[90,1]})", ErrorKind::kInvalidValue, "baseline: expected an object"},
      {head + R"(,"used_cores_avg":{"at_ns":90}})", ErrorKind::kMissingField, "used_cores_avg.value: missing"},
      {head + R"(,"used_cores_avg":{"at_ns":95,"value":1}})", ErrorKind::kInvalidValue,
       "used_cores_avg.at_ns: after the last reading"},
      {head + R"(,"lying_factor_cores_avg":{"at_ns":90,"value":true}})", ErrorKind::kInvalidValue,
       "lying_factor_cores_avg.value"},
      {head + R"(,"sample_times_ns":[80,70]})", ErrorKind::kInvalidValue,
       "sample_times_ns[1]: earlier than the sample before it"},
      {head + R"(,"sample_times_ns":[80,91]})", ErrorKind::kInvalidValue, "sample_times_ns[1]: after the last reading"},
      {head + R"(,"sample_times_ns":{"0":80}})", ErrorKind::kInvalidValue, "sample_times_ns: expected an array"},
      {head + R"(,"used_cores_window":[[80,0.5],[70,0.5]]})", ErrorKind::kInvalidValue,
       "used_cores_window[1]: earlier than the sample before it"},
      {head + R"(,"used_cores_window":[[80]]})", ErrorKind::kInvalidValue,
       "used_cores_window[0]: expected [time, value]"},
      {head + R"(,"used_cores_window":[[80,-0.5]]})", ErrorKind::kInvalidValue, "used_cores_window[0][1]"},
      {head + R"(,"memory_used_bytes_window":[[99,5]]})", ErrorKind::kInvalidValue,
       "memory_used_bytes_window[0]: after the last reading"},
  };
  for (const auto& c : cases) {
    auto decoded = decodeTrackerCheckpoint(c.text, "rightsize:agent:h1 field c-web");
    ASSERT_FALSE(decoded.ok()) << c.text;
    EXPECT_EQ(decoded.error().kind(), c.kind) << c.text << ": " << decoded.error().message();
    EXPECT_NE(decoded.error().message().find(c.says), std::string::npos) << c.text << ": " << decoded.error().message();
    EXPECT_TRUE(decoded.error().message().starts_with("rightsize:agent:h1 field c-web: ")) << decoded.error().message();
  }
}

TEST(TrackerCheckpointCodecTest, RefusesMoreSamplesThanAnyTrackerHolds) {
  std::string text = R"({"version":1,"seen_at_ns":1,"last_seen_ns":1,"sample_times_ns":[)";
  for (int i = 0; i <= 65536; ++i) text += i == 0 ? "1" : ",1";
  text += "]}";
  auto decoded = decodeTrackerCheckpoint(text, "test");
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().kind(), ErrorKind::kInvalidValue);
  EXPECT_NE(decoded.error().message().find("more than 65536 samples"), std::string::npos);
}

ContainerSample reading(TimePoint start, double t, double cpu, std::uint64_t periods, std::uint64_t memory) {
  ContainerSample s;
  s.identity.container_id = "c1";
  s.identity.app_id = "/web";
  s.at = start + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(t));
  s.cpu_seconds = cpu;
  s.reserved_cores = 1.1;
  s.limit_cores = 2.1;
  s.cfs_periods = periods;
  s.cfs_throttled_periods = periods / 10;
  s.memory_limit_bytes = 512u << 20;
  s.memory_request_bytes = 160u << 20;
  s.memory_used_bytes = memory;
  return s;
}

TEST(TrackerCheckpointTest, ARestoredTrackerContinuesExactlyWhereTheOriginalWas) {
  TrackerOptions options;
  options.window = minutes(1);
  const TimePoint start = fromUnixSeconds(1'700'000'000.125);
  ContainerTracker original(options);
  double cpu = 100;
  // 20 readings 10 s apart: the first ones have left the window.
  for (std::uint64_t i = 0; i < 20; ++i) {
    cpu += 0.3 + 0.05 * static_cast<double>(i % 4);
    ASSERT_TRUE(
        original.update(reading(start, 10.0 * static_cast<double>(i), cpu, 100 * i, 1'000'000 + 1000 * i)).ok());
  }
  const TrackerCheckpoint saved{start + seconds(190), original.state()};
  auto decoded = decodeTrackerCheckpoint(encodeTrackerCheckpoint(saved), "test");
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();

  ContainerTracker restored(options);
  restored.restore(decoded->state);
  EXPECT_EQ(restored.state(), original.state());
  const ContainerStats before = original.stats();
  EXPECT_EQ(before.samples, 7u);  // readings within the last minute
  ASSERT_TRUE(before.used_cores_p95);

  // The next reading gives both the same rate, averages and windows.
  const ContainerSample next = reading(start, 200, cpu + 4, 2000, 2'000'000);
  ASSERT_TRUE(original.update(next).ok());
  ASSERT_TRUE(restored.update(next).ok());
  const ContainerStats a = original.stats();
  const ContainerStats b = restored.stats();
  ASSERT_TRUE(b.used_cores);
  EXPECT_DOUBLE_EQ(*b.used_cores, 0.4);
  EXPECT_EQ(b.samples, a.samples);
  EXPECT_EQ(b.used_cores, a.used_cores);
  EXPECT_EQ(b.used_cores_avg, a.used_cores_avg);
  EXPECT_EQ(b.used_cores_p95, a.used_cores_p95);
  EXPECT_EQ(b.used_above_request_cores, a.used_above_request_cores);
  EXPECT_EQ(b.lying_factor_cores, a.lying_factor_cores);
  EXPECT_EQ(b.throttled_ratio, a.throttled_ratio);
  EXPECT_EQ(b.memory_used_bytes_peak, a.memory_used_bytes_peak);
  EXPECT_EQ(b.memory_lying_factor_bytes, a.memory_lying_factor_bytes);
  EXPECT_EQ(restored.state(), original.state());
}

TEST(TrackerCheckpointTest, RestoringIntoASmallerWindowKeepsOnlyWhatFits) {
  TrackerOptions wide;
  wide.window = minutes(10);
  const TimePoint start = fromUnixSeconds(1'700'000'000);
  ContainerTracker original(wide);
  for (int i = 0; i <= 60; ++i) ASSERT_TRUE(original.update(reading(start, 10.0 * i, 10.0 * i, 0, 1000)).ok());
  TrackerOptions narrow;
  narrow.window = minutes(1);
  narrow.max_window_samples = 4;
  ContainerTracker restored(narrow);
  restored.restore(original.state());
  const TrackerState state = restored.state();
  EXPECT_EQ(state.sample_times.size(), 4u);
  EXPECT_EQ(state.used_cores_window.size(), 4u);
  EXPECT_EQ(state.memory_used_bytes_window.size(), 4u);
  EXPECT_EQ(state.sample_times.back(), start + seconds(600));
}

// A store that keeps entries in memory and fails when told to.
class MemoryStore final : public CheckpointStore {
 public:
  Expected<std::map<std::string, std::string>> load() override {
    if (fail) return Error(ErrorKind::kUnavailable, "memory: down");
    return entries;
  }
  Status replace(const std::map<std::string, std::string>& replacement, Duration time_to_live) override {
    ++writes;
    if (fail) return Error(ErrorKind::kUnavailable, "memory: down");
    entries = replacement;
    ttl = time_to_live;
    return Status::success();
  }
  std::string describe() const override { return "memory"; }

  std::map<std::string, std::string> entries;
  Duration ttl{};
  int writes = 0;
  bool fail = false;
};

class CheckpointerTest : public ::testing::Test {
 protected:
  CheckpointerTest()
      : checkpointer_(store_, clock_, errors_, {.every = seconds(30), .window = minutes(5), .ttl = minutes(15)}) {}

  TrackerCheckpoint seenAgo(Duration ago) const {
    TrackerCheckpoint c = smallCheckpoint();
    c.seen_at = clock_.now() - ago;
    return c;
  }

  ManualClock clock_;
  MemoryStore store_;
  CountingErrorSink errors_;
  Checkpointer checkpointer_;
};

TEST_F(CheckpointerTest, LoadsEntriesAndSkipsAndCountsThoseThatDoNotDecode) {
  store_.entries = {{"c-good", encodeTrackerCheckpoint(seenAgo(seconds(20)))},
                    {"c-garbage", "{\"version\":1,"},
                    {"c-negative", R"({"version":1,"seen_at_ns":1,"last_seen_ns":1,"used_cores":-1})"}};
  const auto loaded = checkpointer_.load();
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded.at("c-good"), seenAgo(seconds(20)));
  EXPECT_EQ(errors_.count("redis", "malformed"), 1u);
  EXPECT_EQ(errors_.count("redis", "invalid_value"), 1u);
  EXPECT_EQ(errors_.total(), 2u);
}

TEST_F(CheckpointerTest, LeavesOutContainersGoneForLongerThanTheWindow) {
  store_.entries = {{"c-recent", encodeTrackerCheckpoint(seenAgo(minutes(5)))},
                    {"c-gone", encodeTrackerCheckpoint(seenAgo(minutes(5) + seconds(1)))}};
  const auto loaded = checkpointer_.load();
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_TRUE(loaded.contains("c-recent"));
  EXPECT_EQ(errors_.total(), 0u);
}

TEST_F(CheckpointerTest, AStoreThatFailsIsCountedAndGivesNothing) {
  store_.entries = {{"c-good", encodeTrackerCheckpoint(seenAgo(seconds(1)))}};
  store_.fail = true;
  EXPECT_TRUE(checkpointer_.load().empty());
  EXPECT_EQ(errors_.count("redis", "unavailable"), 1u);
}

TEST_F(CheckpointerTest, TakesACheckpointAtMostEveryIntervalAndWritesTheLatest) {
  EXPECT_TRUE(checkpointer_.due());
  EXPECT_TRUE(checkpointer_.writePending().ok());  // nothing offered: nothing written
  EXPECT_EQ(store_.writes, 0);

  checkpointer_.offer({{"c-old", seenAgo(seconds(0))}});
  EXPECT_FALSE(checkpointer_.due());
  clock_.advance(seconds(29));
  EXPECT_FALSE(checkpointer_.due());
  clock_.advance(seconds(1));
  EXPECT_TRUE(checkpointer_.due());
  // A second offer before the writer ran replaces the first.
  checkpointer_.offer({{"c-new", seenAgo(seconds(0))}});
  ASSERT_TRUE(checkpointer_.writePending().ok());
  EXPECT_TRUE(checkpointer_.writePending().ok());
  EXPECT_EQ(store_.writes, 1);
  ASSERT_EQ(store_.entries.size(), 1u);
  EXPECT_EQ(store_.entries.at("c-new"), encodeTrackerCheckpoint(seenAgo(seconds(0))));
  EXPECT_EQ(store_.ttl, minutes(15));
}

TEST_F(CheckpointerTest, AFailedWriteIsCountedAndTheNextOfferIsWritten) {
  store_.fail = true;
  checkpointer_.offer({{"c1", seenAgo(seconds(0))}});
  EXPECT_FALSE(checkpointer_.writePending().ok());
  EXPECT_EQ(errors_.count("redis", "unavailable"), 1u);
  EXPECT_TRUE(checkpointer_.writePending().ok());  // not retried: the next offer brings fresher state
  EXPECT_EQ(store_.writes, 1);

  store_.fail = false;
  clock_.advance(seconds(30));
  ASSERT_TRUE(checkpointer_.due());
  checkpointer_.offer({{"c1", seenAgo(seconds(0))}});
  EXPECT_TRUE(checkpointer_.writePending().ok());
  EXPECT_EQ(store_.entries.size(), 1u);
  EXPECT_EQ(errors_.total(), 1u);
}

}  // namespace
}  // namespace rightsize::agent
