// `rightsize simulate` on the shared Bitbrains trace (416 apps, 236,689
// samples, 48 h):
//
//   BM_ReadTrace              readTrace(): gunzip and parse the CSV, every
//                             field checked
//   BM_GunzipTrace            only inflating the file into memory: the floor
//                             of any reader of this file
//   BM_ReplayPolicy/<policy>  replay() of the whole trace through one policy
//                             (rightsize, static, vpa, autopilot, band), with
//                             the CLI's defaults (5 min redeploy delay, no
//                             per-app series)
//   BM_ReplayAll              the five one after another, as `rightsize
//                             simulate` does without --policy
//   BM_ReplayStaticLoop       the floor of any replay: one pass over every
//                             sample that only sums reserved and used
//                             resource-hours and counts insufficient samples
//                             against each app's first reservation
//
// The replays share one trace read before any of them is timed. The trace is
// shared/traces/bitbrains-rnd-48h.csv.gz next to the source tree, or the file
// named by RIGHTSIZE_BENCH_TRACE; a trace that cannot be read fails every
// benchmark with the reader's error. scripts/bench prints the ratios recorded
// in docs/benchmarks.md. Target: reading plus the five replays well under 5 s.
// The policies' figures are not checked here (tests do that), only timed.

#include <benchmark/benchmark.h>
#include <zlib.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "rightsize/core/clock.h"
#include "rightsize/simulate/baselines.h"
#include "rightsize/simulate/replay.h"
#include "rightsize/simulate/simulate.h"
#include "rightsize/simulate/trace.h"

namespace {

using namespace rightsize;

constexpr const char* kDefaultTrace = RIGHTSIZE_SOURCE_DIR "/../shared/traces/bitbrains-rnd-48h.csv.gz";

std::string tracePath() {
  const char* path = std::getenv("RIGHTSIZE_BENCH_TRACE");
  return path != nullptr && *path != '\0' ? std::string(path) : std::string(kDefaultTrace);
}

// Read once, on first use, for every replay benchmark.
const Expected<simulate::Trace>& sharedTrace() {
  static const Expected<simulate::Trace> trace = simulate::readTrace(tracePath());
  return trace;
}

// Returns the trace, or nullptr after failing `state` with the reason.
const simulate::Trace* traceOrSkip(benchmark::State& state) {
  const auto& trace = sharedTrace();
  if (!trace) {
    state.SkipWithError(("cannot read the trace (set RIGHTSIZE_BENCH_TRACE): " + trace.error().message()).c_str());
    return nullptr;
  }
  if (trace->samples == 0) {
    state.SkipWithError((tracePath() + ": no samples").c_str());
    return nullptr;
  }
  return &*trace;
}

void countSamples(benchmark::State& state, const simulate::Trace& trace, double passes) {
  state.counters["apps"] = static_cast<double>(trace.apps.size());
  state.counters["samples"] = static_cast<double>(trace.samples);
  state.counters["samples_per_second"] =
      benchmark::Counter(passes * static_cast<double>(trace.samples), benchmark::Counter::kIsIterationInvariantRate);
}

// The five policies of `rightsize simulate`, in the CLI's order.
std::vector<simulate::PolicySpec> allPolicies() {
  std::vector<simulate::PolicySpec> specs = {simulate::rightsizePolicy()};
  for (auto& spec : simulate::baselinePolicies()) specs.push_back(std::move(spec));
  return specs;
}

void BM_ReadTrace(benchmark::State& state) {
  const std::string path = tracePath();
  std::size_t samples = 0;
  std::size_t apps = 0;
  for (auto _ : state) {
    auto trace = simulate::readTrace(path);
    if (!trace) {
      state.SkipWithError(("cannot read the trace (set RIGHTSIZE_BENCH_TRACE): " + trace.error().message()).c_str());
      return;
    }
    samples = trace->samples;
    apps = trace->apps.size();
    benchmark::DoNotOptimize(trace);
  }
  state.counters["apps"] = static_cast<double>(apps);
  state.counters["samples"] = static_cast<double>(samples);
  state.counters["samples_per_second"] =
      benchmark::Counter(static_cast<double>(samples), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_ReadTrace)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_GunzipTrace(benchmark::State& state) {
  const std::string path = tracePath();
  std::vector<char> buffer(1 << 16);
  std::size_t bytes = 0;
  for (auto _ : state) {
    gzFile in = gzopen(path.c_str(), "rb");
    if (in == nullptr) {
      state.SkipWithError(("cannot open the trace (set RIGHTSIZE_BENCH_TRACE): " + path).c_str());
      return;
    }
    std::string text;
    int n = 0;
    while ((n = gzread(in, buffer.data(), static_cast<unsigned>(buffer.size()))) > 0) {
      text.append(buffer.data(), static_cast<std::size_t>(n));
    }
    gzclose(in);
    if (n < 0) {
      state.SkipWithError((path + ": not a readable gzip file").c_str());
      return;
    }
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_GunzipTrace)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ReplayPolicy(benchmark::State& state, const char* name) {
  const simulate::Trace* trace = traceOrSkip(state);
  if (trace == nullptr) return;
  const simulate::ReplayOptions options;
  for (auto& spec : allPolicies()) {
    if (spec.name != name) continue;
    for (auto _ : state) {
      auto result = simulate::replay(*trace, spec, options);
      benchmark::DoNotOptimize(result);
    }
    countSamples(state, *trace, 1);
    return;
  }
  state.SkipWithError((std::string("no policy named ") + name).c_str());
}
BENCHMARK_CAPTURE(BM_ReplayPolicy, rightsize, "rightsize")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_ReplayPolicy, static, "static")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_ReplayPolicy, vpa, "vpa")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_ReplayPolicy, autopilot, "autopilot")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_ReplayPolicy, band, "band")->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ReplayAll(benchmark::State& state) {
  const simulate::Trace* trace = traceOrSkip(state);
  if (trace == nullptr) return;
  const simulate::ReplayOptions options;
  const std::vector<simulate::PolicySpec> specs = allPolicies();
  for (auto _ : state) {
    for (const auto& spec : specs) {
      auto result = simulate::replay(*trace, spec, options);
      benchmark::DoNotOptimize(result);
    }
  }
  countSamples(state, *trace, static_cast<double>(specs.size()));
  state.counters["policies"] = static_cast<double>(specs.size());
}
BENCHMARK(BM_ReplayAll)->Unit(benchmark::kMillisecond)->UseRealTime();

struct LoopFigures {
  double reserved_hours = 0;  // core-hours, or MiB-hours for memory
  double used_hours = 0;
  std::size_t samples = 0;
  std::size_t insufficient_samples = 0;

  void add(double used, double reserved, double hours) {
    reserved_hours += reserved * hours;
    used_hours += used * hours;
    ++samples;
    if (used > reserved) ++insufficient_samples;
  }
};

// What every replay does at least: each sample read once, its step worked
// out as replay() does (the first sample of an app stands for the step after
// it), CPU and memory accounted against a reservation that never changes.
void BM_ReplayStaticLoop(benchmark::State& state) {
  const simulate::Trace* trace = traceOrSkip(state);
  if (trace == nullptr) return;
  std::size_t samples = 0;
  for (auto _ : state) {
    LoopFigures cpu;
    LoopFigures mem;
    for (const auto& app : trace->apps) {
      if (app.points.empty()) continue;
      const simulate::TracePoint& first = app.points.front();
      const double cpus = first.cpu_reserved_cores;
      const bool has_mem = first.memory_used_mib && first.memory_reserved_mib;
      const double mem_mib = first.memory_reserved_mib.value_or(0);
      for (std::size_t i = 0; i < app.points.size(); ++i) {
        const simulate::TracePoint& point = app.points[i];
        Duration step = std::chrono::minutes(5);
        if (i > 0) {
          step = point.at - app.points[i - 1].at;
        } else if (app.points.size() > 1) {
          step = app.points[1].at - point.at;
        }
        const double hours = toHours(step);
        cpu.add(point.cpu_used_cores, cpus, hours);
        if (has_mem && point.memory_used_mib) mem.add(*point.memory_used_mib, mem_mib, hours);
      }
    }
    samples = cpu.samples;
    benchmark::DoNotOptimize(cpu);
    benchmark::DoNotOptimize(mem);
  }
  if (samples != trace->samples) {
    state.SkipWithError("the loop did not visit every sample");
    return;
  }
  countSamples(state, *trace, 1);
}
BENCHMARK(BM_ReplayStaticLoop)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
