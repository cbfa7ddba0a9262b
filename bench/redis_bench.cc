// Saving the records of 5,000 apps to a real redis-server on loopback:
// saveApps() pipelines every fenced write in one MULTI/EXEC (one round trip),
// compared in the same run with the obvious way, one EVALSHA per record
// waiting for each reply. BM_SaveAppsOneByOne reports the ratio as the
// counter pipelined_speedup (target: at least 10).

#include <benchmark/benchmark.h>

#include <chrono>
#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "rightsize/sizing/redis_store.h"
#include "rightsize/testing/redis_harness.h"

namespace {

using namespace std::chrono_literals;
using rightsize::sizing::AppRecord;
using rightsize::sizing::Lease;
using rightsize::sizing::RedisStateStore;

constexpr int kRecords = 5000;

struct Environment {
  std::unique_ptr<rightsize::testing::RedisServer> server;
  std::unique_ptr<RedisStateStore> store;
  Lease lease;
  std::vector<AppRecord> records;
  std::string error;
  // Seconds per saveApps() of the pipelined benchmark, for the ratio.
  double pipelined_seconds = 0;
};

std::vector<AppRecord> makeRecords() {
  std::vector<AppRecord> records;
  records.reserve(kRecords);
  const auto t0 = rightsize::fromUnixSeconds(1'700'000'000.123);
  for (int i = 0; i < kRecords; ++i) {
    AppRecord r;
    r.app_id = "/team-" + std::to_string(i % 50) + "/service-" + std::to_string(i);
    r.out_of_band_since = t0 + std::chrono::seconds(i);
    r.out_of_band_direction = i % 2 == 0 ? "up" : "down";
    if (i % 3 == 0) {
      r.intent_cpus = 0.25 * (1 + i % 8);
      r.intent_mem_mib = 256.0 * (1 + i % 16);
      r.intent_id = "intent-" + std::to_string(i);
      r.deployment_id = "5ed4c0c5-9ff8-4a6f-a0cd-" + std::to_string(100'000'000'000 + i);
      r.intent_at = t0 + std::chrono::seconds(60 + i);
    }
    r.last_change_at = t0 - std::chrono::hours(1);
    r.cooldown_until = t0 + std::chrono::minutes(30);
    r.resizes = static_cast<std::uint64_t>(i % 20);
    records.push_back(std::move(r));
  }
  return records;
}

// One server for the whole run, started from the main thread (the server is
// killed when the thread that started it exits).
Environment& environment() {
  static Environment env = [] {
    // hiredis writes with write(2); a dying server must not kill the bench.
    std::signal(SIGPIPE, SIG_IGN);
    Environment e;
    auto server = rightsize::testing::RedisServer::start();
    if (!server) {
      e.error = server.error().message();
      return e;
    }
    e.server = std::move(*server);
    rightsize::sizing::RedisOptions options;
    options.host = e.server->host();
    options.port = e.server->port();
    options.timeout = 10s;
    e.store = std::make_unique<RedisStateStore>(options);
    auto lease = e.store->acquireLease("bench", 1h);
    if (!lease || !lease->has_value()) {
      e.error = lease ? "the lease is held by someone else" : lease.error().message();
      return e;
    }
    e.lease = **lease;
    e.records = makeRecords();
    return e;
  }();
  return env;
}

double secondsPerIteration(std::chrono::steady_clock::duration total, benchmark::IterationCount iterations) {
  return std::chrono::duration<double>(total).count() / static_cast<double>(iterations);
}

void BM_SaveAppsPipelined(benchmark::State& state) {
  Environment& env = environment();
  if (!env.error.empty()) {
    state.SkipWithError(env.error.c_str());
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    const rightsize::Status saved = env.store->saveApps(env.records, env.lease);
    if (!saved) {
      state.SkipWithError(saved.error().message().c_str());
      return;
    }
  }
  env.pipelined_seconds = secondsPerIteration(std::chrono::steady_clock::now() - start, state.iterations());
  state.SetItemsProcessed(state.iterations() * kRecords);
}
BENCHMARK(BM_SaveAppsPipelined)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_SaveAppsOneByOne(benchmark::State& state) {
  Environment& env = environment();
  if (!env.error.empty()) {
    state.SkipWithError(env.error.c_str());
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    const rightsize::Status saved = env.store->saveAppsOneByOne(env.records, env.lease);
    if (!saved) {
      state.SkipWithError(saved.error().message().c_str());
      return;
    }
  }
  const double seconds = secondsPerIteration(std::chrono::steady_clock::now() - start, state.iterations());
  state.SetItemsProcessed(state.iterations() * kRecords);
  if (env.pipelined_seconds > 0) state.counters["pipelined_speedup"] = seconds / env.pipelined_seconds;
}
BENCHMARK(BM_SaveAppsOneByOne)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
