// One Kafka lag cycle for 50 consumer groups x 500 partitions (25,000
// partitions) on librdkafka's mock cluster with 5 ms broker round trips:
//
//   BM_LagCycleBatched        LagMonitor::collectOnce for all 50 groups, every
//                             committed offset moved by one message since the
//                             last cycle (steady state: the timestamps read on
//                             the way last time answer most probes)
//   BM_LagCycleBatchedCold    the same requests through the same client with
//                             nothing known: metadata, committed offsets,
//                             watermarks and both timestamps of every partition
//   BM_LagPerPartitionLoop/N  what kafka_exporter-style collectors do: for each
//                             partition in turn, its committed offset, its
//                             watermarks, then its two message timestamps;
//                             measured on N partitions of one group
//
// scripts/bench scales the loop's per-partition cost to 25,000 partitions and
// prints the ratio recorded in docs/benchmarks.md.

#include <benchmark/benchmark.h>
#include <librdkafka/rdkafka.h>

#include <cstdio>
#include <map>
#include <memory>

#include "rightsize/lag/lag_monitor.h"
#include "rightsize/lag/rdkafka_client.h"
#include "rightsize/testing/fake_kafka_cluster.h"

namespace {

using namespace rightsize;
using namespace std::chrono_literals;

constexpr int kGroups = 50;
constexpr int kPartitions = 500;
constexpr int kMessages = 20;  // per partition: room for the consumers to move
constexpr int kRttMs = 5;
constexpr std::int64_t kT0 = 1'700'000'000'000;

std::string topicOf(int g) { return "topic-" + std::to_string(g); }
std::string groupOf(int g) { return "group-" + std::to_string(g); }

struct Cluster {
  Cluster() {
    auto created = testing::FakeKafkaCluster::create(3);
    if (!created) std::abort();
    mock = std::move(*created);
    for (int g = 0; g < kGroups; ++g) {
      if (!mock->createTopic(topicOf(g), kPartitions) ||
          !mock->produceToAll(topicOf(g), kPartitions, kMessages, kT0, 1000) ||
          !mock->commitAll(groupOf(g), topicOf(g), kPartitions, 1)) {
        std::fprintf(stderr, "benchmark set-up failed\n");
        std::abort();
      }
    }
    (void)mock->setRtt(-1, kRttMs);
  }
  std::unique_ptr<testing::FakeKafkaCluster> mock;
};

Cluster& cluster() {
  static Cluster instance;
  return instance;
}

class NullSink final : public ErrorSink {
 public:
  void record(std::string_view, const Error&) override { ++errors; }
  int errors = 0;
};

void BM_LagCycleBatched(benchmark::State& state) {
  Cluster& c = cluster();
  // Status windows moved by hand; the cycle's deadline in real time, as the
  // mock cluster answers.
  ManualWallClock clock;
  auto client = lag::RdKafkaClient::create({.brokers = c.mock->bootstrap()}, clock);
  if (!client) std::abort();
  NullSink sink;
  lag::LagOptions options;
  options.timeout = 60s;  // measure the work, do not cut it short
  lag::LagMonitor monitor(**client, clock, sink, options);
  std::vector<lag::GroupRequest> groups;
  for (int g = 0; g < kGroups; ++g) groups.push_back({groupOf(g), "/app-" + std::to_string(g), "bench"});
  monitor.collectOnce(groups);  // discovers the topics of each group, connects
  clock.advance(10s);
  monitor.collectOnce(groups);  // reads every partition once
  std::int64_t committed = 1;
  for (auto _ : state) {
    state.PauseTiming();
    ++committed;
    for (int g = 0; g < kGroups; ++g) (void)c.mock->commitAll(groupOf(g), topicOf(g), kPartitions, committed);
    clock.advance(10s);
    state.ResumeTiming();
    monitor.collectOnce(groups);
  }
  std::size_t fresh = 0;
  for (const auto& group : monitor.snapshot()->groups) {
    for (const auto& p : group.partitions) fresh += !p.stale && p.lag_seconds && p.committed_offset == committed;
  }
  if (fresh != static_cast<std::size_t>(kGroups * kPartitions)) {
    state.SkipWithError(("only " + std::to_string(fresh) + " partitions measured").c_str());
  }
  state.counters["partitions"] = kGroups * kPartitions;
}

void BM_LagCycleBatchedCold(benchmark::State& state) {
  Cluster& c = cluster();
  std::map<std::string, std::vector<lag::TopicPartition>> asked;
  for (int g = 0; g < kGroups; ++g) {
    for (int p = 0; p < kPartitions; ++p) asked[groupOf(g)].push_back({topicOf(g), p});
  }
  const SystemClock clock;
  std::size_t measured = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto client = lag::RdKafkaClient::create({.brokers = c.mock->bootstrap()}, clock);
    if (!client) std::abort();
    state.ResumeTiming();
    auto metadata = (*client)->metadata(10s);
    auto committed = (*client)->committed(asked, 60s);
    std::vector<lag::PartitionInfo> partitions;
    if (metadata) {
      for (const auto& [topic, infos] : metadata->topics)
        partitions.insert(partitions.end(), infos.begin(), infos.end());
    }
    auto watermarks = (*client)->watermarks(partitions, 60s);
    std::vector<lag::OffsetProbe> probes;
    for (const auto& [group, offsets] : committed) {
      if (!offsets) continue;
      for (const auto& [tp, offset] : *offsets) {
        auto marks = watermarks.find(tp);
        if (!offset || marks == watermarks.end() || !marks->second || *offset >= marks->second->high) continue;
        probes.push_back({tp, *offset});
        probes.push_back({tp, marks->second->high - 1});
      }
    }
    auto timestamps = (*client)->timestamps(probes, 60s);
    measured = 0;
    for (const auto& probe : probes) measured += timestamps.contains(probe) && timestamps.at(probe).ok();
    state.PauseTiming();
    client->reset();
    state.ResumeTiming();
  }
  if (measured != static_cast<std::size_t>(2 * kGroups * kPartitions)) {
    state.SkipWithError(("only " + std::to_string(measured) + " timestamps read").c_str());
  }
  state.counters["partitions"] = kGroups * kPartitions;
}

rd_kafka_t* consumer(const std::string& bootstrap, const std::string& group) {
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), error, sizeof error);
  rd_kafka_conf_set(conf, "group.id", group.c_str(), error, sizeof error);
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", error, sizeof error);
  rd_kafka_conf_set(conf, "fetch.wait.max.ms", "10", error, sizeof error);
  rd_kafka_conf_set(conf, "log_level", "0", error, sizeof error);
  return rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
}

std::int64_t timestampAt(rd_kafka_t* rk, const std::string& topic, int partition, std::int64_t offset) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic.c_str(), partition)->offset = offset;
  rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  std::int64_t timestamp = -1;
  for (int i = 0; i < 200 && timestamp < 0; ++i) {
    rd_kafka_message_t* message = rd_kafka_consumer_poll(rk, 50);
    if (message == nullptr) continue;
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR && message->offset >= offset) {
      timestamp = rd_kafka_message_timestamp(message, nullptr);
    }
    rd_kafka_message_destroy(message);
  }
  rd_kafka_assign(rk, nullptr);
  return timestamp;
}

void BM_LagPerPartitionLoop(benchmark::State& state) {
  Cluster& c = cluster();
  const int partitions = static_cast<int>(state.range(0));
  rd_kafka_t* group = consumer(c.mock->bootstrap(), groupOf(0));
  rd_kafka_t* probe = consumer(c.mock->bootstrap(), "bench-probe");
  int measured = 0;
  for (auto _ : state) {
    measured = 0;
    for (int p = 0; p < partitions; ++p) {
      rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
      rd_kafka_topic_partition_list_add(list, topicOf(0).c_str(), p);
      rd_kafka_committed(group, list, 10000);
      const std::int64_t committed = list->elems[0].offset;
      rd_kafka_topic_partition_list_destroy(list);
      std::int64_t low = 0, high = 0;
      rd_kafka_query_watermark_offsets(group, topicOf(0).c_str(), p, &low, &high, 10000);
      if (committed >= 0 && committed < high) {
        const std::int64_t from = timestampAt(probe, topicOf(0), p, committed);
        const std::int64_t newest = timestampAt(probe, topicOf(0), p, high - 1);
        measured += from >= 0 && newest >= from;
      }
    }
  }
  rd_kafka_destroy_flags(group, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  rd_kafka_destroy_flags(probe, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  if (measured != partitions) state.SkipWithError("not every partition measured");
  state.counters["partitions"] = partitions;
}

BENCHMARK(BM_LagCycleBatched)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);
BENCHMARK(BM_LagCycleBatchedCold)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);
BENCHMARK(BM_LagPerPartitionLoop)->Arg(50)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
