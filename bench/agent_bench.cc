// Cost of the agent's collection cycle and exposition, each measured against
// the simplest thing that could do the job, in the same run:
//
//   BM_CollectCycle/N    one Agent::collectOnce() over N containers laid out
//                        as cgroup v1 on tmpfs (read, rates, averages, snapshot)
//   BM_BareReads/N       open/read/close of the same files, nothing else
//                        (usage counters every cycle, limits once a minute)
//   BM_BareReadsAll/N    open/read/close of every file a naive agent reads
//                        each cycle (usage and limits)
//   BM_RenderMetrics/N   /metrics as served (AgentMetrics::render)
//   BM_RenderPrometheusCpp/N  the obvious way: the same series as
//                        prometheus-cpp MetricFamily objects, written by its
//                        TextSerializer
//   BM_RenderNaive/N     the same series written with plain string appends
//   BM_RenderJson/N      /v1/containers
//
// scripts/bench runs this and prints the ratios recorded in docs/benchmarks.md.

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include "rightsize/agent/agent.h"
#include "rightsize/agent/cgroup_source.h"
#include "rightsize/exporters/agent_json.h"
#include "rightsize/exporters/agent_metrics.h"

namespace {

using namespace rightsize;
namespace fs = std::filesystem;

// A realistic memory.stat: the kernel writes about 35 lines.
const char kMemoryStat[] =
    "cache 1048576\nrss 73400320\nrss_huge 0\nshmem 0\nmapped_file 524288\ndirty 0\nwriteback 0\nswap 0\n"
    "pgpgin 220000\npgpgout 201000\npgfault 310000\npgmajfault 12\ninactive_anon 0\nactive_anon 73400320\n"
    "inactive_file 524288\nactive_file 524288\nunevictable 0\nhierarchical_memory_limit 167772160\n"
    "hierarchical_memsw_limit 9223372036854771712\ntotal_cache 1048576\ntotal_rss 73400320\ntotal_rss_huge 0\n"
    "total_shmem 0\ntotal_mapped_file 524288\ntotal_dirty 0\ntotal_writeback 0\ntotal_swap 0\n"
    "total_pgpgin 220000\ntotal_pgpgout 201000\ntotal_pgfault 310000\ntotal_pgmajfault 12\n"
    "total_inactive_anon 0\ntotal_active_anon 73400320\ntotal_inactive_file 524288\ntotal_active_file 524288\n"
    "total_unevictable 0\n";

void writeFile(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
}

std::string scratchBase() {
  if (fs::is_directory("/dev/shm")) return "/dev/shm";  // tmpfs: measures the agent, not a disk
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr ? tmp : "/tmp";
}

// A cgroup v1 tree with `n` Mesos containers (and a /proc with their
// environments), built once per size and removed at exit.
struct Tree {
  explicit Tree(int n) {
    root = scratchBase() + "/rightsize-bench-" + std::to_string(::getpid()) + "-" + std::to_string(n);
    for (int i = 0; i < n; ++i) {
      const std::string id = "c" + std::to_string(i);
      const fs::path cpuacct = root + "/cgroup/cpuacct/mesos/" + id;
      const fs::path cpu = root + "/cgroup/cpu/mesos/" + id;
      const fs::path memory = root + "/cgroup/memory/mesos/" + id;
      fs::create_directories(cpuacct);
      fs::create_directories(cpu);
      fs::create_directories(memory);
      writeFile(cpuacct / "cpuacct.usage", std::to_string(1'000'000'000ull * (i + 1)) + "\n");
      writeFile(cpuacct / "cgroup.procs", std::to_string(100000 + i) + "\n");
      writeFile(cpu / "cpu.cfs_quota_us", "110000\n");
      writeFile(cpu / "cpu.cfs_period_us", "100000\n");
      writeFile(cpu / "cpu.shares", "1126\n");
      writeFile(cpu / "cpu.stat", "nr_periods 16314\nnr_throttled 13\nthrottled_time 803684084\n");
      writeFile(memory / "memory.limit_in_bytes", "167772160\n");
      writeFile(memory / "memory.stat", kMemoryStat);
      const fs::path proc = root + "/proc/" + std::to_string(100000 + i);
      fs::create_directories(proc);
      using namespace std::string_literals;
      writeFile(proc / "environ", "PATH=/bin\0MARATHON_APP_ID=/app-"s + std::to_string(i % 500) +
                                      "\0MESOS_TASK_ID=app-" + std::to_string(i % 500) +
                                      ".instance-6a3e0d2c-1d6f-11ee-be56-0242ac120002._app.1\0"s);
    }
    for (int i = 0; i < n; ++i) {
      const std::string id = "c" + std::to_string(i);
      const std::string base = root + "/cgroup/";
      usage_files.push_back(base + "cpuacct/mesos/" + id + "/cpuacct.usage");
      usage_files.push_back(base + "cpu/mesos/" + id + "/cpu.stat");
      usage_files.push_back(base + "memory/mesos/" + id + "/memory.stat");
      limit_files.push_back(base + "cpu/mesos/" + id + "/cpu.cfs_quota_us");
      limit_files.push_back(base + "cpu/mesos/" + id + "/cpu.cfs_period_us");
      limit_files.push_back(base + "memory/mesos/" + id + "/memory.limit_in_bytes");
    }
  }
  ~Tree() {
    std::error_code ignored;
    fs::remove_all(root, ignored);
  }
  std::string root;
  // Read every cycle, and those read once per limits refresh (1 minute).
  std::vector<std::string> usage_files;
  std::vector<std::string> limit_files;
};

Tree& tree(int n) {
  static std::map<int, std::unique_ptr<Tree>> trees;
  auto& slot = trees[n];
  if (!slot) slot = std::make_unique<Tree>(n);
  return *slot;
}

class NullSink final : public ErrorSink {
 public:
  void record(std::string_view, const Error&) override {}
};

void BM_CollectCycle(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  Tree& t = tree(n);
  RealFileSystem fs;
  ManualClock clock;
  agent::CgroupSourceOptions options;
  options.root = t.root + "/cgroup";
  options.proc_root = t.root + "/proc";
  agent::CgroupSource source(fs, clock, options);
  NullSink sink;
  agent::AgentOptions agent_options;
  agent_options.host = "bench";
  agent::Agent agent(source, clock, sink, agent_options);
  agent.collectOnce();  // first sight: identities resolved once
  for (auto _ : state) {
    clock.advance(std::chrono::seconds(10));
    agent.collectOnce();
  }
  if (agent.snapshot()->containers.size() != static_cast<std::size_t>(n)) state.SkipWithError("containers missing");
  state.SetItemsProcessed(state.iterations() * n);
}

void readAll(const std::vector<std::string>& paths) {
  char buffer[4096];
  for (const auto& path : paths) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    while (::read(fd, buffer, sizeof buffer) > 0) {
    }
    ::close(fd);
  }
  benchmark::ClobberMemory();
}

// The same files as BM_CollectCycle at a 10 s interval: the usage counters
// every cycle and the limits one cycle in six.
void BM_BareReads(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  Tree& t = tree(n);
  int cycle = 0;
  for (auto _ : state) {
    readAll(t.usage_files);
    if (cycle++ % 6 == 0) readAll(t.limit_files);
  }
  state.SetItemsProcessed(state.iterations() * n);
}

void BM_BareReadsAll(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  Tree& t = tree(n);
  for (auto _ : state) {
    readAll(t.usage_files);
    readAll(t.limit_files);
  }
  state.SetItemsProcessed(state.iterations() * n);
}

agent::AgentSnapshot snapshotOf(int n) {
  agent::AgentSnapshot snapshot;
  snapshot.host = "mesos-agent-017.prod.example.com";
  snapshot.cycles = 1;
  snapshot.source_ok = true;
  snapshot.host_used_cores = 30;
  snapshot.host_capacity_cores = 48;
  snapshot.window = std::chrono::minutes(5);
  for (int i = 0; i < n; ++i) {
    agent::ContainerStats c;
    c.identity.container_id = "6a3e0d2c-1d6f-11ee-be56-" + std::to_string(100000000000 + i);
    c.identity.app_id = "/team-" + std::to_string(i % 40) + "/service-" + std::to_string(i % 500);
    c.identity.task_id = "team-" + std::to_string(i % 40) + "_service-" + std::to_string(i % 500) +
                         ".instance-6a3e0d2c-1d6f-11ee-be56-0242ac120002._app.1";
    c.identity.env = "prod";
    c.identity.instance_type = "m5.12xlarge";
    c.samples = 31;
    c.reserved_cores = 1.1;
    c.used_cores = 0.4 + (i % 7) * 0.01;
    c.used_cores_avg = 0.41;
    c.used_cores_p95 = 0.83;
    c.lying_factor_cores = 0.69;
    c.throttled_ratio = 0.01;
    c.memory_reserved_bytes = 167772160;
    c.memory_used_bytes = 90000000 + i;
    c.memory_used_bytes_peak = 95000000;
    c.memory_lying_factor_bytes = 77772160;
    snapshot.containers.push_back(std::move(c));
  }
  return snapshot;
}

void BM_RenderMetrics(benchmark::State& state) {
  const auto snapshot = snapshotOf(static_cast<int>(state.range(0)));
  exporters::AgentMetrics metrics;
  std::size_t bytes = 0;
  for (auto _ : state) {
    const std::string text = metrics.render(snapshot);
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

using Field = std::optional<double> agent::ContainerStats::*;
const std::pair<const char*, Field> kFields[] = {
    {"rightsize_container_cpu_reserved_cores", &agent::ContainerStats::reserved_cores},
    {"rightsize_container_cpu_used_cores", &agent::ContainerStats::used_cores},
    {"rightsize_container_cpu_used_cores_avg", &agent::ContainerStats::used_cores_avg},
    {"rightsize_container_cpu_used_cores_p95", &agent::ContainerStats::used_cores_p95},
    {"rightsize_container_cpu_lying_factor_cores", &agent::ContainerStats::lying_factor_cores},
    {"rightsize_container_cpu_throttled_ratio", &agent::ContainerStats::throttled_ratio},
    {"rightsize_container_memory_reserved_bytes", &agent::ContainerStats::memory_reserved_bytes},
    {"rightsize_container_memory_used_bytes", &agent::ContainerStats::memory_used_bytes},
    {"rightsize_container_memory_used_bytes_peak", &agent::ContainerStats::memory_used_bytes_peak},
    {"rightsize_container_memory_lying_factor_bytes", &agent::ContainerStats::memory_lying_factor_bytes},
};

void BM_RenderPrometheusCpp(benchmark::State& state) {
  const auto snapshot = snapshotOf(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    std::vector<prometheus::MetricFamily> families;
    for (const auto& [name, field] : kFields) {
      prometheus::MetricFamily family;
      family.name = name;
      family.help = "help";
      family.type = prometheus::MetricType::Gauge;
      for (const auto& c : snapshot.containers) {
        prometheus::ClientMetric metric;
        metric.label = {{"app_id", c.identity.app_id},
                        {"container_id", c.identity.container_id},
                        {"env", c.identity.env},
                        {"host", snapshot.host},
                        {"instance_type", c.identity.instance_type},
                        {"task_id", c.identity.task_id}};
        metric.gauge.value = *(c.*field);
        family.metric.push_back(std::move(metric));
      }
      families.push_back(std::move(family));
    }
    const std::string text = prometheus::TextSerializer().Serialize(families);
    benchmark::DoNotOptimize(text.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void appendNumber(std::string& out, double value) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, end);
}

// The same series, written directly: the floor for any exposition code.
void BM_RenderNaive(benchmark::State& state) {
  const auto snapshot = snapshotOf(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    std::string out;
    for (const auto& [name, field] : kFields) {
      out += "# TYPE ";
      out += name;
      out += " gauge\n";
      for (const auto& c : snapshot.containers) {
        out += name;
        out += "{app_id=\"" + c.identity.app_id + "\",container_id=\"" + c.identity.container_id + "\",env=\"" +
               c.identity.env + "\",host=\"" + snapshot.host + "\",instance_type=\"" + c.identity.instance_type +
               "\",task_id=\"" + c.identity.task_id + "\"} ";
        appendNumber(out, *(c.*field));
        out += '\n';
      }
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_RenderJson(benchmark::State& state) {
  const auto snapshot = snapshotOf(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    const std::string text = exporters::containersJson(snapshot);
    benchmark::DoNotOptimize(text.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

BENCHMARK(BM_CollectCycle)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_BareReads)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_BareReadsAll)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_RenderMetrics)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_RenderPrometheusCpp)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_RenderNaive)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_RenderJson)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
