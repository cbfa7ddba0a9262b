// `rightsize report` end to end against a real Prometheus (issue 18): a
// synthetic fleet, by default 5,000 apps x 14 days at 5 minutes (4,033 points
// a series), backfilled once with promtool into a cache directory, served by
// Debian's prometheus on 127.0.0.1, then
//
//   report     buildReport() as `rightsize report` runs it: a probe, the
//              apps listed, then by groups of 247 apps four range queries
//              and an instant one (the tasks at the end), each group
//              replayed through the product's policy while the next is read,
//              on every core; the time spent waiting for Prometheus' answers
//              (its own query time included) is measured apart
//   per app    the simplest alternative: the apps listed (one query), then
//              one range query per app per series (25,000 for 5,000 apps),
//              the same conversion and the same replay, each phase timed
//
// and checks that both give the same report (exit status 1 otherwise).
//
// Not Google Benchmark: one run takes about a minute and the cache is built
// once; repeating it inside a process would measure a warm Prometheus only.
// Run by hand (docs/benchmarks.md); ctest runs a tiny fleet as a smoke test.
//
// Environment (each optional):
//   RIGHTSIZE_BENCH_APPS       apps (5000)
//   RIGHTSIZE_BENCH_DAYS       days of history (14)
//   RIGHTSIZE_BENCH_SERIES     "agent" (the agents' series, the default) or
//                              "rules" (the recording rules')
//   RIGHTSIZE_BENCH_CACHE      where the backfilled fleets are kept
//                              ($XDG_CACHE_HOME or ~/.cache, /rightsize/report-bench)
//   RIGHTSIZE_BENCH_PER_APP    0 skips the per-app alternative
//   RIGHTSIZE_BENCH_THREADS    replay threads (0: every core)
//   RIGHTSIZE_BENCH_PREPARE    1 only builds the cached fleet (nothing timed)
//   RIGHTSIZE_BENCH_ONLY       a regex of app ids: only those reported (a
//                              share of a cached fleet, e.g.
//                              "/bench/team-0[0-3]/.+" a tenth of it)

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <numbers>
#include <string>
#include <thread>
#include <vector>

#include "rightsize/core/clock.h"
#include "rightsize/core/http.h"
#include "rightsize/core/units.h"
#include "rightsize/report/fleet_report.h"
#include "rightsize/report/prometheus_client.h"
#include "rightsize/sizing/policy.h"
#include "rightsize/testing/prometheus_server.h"

namespace {

using namespace rightsize;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

constexpr std::uint64_t kSeed = 20261205;
constexpr long long kStart = 1'793'491'200;  // 2026-11-01 00:00 UTC
constexpr int kStepSeconds = 300;
constexpr int kStepsPerDay = 86400 / kStepSeconds;
// Bumped whenever the generator changes: the cache is keyed by it.
constexpr int kGeneratorVersion = 1;

double seconds(Steady::duration d) { return std::chrono::duration<double>(d).count(); }

long envNumber(const char* name, long fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (*end != '\0' || value < 0) {
    std::fprintf(stderr, "%s=%s is not a whole number of at least 0\n", name, text);
    std::exit(2);
  }
  return value;
}

// splitmix64: a generator whose output is the same on every platform
// (std::normal_distribution is not).
struct Random {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double between(double low, double high) { return low + (high - low) * uniform(); }
  double normal() {  // Box-Muller, one of the pair
    const double u = 1.0 - uniform();
    return std::sqrt(-2.0 * std::log(u)) * std::cos(2 * std::numbers::pi * uniform());
  }
};

// One app of the synthetic fleet: its shape (drawn once) and its state as the
// generator walks through time.
struct App {
  std::string id;
  // Shape.
  double cpus = 1, mem_mib = 1024;         // reservation per task (Marathon's)
  double cpu_base = 0.3, cpu_daily = 0.2;  // cores; daily swing around the base
  double peak_hour = 14, weekend = 1;      // hour of the daily peak; weekend factor
  double noise = 0.1;                      // relative, per step
  double burst_chance = 0.001;             // per step
  double mem_base = 500, mem_growth = 0;   // MiB; MiB per step until the next restart
  int mem_restart_steps = 0;               // a restart (memory back to base) every so many steps; 0 never
  int first_step = 0;                      // young apps start late
  int resize_step = -1;                    // a redeploy that changed the reservation; -1 none
  double resize_factor = 1;
  // State.
  Random random{0};
  int burst_left = 0;
  double burst_size = 0;
  double mem_extra = 0;
};

std::vector<App> fleet(std::size_t apps, int days) {
  std::vector<App> out(apps);
  const double cpu_sizes[] = {0.1, 0.25, 0.5, 0.5, 1, 1, 1, 2, 2, 4, 8};
  const double mem_sizes[] = {128, 256, 512, 512, 1024, 1024, 2048, 2048, 4096, 8192, 16384};
  for (std::size_t i = 0; i < apps; ++i) {
    App& app = out[i];
    app.random.state = kSeed * 1'000'003 + i;
    Random& r = app.random;
    char id[64];
    std::snprintf(id, sizeof id, "/bench/team-%02zu/app-%05zu", i % 40, i);
    app.id = id;
    const std::size_t size = r.next() % std::size(cpu_sizes);
    app.cpus = cpu_sizes[size];
    app.mem_mib = mem_sizes[std::min<std::size_t>(std::size(mem_sizes) - 1, size + r.next() % 3)];
    const double kind = r.uniform();
    if (kind < 0.1) {  // idle
      app.cpu_base = app.cpus * r.between(0.005, 0.03);
      app.cpu_daily = 0;
    } else if (kind < 0.2) {  // hot: near or above its reservation at the daily peak
      app.cpu_base = app.cpus * r.between(0.6, 0.9);
      app.cpu_daily = app.cpus * r.between(0.2, 0.5);
    } else {  // the usual: well below its reservation, a daily cycle
      app.cpu_base = app.cpus * r.between(0.05, 0.5);
      app.cpu_daily = app.cpu_base * r.between(0, 0.9);
    }
    app.peak_hour = r.between(8, 22);
    app.weekend = r.uniform() < 0.5 ? r.between(0.4, 0.9) : 1;
    app.noise = r.between(0.03, 0.3);
    app.burst_chance = r.uniform() < 0.3 ? r.between(0.0005, 0.01) : 0;
    app.mem_base = app.mem_mib * r.between(0.15, 0.75);
    if (r.uniform() < 0.3) {  // grows until it restarts (a leak, caches)
      app.mem_restart_steps = static_cast<int>(r.between(1, 7) * kStepsPerDay);
      app.mem_growth = app.mem_mib * r.between(0.1, 0.5) / app.mem_restart_steps;
    }
    const int steps = days * kStepsPerDay;
    if (r.uniform() < 0.05) app.first_step = static_cast<int>(r.next() % static_cast<std::uint64_t>(steps));
    if (r.uniform() < 0.1) {
      app.resize_step = static_cast<int>(r.next() % static_cast<std::uint64_t>(steps));
      app.resize_factor = r.uniform() < 0.5 ? 0.5 : 2;
    }
  }
  return out;
}

// An app's figures at a step (advancing its state: call in time order).
struct Figures {
  double cpu_used, cpu_reserved, mem_used_mib, mem_reserved_mib;
};

Figures step(App& app, int index) {
  Random& r = app.random;
  const double scale = index >= app.resize_step && app.resize_step >= 0 ? app.resize_factor : 1;
  const double cpus = std::max(0.1, std::round(app.cpus * scale * 1000) / 1000);
  const double mem = std::max(32.0, std::round(app.mem_mib * scale));
  const long long t = kStart + static_cast<long long>(index) * kStepSeconds;
  const double hour = static_cast<double>(t % 86400) / 3600;
  const int weekday = static_cast<int>((t / 86400 + 4) % 7);  // 1970-01-01 was a Thursday
  double cpu = app.cpu_base * scale + app.cpu_daily * scale * std::cos((hour - app.peak_hour) * std::numbers::pi / 12);
  if (weekday >= 5) cpu *= app.weekend;
  cpu *= std::max(0.0, 1 + app.noise * r.normal());
  if (app.burst_left == 0 && r.uniform() < app.burst_chance) {
    app.burst_left = 1 + static_cast<int>(r.next() % 12);
    app.burst_size = cpus * r.between(0.5, 1.5);
  }
  if (app.burst_left > 0) {
    cpu += app.burst_size;
    --app.burst_left;
  }
  // CFS caps a container at its quota (the executor's share included).
  cpu = std::clamp(cpu, 0.001, cpus + sizing::kExecutorCpus);
  if (app.mem_restart_steps > 0) {
    app.mem_extra = index % app.mem_restart_steps == 0 ? 0 : app.mem_extra + app.mem_growth * scale;
  }
  const double mem_used = std::min(mem * 1.02, app.mem_base * scale + app.mem_extra) * (1 + 0.01 * r.normal());
  return {cpu, cpus, std::max(1.0, mem_used), mem};
}

// OpenMetrics text written through a large buffer.
class Writer {
 public:
  explicit Writer(const std::string& path) : file_(std::fopen(path.c_str(), "wb")) {}
  ~Writer() {
    if (file_ != nullptr) std::fclose(file_);
  }
  bool ok() const { return file_ != nullptr; }
  void text(std::string_view s) {
    if (buffer_.size() + s.size() > kFlush) flush();
    buffer_.append(s);
  }
  void number(double value, int precision) {
    char digits[64];
    const auto end = precision > 0
                         ? std::to_chars(digits, digits + sizeof digits, value, std::chars_format::general, precision)
                         : std::to_chars(digits, digits + sizeof digits, value);
    text(std::string_view(digits, static_cast<std::size_t>(end.ptr - digits)));
  }
  void integer(long long value) {
    char digits[32];
    const auto end = std::to_chars(digits, digits + sizeof digits, value);
    text(std::string_view(digits, static_cast<std::size_t>(end.ptr - digits)));
  }
  bool close() {
    flush();
    const bool good = file_ != nullptr && std::ferror(file_) == 0 && std::fclose(file_) == 0;
    file_ = nullptr;
    return good;
  }

 private:
  static constexpr std::size_t kFlush = 8 << 20;
  void flush() {
    if (file_ != nullptr && !buffer_.empty()) std::fwrite(buffer_.data(), 1, buffer_.size(), file_);
    buffer_.clear();
  }
  std::FILE* file_;
  std::string buffer_;
};

struct Params {
  std::size_t apps;
  int days;
  bool agent_series;
};

// The steps of day `day` ([day * 288, (day + 1) * 288), the last day the
// history's closing step only) as OpenMetrics, every family in turn.
bool writeDay(std::vector<App>& apps, const Params& params, int day, const std::string& path) {
  const int total = params.days * kStepsPerDay + 1;
  const int from = day * kStepsPerDay;
  const int to = std::min(total, from + kStepsPerDay);
  const auto width = static_cast<std::size_t>(to - from);
  std::vector<Figures> figures(apps.size() * width);
  for (std::size_t a = 0; a < apps.size(); ++a) {
    for (int i = from; i < to; ++i) figures[a * width + static_cast<std::size_t>(i - from)] = step(apps[a], i);
  }
  Writer out(path);
  if (!out.ok()) return false;
  struct Family {
    const char* agent;
    const char* rule;
    double (*value)(const Figures&);
    int precision;  // significant digits; 0 the shortest exact
  };
  const Family families[] = {
      {"rightsize_container_cpu_used_cores", "app:rightsize_container_cpu_used_cores:max_avg5m",
       [](const Figures& f) { return f.cpu_used; }, 4},
      {"rightsize_container_cpu_reserved_cores", "app:rightsize_container_cpu_reserved_cores:max",
       [](const Figures& f) { return f.cpu_reserved + sizing::kExecutorCpus; }, 0},
      {"rightsize_container_memory_used_bytes", "app:rightsize_container_memory_used_bytes:max_avg5m",
       [](const Figures& f) { return std::round(f.mem_used_mib * kMiB / 4096) * 4096; }, 0},
      {"rightsize_container_memory_reserved_bytes", "app:rightsize_container_memory_reserved_bytes:max",
       [](const Figures& f) { return (f.mem_reserved_mib + sizing::kExecutorMemMib) * kMiB; }, 0},
      {nullptr, "app:rightsize_container_cpu_reserved_cores:count", [](const Figures&) { return 1.0; }, 0},
  };
  for (const Family& family : families) {
    const char* name = params.agent_series ? family.agent : family.rule;
    if (name == nullptr) continue;
    out.text("# TYPE ");
    out.text(name);
    out.text(" gauge\n");
    for (std::size_t a = 0; a < apps.size(); ++a) {
      const App& app = apps[a];
      std::string labels = std::string(name) + "{env=\"prod\",app_id=\"" + app.id + "\"";
      if (params.agent_series) labels += ",task_id=\"" + app.id + ".1\",container_id=\"" + app.id + "-c1\"";
      labels += "} ";
      for (int i = std::max(from, app.first_step); i < to; ++i) {
        out.text(labels);
        out.number(family.value(figures[a * width + static_cast<std::size_t>(i - from)]), family.precision);
        out.text(" ");
        out.integer(kStart + static_cast<long long>(i) * kStepSeconds);
        out.text("\n");
      }
    }
  }
  out.text("# EOF\n");
  return out.close();
}

std::string cacheRoot() {
  if (const char* dir = std::getenv("RIGHTSIZE_BENCH_CACHE"); dir != nullptr && *dir != '\0') return dir;
  if (const char* dir = std::getenv("XDG_CACHE_HOME"); dir != nullptr && *dir != '\0') {
    return std::string(dir) + "/rightsize/report-bench";
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr && *home != '\0' ? home : "/tmp") + "/.cache/rightsize/report-bench";
}

// The TSDB directory of the fleet `params` describes, built unless cached.
std::string prepare(const Params& params) {
  namespace fs = std::filesystem;
  char key[160];
  std::snprintf(key, sizeof key, "fleet-v%d-seed%llu-%s-%zux%dd", kGeneratorVersion,
                static_cast<unsigned long long>(kSeed), params.agent_series ? "agent" : "rules", params.apps,
                params.days);
  const std::string dir = cacheRoot() + "/" + key;
  const std::string data = dir + "/data";
  if (fs::exists(dir + "/complete")) {
    std::printf("fleet: cached in %s\n", dir.c_str());
    return data;
  }
  std::error_code error;
  fs::remove_all(dir, error);
  fs::create_directories(dir, error);
  if (error) {
    std::fprintf(stderr, "cannot create %s: %s\n", dir.c_str(), error.message().c_str());
    std::exit(1);
  }
  std::printf("fleet: building %s (generated a day at a time, backfilled by promtool)\n", dir.c_str());
  std::fflush(stdout);
  const auto began = Steady::now();
  std::vector<App> apps = fleet(params.apps, params.days);
  for (int day = 0; day <= params.days; ++day) {
    const std::string input = dir + "/day-" + std::to_string(day) + ".om";
    if (!writeDay(apps, params, day, input)) {
      std::fprintf(stderr, "cannot write %s\n", input.c_str());
      std::exit(1);
    }
    if (Status filled = testing::PrometheusServer::backfill(input, data, std::chrono::hours(1)); !filled) {
      std::fprintf(stderr, "%s\n", filled.error().message().c_str());
      std::exit(1);
    }
    fs::remove(input, error);
    std::printf("  day %d of %d backfilled, %.0f s\n", day + 1, params.days + 1, seconds(Steady::now() - began));
    std::fflush(stdout);
  }
  std::ofstream(dir + "/complete") << "built in " << seconds(Steady::now() - began) << " s\n";
  return data;
}

// Times what the HTTP client waits for: Prometheus' answers, its own query
// time and the transfer included.
class TimedHttp final : public HttpClient {
 public:
  // Called from each of the report's readers at once (--concurrent-queries):
  // the waits are summed over them.
  Expected<HttpResponse> send(const HttpClientRequest& request) override {
    const auto began = Steady::now();
    auto response = inner_.send(request);
    std::lock_guard lock(mutex_);
    waited += Steady::now() - began;
    if (response) bytes += response->body.size();
    return response;
  }
  Steady::duration waited{};
  std::size_t bytes = 0;

 private:
  CurlHttpClient inner_;
  std::mutex mutex_;
};

long peakRssMib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;
}

long prometheusPeakMib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10) / 1024;
  }
  return -1;
}

std::string replaceAll(std::string text, std::string_view what, std::string_view with) {
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + with.size())) {
    text.replace(at, what.size(), with);
  }
  return text;
}

void append(report::QueryResult& into, report::QueryResult&& part) {
  for (auto& series : part.series) into.series.push_back(std::move(series));
  into.dropped_points += part.dropped_points;
}

double loadAverage() {
  double load[1] = {0};
  return getloadavg(load, 1) == 1 ? load[0] : -1;
}

}  // namespace

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each line as it comes, also into a file
  const Params params{
      static_cast<std::size_t>(envNumber("RIGHTSIZE_BENCH_APPS", 5000)),
      static_cast<int>(envNumber("RIGHTSIZE_BENCH_DAYS", 14)),
      std::string(std::getenv("RIGHTSIZE_BENCH_SERIES") ? std::getenv("RIGHTSIZE_BENCH_SERIES") : "agent") != "rules"};
  if (params.apps == 0 || params.days == 0) {
    std::fprintf(stderr, "RIGHTSIZE_BENCH_APPS and RIGHTSIZE_BENCH_DAYS must be at least 1\n");
    return 2;
  }
  const bool per_app = envNumber("RIGHTSIZE_BENCH_PER_APP", 1) != 0;
  std::printf("report_bench: %zu apps x %d days at 5 min (%d points a series), %s, %u cores, load %.2f\n", params.apps,
              params.days, params.days * kStepsPerDay + 1,
              params.agent_series ? "the agents' series" : "the recording rules' series",
              std::thread::hardware_concurrency(), loadAverage());
  const std::string data = prepare(params);
  if (envNumber("RIGHTSIZE_BENCH_PREPARE", 0) != 0) return 0;

  // Prometheus' defaults but for compaction: the backfilled day blocks stay
  // as they are rather than being merged while the benchmark runs.
  auto server = testing::PrometheusServer::serve(data, {"--storage.tsdb.max-block-duration=24h"}, 5min);
  if (!server) {
    std::fprintf(stderr, "%s\n", server.error().message().c_str());
    return 1;
  }
  const TimePoint end = fromUnixSeconds(static_cast<double>(kStart + params.days * 86400LL));
  report::ReportOptions options;
  options.history = std::chrono::days(params.days);
  options.threads = static_cast<std::size_t>(envNumber("RIGHTSIZE_BENCH_THREADS", 0));
  options.replay.host_cores = 0;  // as `rightsize report` sets it
  const char* only = std::getenv("RIGHTSIZE_BENCH_ONLY");
  if (only != nullptr && *only != '\0') options.apps_regex = only;

  // The product.
  TimedHttp http;
  report::PrometheusClient client(http, {.url = (*server)->url()});
  auto began = Steady::now();
  auto product = report::buildReport(client, options, end);
  const double total = seconds(Steady::now() - began);
  if (!product) {
    std::fprintf(stderr, "report: %s\n", product.error().message().c_str());
    return 1;
  }
  const double waited = seconds(http.waited);
  const std::size_t queries = product->queries;  // every reader's
  const long rss = peakRssMib();
  std::printf("report: %zu apps, %zu queries, %.1f MB of answers\n", product->apps.size(), queries,
              static_cast<double>(http.bytes) / 1e6);
  const double reading = toSeconds(product->reading);
  const double replaying = toSeconds(product->replaying);
  std::printf(
      "  total %.2f s: reading the history %.2f s (waiting for Prometheus %.2f s, summed over the readers in "
      "flight; the rest parsing, conversion and the groups' replays the readers took on), replay after the last answer "
      "%.2f s\n",
      total, reading, waited, replaying);
  std::printf("  peak memory: report %ld MiB, prometheus %ld MiB; load %.2f\n", rss,
              prometheusPeakMib((*server)->pid()), loadAverage());
  const std::string table = report::reportTable(*product);
  std::printf("  %s", table.substr(0, table.find("\n\n") + 1).c_str());
  if (options.apps_regex == ".+" && product->apps.size() != params.apps) {
    std::fprintf(stderr, "the report has %zu apps, the fleet %zu\n", product->apps.size(), params.apps);
    return 1;
  }
  if (!per_app) return 0;
  std::fflush(stdout);

  // The simplest alternative: every app listed, then one range query per app
  // per series, the same conversion and replay.
  TimedHttp simple_http;
  report::PrometheusClient simple(simple_http, {.url = (*server)->url()});
  const report::SeriesSource source =
      params.agent_series ? report::agentSeriesSource() : report::recordingRulesSource();
  const std::string reserved =
      params.agent_series ? "rightsize_container_cpu_reserved_cores" : "app:rightsize_container_cpu_reserved_cores:max";
  began = Steady::now();
  auto listed = simple.query("count by (env, app_id) (count_over_time(" + reserved + "{app_id=~\"" +
                                 options.apps_regex + "\"}[" + std::to_string(params.days) + "d]))",
                             end);
  if (!listed) {
    std::fprintf(stderr, "listing the apps: %s\n", listed.error().message().c_str());
    return 1;
  }
  std::vector<report::QueryResult> results(5);
  const std::string* queries_of[] = {&source.cpu_used, &source.cpu_reserved, &source.mem_used, &source.mem_reserved,
                                     &source.tasks};
  for (const report::Series& app : listed->series) {
    const auto id = app.labels.find("app_id");
    if (id == app.labels.end()) continue;
    // Bench app ids need no escaping in a PromQL string.
    const std::string selector = "app_id=\"" + id->second + "\"";
    for (std::size_t q = 0; q < 5; ++q) {
      const std::string promql = replaceAll(replaceAll(*queries_of[q], "{APPS}", selector), "{STEP}", "299s");
      auto result = simple.queryRange(promql, end - options.history, end, options.step);
      if (!result) {
        std::fprintf(stderr, "%s\n", result.error().message().c_str());
        return 1;
      }
      append(results[q], std::move(*result));
    }
  }
  const double simple_queries = seconds(Steady::now() - began);
  began = Steady::now();
  const report::AppsHistory history =
      report::historyFromSeries(results[0], results[1], results[2], results[3], results[4], options.step);
  const double conversion = seconds(Steady::now() - began);
  began = Steady::now();
  report::FleetReport simple_report = report::reportFromHistory(history, options);
  const double replay = seconds(Steady::now() - began);
  simple_report.source = source.name;
  simple_report.start = end - options.history;
  simple_report.end = end;
  const double simple_total = simple_queries + conversion + replay;
  std::printf("per app: %zu queries, %.1f MB of answers\n", simple.queriesSent(),
              static_cast<double>(simple_http.bytes) / 1e6);
  std::printf("  total %.2f s: queries %.2f s (waiting for Prometheus %.2f s), conversion %.2f s, replay %.2f s\n",
              simple_total, simple_queries, seconds(simple_http.waited), conversion, replay);
  std::printf("report against per app: %.2f s / %.2f s = %.2f (%.1fx faster); waiting for Prometheus %.2f s / %.2f s\n",
              total, simple_total, total / simple_total, simple_total / total, waited, seconds(simple_http.waited));
  std::printf("target: report under 60 s: %s (%.0f %% of it)\n", total < 60 ? "met" : "NOT met", total / 60 * 100);
  product->warnings.clear();
  simple_report.warnings.clear();
  if (report::reportJson(*product) != report::reportJson(simple_report)) {
    std::fprintf(stderr, "the report and the per-app alternative differ\n");
    return 1;
  }
  std::printf("same report both ways (%zu apps)\n", simple_report.apps.size());
  return 0;
}
