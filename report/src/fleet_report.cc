#include "rightsize/report/fleet_report.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "rightsize/core/json.h"
#include "rightsize/core/text.h"
#include "rightsize/core/units.h"
#include "rightsize/report/cadvisor_source.h"
#include "rightsize/report/html_report.h"
#include "rightsize/report/marathon_apps.h"
#include "rightsize/sizing/policy.h"

namespace rightsize::report {
namespace {

constexpr double kHoursPerMonth = 30 * 24;

using Key = std::pair<std::string, std::string>;  // (env, app_id)

Key keyOf(const Series& series) {
  const auto label = [&](const char* name) {
    const auto found = series.labels.find(name);
    return found == series.labels.end() ? std::string() : found->second;
  };
  return {label("env"), label("app_id")};
}

// The points of a query by app, in time order, one per time (of series of
// the same app, the later one's: what a map from time to value filled in the
// answer's order keeps). A query by (env, app_id) has one series per app:
// its points, already in time order, are used where they are.
struct AppPoints {
  const std::vector<Point>* points = nullptr;
  std::vector<Point> joined;  // when several series or out of order
};
std::map<Key, AppPoints> byApp(const QueryResult& result) {
  std::map<Key, std::vector<const Series*>> series_of;
  for (const Series& series : result.series) {
    Key key = keyOf(series);
    if (!key.second.empty()) series_of[std::move(key)].push_back(&series);
  }
  std::map<Key, AppPoints> out;
  for (auto& [key, all] : series_of) {
    AppPoints& app = out[key];
    const auto before = [](const Point& a, const Point& b) { return a.at < b.at; };
    const auto& first = all.front()->points;
    if (all.size() == 1 && std::adjacent_find(first.begin(), first.end(), [](const Point& a, const Point& b) {
                             return !(a.at < b.at);
                           }) == first.end()) {
      app.points = &first;
      continue;
    }
    std::vector<Point> points;
    for (const Series* series : all) points.insert(points.end(), series->points.begin(), series->points.end());
    std::stable_sort(points.begin(), points.end(), before);
    // Of equal times, the last one given.
    for (const Point& point : points) {
      if (!app.joined.empty() && app.joined.back().at == point.at) {
        app.joined.back() = point;
      } else {
        app.joined.push_back(point);
      }
    }
    app.points = &app.joined;
  }
  return out;
}

// The point of `points` (in time order) at `at`, or nullptr; `from` is where
// the search starts and moves on (callers ask in time order).
const Point* pointAt(const std::vector<Point>& points, TimePoint at, std::size_t& from) {
  const auto found = std::lower_bound(points.begin() + static_cast<std::ptrdiff_t>(std::min(from, points.size())),
                                      points.end(), at, [](const Point& p, TimePoint t) { return p.at < t; });
  from = static_cast<std::size_t>(found - points.begin());
  return found != points.end() && found->at == at ? &*found : nullptr;
}

std::string replaceAll(std::string text, std::string_view what, std::string_view with) {
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + with.size())) {
    text.replace(at, what.size(), with);
  }
  return text;
}

// `{APPS}`, `{APPS_RE}`, `{STEP}` and `{RATE_STEP}` of a source's query.
std::string expand(const std::string& query, const ReportOptions& options) {
  std::string regex;
  for (const char c : options.apps_regex) {
    if (c == '"' || c == '\\') regex += '\\';
    regex += c;
  }
  // The step's window less a second: Prometheus 2's range selectors hold both
  // ends, and a sample on the step before would count twice.
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(options.step).count();
  const std::string step = std::to_string(std::max<long long>(1, seconds - 1)) + "s";
  // A counter's rate over the whole step: its samples at both ends are
  // the step's increase, not a double count.
  const std::string rate_step = std::to_string(std::max<long long>(1, seconds)) + "s";
  std::string out = replaceAll(query, "{APPS}", "app_id=~\"" + regex + "\"");
  out = replaceAll(std::move(out), "{APPS_RE}", regex);
  out = replaceAll(std::move(out), "{RATE_STEP}", rate_step);
  return replaceAll(std::move(out), "{STEP}", step);
}

double nearestRank(std::vector<double> values, double share) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(share * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

// The replay of every app of `trace`: on several threads when the apps are
// independent (no hosts modelled, every app its own deployment slot), each
// a contiguous share of the apps; the results in the trace's order.
simulate::PolicyResult replayApps(const simulate::Trace& trace, const simulate::PolicySpec& spec,
                                  const ReportOptions& options) {
  std::size_t threads = options.threads > 0 ? options.threads : std::max(1U, std::thread::hardware_concurrency());
  threads = std::min({threads, trace.apps.size(), std::size_t{64}});
  if (threads <= 1 || options.replay.host_cores > 0) return simulate::replay(trace, spec, options.replay);
  std::vector<simulate::Trace> parts(threads);
  const std::size_t per = (trace.apps.size() + threads - 1) / threads;
  for (std::size_t i = 0; i < trace.apps.size(); ++i) {
    simulate::Trace& part = parts[i / per];
    const simulate::AppTrace& app = trace.apps[i];
    if (part.apps.empty() || app.points.front().at < part.start) part.start = app.points.front().at;
    if (part.apps.empty() || app.points.back().at > part.end) part.end = app.points.back().at;
    part.samples += app.points.size();
    part.apps.push_back(app);
  }
  std::vector<simulate::PolicyResult> results(parts.size());
  {
    std::vector<std::jthread> workers;
    for (std::size_t t = 0; t < parts.size(); ++t) {
      if (parts[t].apps.empty()) continue;
      workers.emplace_back([&, t] { results[t] = simulate::replay(parts[t], spec, options.replay); });
    }
  }
  simulate::PolicyResult out;
  for (auto& part : results) {
    for (auto& app : part.per_app) out.per_app.push_back(std::move(app));
  }
  return out;
}

// The apps of `trace` at `indices`, the span theirs.
simulate::Trace subset(const simulate::Trace& trace, const std::vector<std::size_t>& indices) {
  simulate::Trace part;
  for (const std::size_t i : indices) {
    const simulate::AppTrace& app = trace.apps[i];
    if (part.apps.empty() || app.points.front().at < part.start) part.start = app.points.front().at;
    if (part.apps.empty() || app.points.back().at > part.end) part.end = app.points.back().at;
    part.samples += app.points.size();
    part.apps.push_back(app);
  }
  return part;
}

// The product's policy with each app's own settings where Marathon's labels
// give them (--marathon-url; one env's apps: their ids are unique), the
// defaults otherwise.
simulate::PolicySpec labelledSpec(const AppsHistory& history, const simulate::RightsizePolicyOptions& policy) {
  std::map<std::string, sizing::AppSettings> settings;
  for (std::size_t i = 0; i < history.marathon.size() && i < history.trace.apps.size(); ++i) {
    if (history.marathon[i].settings) settings[history.trace.apps[i].app_id] = *history.marathon[i].settings;
  }
  if (settings.empty()) return simulate::rightsizePolicy(policy);
  return simulate::PolicySpec{"rightsize",
                              [policy, settings](const std::string& app_id, const simulate::Reservation& initial) {
                                simulate::RightsizePolicyOptions own = policy;
                                if (const auto it = settings.find(app_id); it != settings.end())
                                  own.settings = it->second;
                                return simulate::rightsizePolicy(own).make(app_id, initial);
                              }};
}

// Each app's replay, in the trace's order: on the report's defaults, or on
// its Marathon labels' settings (live apps); none for excluded apps.
std::vector<std::optional<simulate::AppResult>> replayHistory(const AppsHistory& history,
                                                              const simulate::RightsizePolicyOptions& policy,
                                                              const ReportOptions& options) {
  const std::size_t n = history.trace.apps.size();
  std::vector<std::optional<simulate::AppResult>> out(n);
  std::vector<std::size_t> plain, labelled;
  for (std::size_t i = 0; i < n; ++i) {
    const AppMarathon* marathon = history.marathon.empty() ? nullptr : &history.marathon[i];
    if (marathon != nullptr && marathon->state == "excluded") continue;
    if (marathon != nullptr && marathon->settings) {
      labelled.push_back(i);
    } else {
      plain.push_back(i);
    }
  }
  const auto run = [&](const std::vector<std::size_t>& indices, const simulate::PolicySpec& spec) {
    if (indices.empty()) return;
    simulate::PolicyResult result = replayApps(subset(history.trace, indices), spec, options);
    for (std::size_t k = 0; k < indices.size(); ++k) out[indices[k]] = std::move(result.per_app[k]);
  };
  run(plain, simulate::rightsizePolicy(policy));
  run(labelled, labelledSpec(history, policy));
  return out;
}

void addToTotals(ReportTotals& t, const AppReport& app) {
  // An app no longer in Marathon reserves nothing today.
  if (app.marathon == "gone") return;
  ++t.apps;
  t.reserved_cores += app.cpus * app.tasks;
  t.recommended_cores += app.recommended_cpus * app.tasks;
  t.reserved_gib += app.mem_mib.value_or(0) / 1024 * app.tasks;
  t.recommended_gib += app.recommended_mem_mib.value_or(0) / 1024 * app.tasks;
  t.core_hours_saved_per_month += app.core_hours_saved_per_month;
  t.gib_hours_saved_per_month += app.gib_hours_saved_per_month;
  if (app.money_saved_per_month)
    t.money_saved_per_month = t.money_saved_per_month.value_or(0) + *app.money_saved_per_month;
  t.redeploys += app.redeploys;
}

void sortApps(std::vector<AppReport>& apps) {
  std::stable_sort(apps.begin(), apps.end(), [](const AppReport& a, const AppReport& b) {
    return std::tie(a.env, a.app_id) < std::tie(b.env, b.app_id);
  });
}

}  // namespace

SeriesSource recordingRulesSource() {
  SeriesSource s;
  s.name = "recording rules";
  s.probe = "count(app:rightsize_container_cpu_reserved_cores:max{app_id!=\"\"})";
  s.cpu_used = "app:rightsize_container_cpu_used_cores:max_avg5m{{APPS}}";
  s.cpu_reserved = "app:rightsize_container_cpu_reserved_cores:max{{APPS}}";
  s.mem_used = "app:rightsize_container_memory_used_bytes:max_avg5m{{APPS}}";
  s.mem_reserved = "app:rightsize_container_memory_reserved_bytes:max{{APPS}}";
  s.tasks = "app:rightsize_container_cpu_reserved_cores:count{{APPS}}";
  s.apps = "count by (env, app_id) (count_over_time(app:rightsize_container_cpu_reserved_cores:max{{APPS}}[{RANGE}]))";
  return s;
}

SeriesSource agentSeriesSource() {
  SeriesSource s;
  s.name = "agent series";
  s.probe = "count(rightsize_container_cpu_reserved_cores{app_id!=\"\"})";
  s.cpu_used = "max by (env, app_id) (avg_over_time(rightsize_container_cpu_used_cores{{APPS}}[{STEP}]))";
  s.cpu_reserved = "max by (env, app_id) (max_over_time(rightsize_container_cpu_reserved_cores{{APPS}}[{STEP}]))";
  s.mem_used = "max by (env, app_id) (avg_over_time(rightsize_container_memory_used_bytes{{APPS}}[{STEP}]))";
  s.mem_reserved = "max by (env, app_id) (max_over_time(rightsize_container_memory_reserved_bytes{{APPS}}[{STEP}]))";
  s.tasks = "count by (env, app_id) (rightsize_container_cpu_reserved_cores{{APPS}})";
  s.apps = "count by (env, app_id) (count_over_time(rightsize_container_cpu_reserved_cores{{APPS}}[{RANGE}]))";
  return s;
}

AppsHistory historyFromSeries(const QueryResult& cpu_used, const QueryResult& cpu_reserved, const QueryResult& mem_used,
                              const QueryResult& mem_reserved, const QueryResult& tasks, Duration /*step*/) {
  const auto used = byApp(cpu_used);
  const auto reserved = byApp(cpu_reserved);
  const auto memory = byApp(mem_used);
  const auto memory_reserved = byApp(mem_reserved);
  const auto task_counts = byApp(tasks);
  AppsHistory out;
  bool first = true;
  for (const auto& [key, cpu_points] : used) {
    const std::vector<Point>& cpu = *cpu_points.points;
    const auto reservations = reserved.find(key);
    if (reservations == reserved.end()) continue;
    const auto* mem = memory.contains(key) ? memory.at(key).points : nullptr;
    const auto* mem_res = memory_reserved.contains(key) ? memory_reserved.at(key).points : nullptr;
    simulate::AppTrace app;
    app.app_id = key.second;
    app.points.reserve(cpu.size());
    std::size_t r_from = 0, m_from = 0, mr_from = 0;
    for (const Point& used_point : cpu) {
      const TimePoint at = used_point.at;
      const double cores = used_point.value;
      const Point* r = pointAt(*reservations->second.points, at, r_from);
      if (r == nullptr) continue;
      simulate::TracePoint point;
      point.at = at;
      point.cpu_used_cores = std::max(cores, 0.0);
      // Marathon's cpus: the container's figure less the command executor's.
      // Marathon keeps 3 decimals: what a reservation was set to.
      point.cpu_reserved_cores = std::max(std::round((r->value - sizing::kExecutorCpus) * 1000) / 1000, 0.001);
      if (mem != nullptr && mem_res != nullptr) {
        const Point* m = pointAt(*mem, at, m_from);
        const Point* mr = pointAt(*mem_res, at, mr_from);
        if (m != nullptr && mr != nullptr && mr->value > 0) {
          point.memory_used_mib = std::max(m->value, 0.0) / kMiB;
          point.memory_reserved_mib =
              std::max(std::round((mr->value / kMiB - sizing::kExecutorMemMib) * 1000) / 1000, 1.0);
        }
      }
      app.points.push_back(point);
    }
    if (app.points.empty()) continue;
    if (first || app.points.front().at < out.trace.start) out.trace.start = app.points.front().at;
    if (first || app.points.back().at > out.trace.end) out.trace.end = app.points.back().at;
    first = false;
    out.trace.samples += app.points.size();
    out.trace.apps.push_back(std::move(app));
    out.envs.push_back(key.first);
    int count = 1;
    if (const auto t = task_counts.find(key); t != task_counts.end() && !t->second.points->empty()) {
      count = std::max(1, static_cast<int>(std::lround(t->second.points->back().value)));
    }
    out.tasks.push_back(count);
  }
  return out;
}

FleetReport reportFromHistory(const AppsHistory& history, const ReportOptions& options) {
  FleetReport report;
  report.start = history.trace.start;
  report.end = history.trace.end;
  report.step = options.step;
  if (history.trace.apps.empty()) return report;
  simulate::RightsizePolicyOptions policy = options.policy;
  // Every app its own slot: each app's own recommendation.
  policy.max_concurrent_deployments = std::max<std::size_t>(1000, history.trace.apps.size());
  const auto results = replayHistory(history, policy, options);
  for (std::size_t i = 0; i < history.trace.apps.size(); ++i) {
    const simulate::AppTrace& trace = history.trace.apps[i];
    AppReport app;
    app.env = history.envs[i];
    app.app_id = trace.app_id;
    app.tasks = history.tasks[i];
    const simulate::TracePoint& last = trace.points.back();
    app.cpus = last.cpu_reserved_cores;
    app.mem_mib = last.memory_reserved_mib;
    if (!history.marathon.empty()) {
      const AppMarathon& marathon = history.marathon[i];
      app.marathon = marathon.state;
      if (marathon.state == "live" || marathon.state == "excluded") {
        // Today's reservation as Marathon has it: no executor's share to guess.
        app.cpus = marathon.cpus;
        app.mem_mib = marathon.mem_mib;
        app.tasks = marathon.instances;
      }
    }
    if (results[i]) {
      const simulate::AppResult& replayed = *results[i];
      app.recommended_cpus = replayed.final_reservation.cpus;
      if (app.mem_mib) app.recommended_mem_mib = replayed.final_reservation.mem_mib.value_or(*app.mem_mib);
      app.recommended_cpus_limit = replayed.final_reservation.cpus_limit;
      if (app.mem_mib) app.recommended_mem_limit_mib = replayed.final_reservation.mem_limit_mib;
      app.redeploys = replayed.redeploys;
      app.oom_kills = replayed.oom_kills;
    } else {
      // Excluded: the sizer leaves it as it is.
      app.recommended_cpus = app.cpus;
      app.recommended_mem_mib = app.mem_mib;
    }
    std::vector<double> cpu;
    cpu.reserve(trace.points.size());
    std::optional<double> peak;
    for (const auto& point : trace.points) {
      cpu.push_back(point.cpu_used_cores);
      if (point.memory_used_mib && point.at >= last.at - std::chrono::days(7)) {
        peak = std::max(peak.value_or(0), *point.memory_used_mib);
      }
    }
    app.cpu_p95 = nearestRank(std::move(cpu), 0.95);
    app.mem_peak_mib = peak;
    const Duration span = last.at - trace.points.front().at;
    app.history_seconds = toSeconds(span);
    const double steps = std::floor(toSeconds(span) / toSeconds(options.step)) + 1;
    app.coverage = std::min(1.0, static_cast<double>(trace.points.size()) / steps);
    app.confidence = std::min(1.0, toSeconds(span) / toSeconds(std::chrono::days(7))) * app.coverage;
    app.confidence_label = app.confidence >= 0.8 ? "high" : app.confidence >= 0.4 ? "medium" : "low";
    app.core_hours_saved_per_month = (app.cpus - app.recommended_cpus) * app.tasks * kHoursPerMonth;
    if (app.mem_mib && app.recommended_mem_mib) {
      app.gib_hours_saved_per_month = (*app.mem_mib - *app.recommended_mem_mib) / 1024 * app.tasks * kHoursPerMonth;
    }
    if (options.core_hour_price || options.gib_hour_price) {
      app.money_saved_per_month = app.core_hours_saved_per_month * options.core_hour_price.value_or(0) +
                                  app.gib_hours_saved_per_month * options.gib_hour_price.value_or(0);
    }
    addToTotals(report.totals, app);
    report.apps.push_back(std::move(app));
  }
  sortApps(report.apps);
  if (options.plots)
    report.plots = plotReplays(history, report, labelledSpec(history, policy), options, report.warnings);
  return report;
}

namespace {

constexpr std::size_t kSeriesRead = 5;  // cpu_used, cpu_reserved, mem_used, mem_reserved, tasks

// What reading the series gives besides the apps' history: the points that
// were not finite numbers, per series, and Prometheus' warnings.
struct ReadNotes {
  std::array<std::size_t, kSeriesRead> dropped{};
  std::vector<std::string> warnings;
  // Another reading's notes, after this one's.
  void join(ReadNotes& other) {
    for (std::size_t i = 0; i < kSeriesRead; ++i) dropped[i] += other.dropped[i];
    for (auto& text : other.warnings) {
      if (std::find(warnings.begin(), warnings.end(), text) == warnings.end()) warnings.push_back(std::move(text));
    }
  }
  void add(std::size_t series, QueryResult& result) {
    dropped[series] += result.dropped_points;
    for (auto& warning : result.warnings) {
      std::string text = "Prometheus: " + warning;
      if (std::find(warnings.begin(), warnings.end(), text) == warnings.end()) warnings.push_back(std::move(text));
    }
  }
};

// A regex (RE2's, Prometheus' own) matching exactly `ids`.
std::string literalRegex(const std::set<std::string>& ids) {
  std::string out;
  for (const std::string& id : ids) {
    if (!out.empty()) out += '|';
    for (const char c : id) {
      if (std::string_view(R"(\.+*?()|[]{}^$)").find(c) != std::string_view::npos) out += '\\';
      out += c;
    }
  }
  return out;
}

// The history of the apps `options.apps_regex` names, `series` of them
// expected (the answers' cut): CPU and memory, used and reserved, at every
// step of [start, now]; the tasks only where the report uses them, at their
// last point: an instant query at the last step gives it for the apps
// running then, a range query over the others only (usually none) the rest.
Expected<AppsHistory> readHistory(PrometheusClient& prometheus, const SeriesSource& source,
                                  const ReportOptions& options, TimePoint start, TimePoint now, std::size_t series,
                                  ReadNotes& notes) {
  std::vector<QueryResult> results;
  std::size_t index = 0;
  for (const std::string* query : {&source.cpu_used, &source.cpu_reserved, &source.mem_used, &source.mem_reserved}) {
    auto result = prometheus.queryRange(expand(*query, options), start, now, options.step, series);
    if (!result) return result.error();
    notes.add(index++, *result);
    results.push_back(std::move(*result));
  }
  const TimePoint last = start + ((now - start) / options.step) * options.step;
  auto tasks = prometheus.query(expand(source.tasks, options), last);
  if (!tasks) return tasks.error();
  notes.add(index, *tasks);
  std::set<Key> counted, reserved;
  for (const Series& counts : tasks->series) {
    if (!counts.points.empty()) counted.insert(keyOf(counts));
  }
  for (const Series& reservations : results[1].series) {
    if (!reservations.points.empty()) reserved.insert(keyOf(reservations));
  }
  std::set<std::string> uncounted;
  std::size_t uncounted_series = 0;
  for (const Series& used : results[0].series) {
    const Key key = keyOf(used);
    if (key.second.empty() || used.points.empty() || !reserved.contains(key) || counted.contains(key)) continue;
    uncounted.insert(key.second);
    ++uncounted_series;
  }
  if (!uncounted.empty()) {
    ReportOptions only = options;
    only.apps_regex = literalRegex(uncounted);
    auto rest = prometheus.queryRange(expand(source.tasks, only), start, now, options.step, uncounted_series);
    if (!rest) return rest.error();
    notes.add(index, *rest);
    for (Series& counts : rest->series) tasks->series.push_back(std::move(counts));
  }
  return historyFromSeries(results[0], results[1], results[2], results[3], *tasks, options.step);
}

// The groups' replays, each on one thread (the apps replay independently:
// the same results as all at once), `workers` threads of them while the
// groups are read, and the reader's own once it is done or when more than
// a few groups wait (their histories are what the report's memory holds);
// with no workers, the reader replays each group as it is read.
class GroupReplays {
 public:
  GroupReplays(const ReportOptions& options, std::size_t groups, std::size_t workers)
      : options_(options), reports_(groups) {
    options_.threads = 1;
    for (std::size_t i = 0; i < workers; ++i) workers_.emplace_back([this] { work(false); });
  }
  // Unfinished (a read failed): the waiting groups are dropped.
  ~GroupReplays() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
      waiting_.clear();
    }
    ready_.notify_all();
  }

  void add(std::size_t group, AppsHistory history) {
    {
      std::lock_guard lock(mutex_);
      waiting_.emplace_back(group, std::move(history));
    }
    ready_.notify_one();
    // Far ahead of the replays (or alone): the reader replays one itself.
    std::unique_lock lock(mutex_);
    if (workers_.empty() || waiting_.size() > kMostWaiting) replayOne(lock);
  }

  // Every group replayed (the reader taking its share), in the groups' order.
  std::vector<FleetReport> finish() {
    {
      std::lock_guard lock(mutex_);
      if (done_) return std::move(reports_);
      done_ = true;
    }
    ready_.notify_all();
    work(true);
    workers_.clear();  // joined
    return std::move(reports_);
  }

 private:
  static constexpr std::size_t kMostWaiting = 2;

  // Takes the oldest waiting group and replays it, `lock` released meanwhile.
  void replayOne(std::unique_lock<std::mutex>& lock) {
    auto [group, history] = std::move(waiting_.front());
    waiting_.pop_front();
    lock.unlock();
    FleetReport report = reportFromHistory(history, options_);
    lock.lock();
    reports_[group] = std::move(report);
  }

  void work(bool reader) {
    std::unique_lock lock(mutex_);
    while (true) {
      if (!reader) ready_.wait(lock, [this] { return done_ || !waiting_.empty(); });
      if (waiting_.empty()) return;
      replayOne(lock);
    }
  }

  ReportOptions options_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::pair<std::size_t, AppsHistory>> waiting_;
  bool done_ = false;
  std::vector<FleetReport> reports_;
  std::vector<std::jthread> workers_;  // last: joined before the rest goes
};

// The apps of `listed` (an answer by env and app_id) cut into groups whose
// series fit one answer over the whole history where the cut allows: the
// regex naming each group's app ids, and how many series it has.
std::vector<std::pair<std::string, std::size_t>> appGroups(const QueryResult& listed, std::size_t per_group) {
  std::map<std::string, std::size_t> series_of;  // app id -> its envs
  for (const Series& series : listed.series) {
    const Key key = keyOf(series);
    if (!key.second.empty()) ++series_of[key.second];
  }
  std::vector<std::pair<std::string, std::size_t>> out;
  std::set<std::string> ids;
  std::size_t series = 0;
  for (const auto& [id, envs] : series_of) {
    if (!ids.empty() && series + envs > per_group) {
      out.emplace_back(literalRegex(ids), series);
      ids.clear();
      series = 0;
    }
    ids.insert(id);
    series += envs;
  }
  if (!ids.empty()) out.emplace_back(literalRegex(ids), series);
  return out;
}

}  // namespace

Expected<FleetReport> buildReport(PrometheusClient& prometheus, const ReportOptions& options, TimePoint now,
                                  sizing::MarathonClient* marathon) {
  const auto began = std::chrono::steady_clock::now();
  const TimePoint start = now - options.history;
  if (Status valid = validCadvisorAppLabel(options.cadvisor_app_label); !valid) return valid.error();
  SeriesSource source = recordingRulesSource();
  std::size_t series = 0;
  for (const SeriesSource& candidate :
       {recordingRulesSource(), agentSeriesSource(), cadvisorSource(options.cadvisor_app_label)}) {
    auto probe = prometheus.query(candidate.probe, now);
    if (!probe) return probe.error();
    if (!probe->series.empty() && !probe->series.front().points.empty() &&
        probe->series.front().points.front().value > 0) {
      source = candidate;
      series = static_cast<std::size_t>(probe->series.front().points.front().value);
      break;
    }
  }
  if (series == 0) {
    return Error(ErrorKind::kMissingField,
                 "Prometheus at " + redactUrl(prometheus.url()) +
                     " has no rightsize series (neither the recording rules of deploy/prometheus/rules/apps.yml, "
                     "nor the agents' rightsize_container_* series, nor cAdvisor's container_* series with a " +
                     options.cadvisor_app_label + " label)");
  }
  // By groups of apps, each replayed while the next is read: not with
  // Marathon nor the HTML page's plots, which need every app's history.
  std::vector<std::pair<std::string, std::size_t>> groups;
  if (!source.apps.empty() && marathon == nullptr && !options.plots) {
    // Every app with a point in the history: its range from a step (and
    // Prometheus' lookback) before the start; listed once too many costs
    // a group nothing but the query's selector.
    const auto range = std::chrono::duration_cast<std::chrono::seconds>(options.history + std::chrono::hours(1));
    auto listed =
        prometheus.query(replaceAll(expand(source.apps, options), "{RANGE}", std::to_string(range.count()) + "s"), now);
    if (!listed) return listed.error();
    const auto steps = static_cast<std::size_t>((now - start) / options.step) + 1;
    const PrometheusOptions& cut = prometheus.options();
    const std::size_t per_group = std::max<std::size_t>(
        1, cut.max_points_per_query / std::max<std::size_t>(1, std::min(steps, cut.max_points_per_series)));
    groups = appGroups(*listed, per_group);
  }
  ReadNotes notes;
  std::size_t extra_queries = 0;  // the other readers' clients'
  FleetReport report;
  std::vector<AppReport> without_history;
  std::vector<std::string> warnings;
  if (groups.size() > 1) {
    const std::size_t threads =
        options.threads > 0 ? options.threads : std::max(1U, std::thread::hardware_concurrency());
    // The readers read (Prometheus answering on other cores) while the
    // others replay: reader r the groups g with g % readers == r, each with
    // its own client (a client takes one call at a time) and the groups'
    // notes kept apart, joined in the groups' order.
    GroupReplays replays(options, groups.size(), threads - 1);
    const std::size_t readers = std::clamp<std::size_t>(options.concurrent_queries, 1, groups.size());
    std::vector<std::unique_ptr<PrometheusClient>> clients;
    for (std::size_t r = 1; r < readers; ++r) {
      clients.push_back(std::make_unique<PrometheusClient>(prometheus.http(), prometheus.options()));
    }
    std::vector<ReadNotes> group_notes(groups.size());
    std::vector<std::optional<Error>> errors(readers);
    std::atomic<bool> failed = false;
    const auto read_groups = [&](std::size_t r) {
      PrometheusClient& client = r == 0 ? prometheus : *clients[r - 1];
      for (std::size_t g = r; g < groups.size() && !failed; g += readers) {
        ReportOptions group = options;
        group.apps_regex = groups[g].first;
        auto history = readHistory(client, source, group, start, now, groups[g].second, group_notes[g]);
        if (!history) {
          errors[r] = history.error();
          failed = true;
          return;
        }
        replays.add(g, std::move(*history));
      }
    };
    {
      std::vector<std::jthread> others;
      for (std::size_t r = 1; r < readers; ++r) others.emplace_back(read_groups, r);
      read_groups(0);
    }
    for (const auto& error : errors) {
      if (error) return *error;
    }
    for (ReadNotes& one : group_notes) notes.join(one);
    for (const auto& client : clients) extra_queries += client->queriesSent();
    const auto read = std::chrono::steady_clock::now();
    std::vector<FleetReport> parts = replays.finish();
    for (FleetReport& part : parts) {
      for (AppReport& app : part.apps) report.apps.push_back(std::move(app));
      for (std::string& warning : part.warnings) report.warnings.push_back(std::move(warning));
    }
    // As one history's report: the apps by (env, app id), the totals summed
    // in that order.
    sortApps(report.apps);
    for (const AppReport& app : report.apps) addToTotals(report.totals, app);
    report.reading = std::chrono::duration_cast<Duration>(read - began);
    report.replaying = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - read);
  } else {
    auto history = readHistory(prometheus, source, options, start, now, series, notes);
    if (!history) return history.error();
    if (marathon != nullptr) {
      auto apps = marathon->listApps();
      if (!apps) return apps.error().withContext("reading Marathon's apps (--marathon-url)");
      auto env = marathonEnv(*history, options);
      if (!env) return env.error();
      without_history = matchMarathonApps(*history, *apps, *env, options, warnings);
    }
    const auto read = std::chrono::steady_clock::now();
    report = reportFromHistory(*history, options);
    report.reading = std::chrono::duration_cast<Duration>(read - began);
    report.replaying = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - read);
  }
  std::vector<std::string> read_warnings = std::move(notes.warnings);
  std::size_t index = 0;
  for (const std::string* query :
       {&source.cpu_used, &source.cpu_reserved, &source.mem_used, &source.mem_reserved, &source.tasks}) {
    if (const std::size_t dropped = notes.dropped[index++]; dropped > 0) {
      read_warnings.push_back("Prometheus: " + std::to_string(dropped) + " points of " +
                              expand(*query, options).substr(0, 120) +
                              " were not finite numbers (NaN, Inf) and were left out");
    }
  }
  warnings.insert(warnings.begin(), read_warnings.begin(), read_warnings.end());
  for (AppReport& app : without_history) {
    addToTotals(report.totals, app);
    report.apps.push_back(std::move(app));
  }
  sortApps(report.apps);
  report.source = source.name;
  report.start = start;
  report.end = now;
  report.step = options.step;
  report.queries = prometheus.queriesSent() + extra_queries;
  report.warnings.insert(report.warnings.begin(), warnings.begin(), warnings.end());
  return report;
}

namespace {

// Sums of many figures carry the last bits of their additions
// (419.00000000000114): written to 6 decimals, far below any step.
void writeOptional(json::Writer& writer, std::string_view key, std::optional<double> value) {
  json::writeKey(writer, key);
  json::writeNumber(writer, value ? std::optional(std::round(*value * 1e6) / 1e6) : std::nullopt);
}

// A burstable app's limit as Marathon's resourceLimits has it: a number, or
// "unlimited"; nothing for an app without limits.
void writeLimit(json::Writer& writer, std::string_view key, std::optional<double> limit) {
  if (!limit) return;
  if (std::isinf(*limit)) {
    json::writeKey(writer, key);
    json::writeString(writer, "unlimited");
  } else {
    writeOptional(writer, key, limit);
  }
}

}  // namespace

std::string limitText(std::optional<double> limit, int decimals) {
  if (!limit) return {};
  return std::isinf(*limit) ? "unlimited" : decimals < 0 ? formatRounded(*limit, 3) : formatFixed(*limit, decimals);
}

std::string reportJson(const FleetReport& report) {
  rapidjson::StringBuffer buffer;
  json::Writer writer(buffer);
  writer.StartObject();
  json::writeKey(writer, "source");
  json::writeString(writer, report.source);
  writeOptional(writer, "start", toUnixSeconds(report.start));
  writeOptional(writer, "end", toUnixSeconds(report.end));
  writeOptional(writer, "step_seconds", toSeconds(report.step));
  json::writeKey(writer, "totals");
  writer.StartObject();
  const ReportTotals& t = report.totals;
  json::writeKey(writer, "apps");
  writer.Uint64(t.apps);
  writeOptional(writer, "reserved_cores", t.reserved_cores);
  writeOptional(writer, "recommended_cores", t.recommended_cores);
  writeOptional(writer, "reserved_gib", t.reserved_gib);
  writeOptional(writer, "recommended_gib", t.recommended_gib);
  writeOptional(writer, "core_hours_saved_per_month", t.core_hours_saved_per_month);
  writeOptional(writer, "gib_hours_saved_per_month", t.gib_hours_saved_per_month);
  writeOptional(writer, "money_saved_per_month", t.money_saved_per_month);
  json::writeKey(writer, "redeploys");
  writer.Uint64(t.redeploys);
  writer.EndObject();
  json::writeKey(writer, "apps");
  writer.StartArray();
  for (const AppReport& app : report.apps) {
    writer.StartObject();
    json::writeKey(writer, "app_id");
    json::writeString(writer, app.app_id);
    if (!app.env.empty()) {
      json::writeKey(writer, "env");
      json::writeString(writer, app.env);
    }
    if (!app.marathon.empty()) {
      json::writeKey(writer, "marathon");
      json::writeString(writer, app.marathon);
    }
    json::writeKey(writer, "tasks");
    writer.Int(app.tasks);
    writeOptional(writer, "cpus", app.cpus);
    writeOptional(writer, "mem", app.mem_mib);
    writeOptional(writer, "recommended_cpus", app.recommended_cpus);
    writeOptional(writer, "recommended_mem", app.recommended_mem_mib);
    if (app.recommended_cpus_limit || app.recommended_mem_limit_mib) {
      // As the sizer's /v1/apps has them: Marathon's resourceLimits' keys.
      json::writeKey(writer, "recommended_limits");
      writer.StartObject();
      writeLimit(writer, "cpus", app.recommended_cpus_limit);
      writeLimit(writer, "mem", app.recommended_mem_limit_mib);
      writer.EndObject();
    }
    writeOptional(writer, "cpu_p95", app.cpu_p95);
    writeOptional(writer, "mem_peak", app.mem_peak_mib);
    writeOptional(writer, "history_seconds", app.history_seconds);
    writeOptional(writer, "coverage", app.coverage);
    writeOptional(writer, "confidence", app.confidence);
    json::writeKey(writer, "confidence_label");
    json::writeString(writer, app.confidence_label);
    json::writeKey(writer, "redeploys");
    writer.Uint64(app.redeploys);
    json::writeKey(writer, "oom_kills");
    writer.Uint64(app.oom_kills);
    writeOptional(writer, "core_hours_saved_per_month", app.core_hours_saved_per_month);
    writeOptional(writer, "gib_hours_saved_per_month", app.gib_hours_saved_per_month);
    writeOptional(writer, "money_saved_per_month", app.money_saved_per_month);
    writer.EndObject();
  }
  writer.EndArray();
  json::writeKey(writer, "warnings");
  writer.StartArray();
  for (const auto& warning : report.warnings) json::writeString(writer, warning);
  writer.EndArray();
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

namespace {

std::string optionalText(std::optional<double> value, int decimals) {
  return value ? formatFixed(*value, decimals) : std::string();
}

}  // namespace

std::string reportCsv(const FleetReport& report) {
  std::string out =
      "env,app_id,tasks,cpus,mem_mib,recommended_cpus,recommended_mem_mib,cpu_p95,mem_peak_mib,history_seconds,"
      "coverage,confidence,redeploys,oom_kills,core_hours_saved_per_month,gib_hours_saved_per_month,"
      "money_saved_per_month,marathon,recommended_cpus_limit,recommended_mem_limit_mib\n";
  for (const AppReport& app : report.apps) {
    out += csvField(app.env) + "," + csvField(app.app_id) + "," + std::to_string(app.tasks) + "," +
           formatRounded(app.cpus, 3) + "," + optionalText(app.mem_mib, 0) + "," +
           formatRounded(app.recommended_cpus, 3) + "," + optionalText(app.recommended_mem_mib, 0) + "," +
           formatFixed(app.cpu_p95, 3) + "," + optionalText(app.mem_peak_mib, 0) + "," +
           formatFixed(app.history_seconds, 0) + "," + formatFixed(app.coverage, 3) + "," +
           formatFixed(app.confidence, 2) + "," + std::to_string(app.redeploys) + "," + std::to_string(app.oom_kills) +
           "," + formatFixed(app.core_hours_saved_per_month, 1) + "," + formatFixed(app.gib_hours_saved_per_month, 1) +
           "," + optionalText(app.money_saved_per_month, 2) + "," + csvField(app.marathon) + "," +
           limitText(app.recommended_cpus_limit, -1) + "," + limitText(app.recommended_mem_limit_mib, 0) + "\n";
  }
  return out;
}

std::string reportTable(const FleetReport& report) {
  const ReportTotals& t = report.totals;
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%zu apps from %s (%s), %.1f days at %s steps\n", t.apps, report.source.c_str(),
                report.queries == 1 ? "1 query" : (std::to_string(report.queries) + " queries").c_str(),
                toSeconds(report.end - report.start) / 86400,
                formatDuration(std::chrono::duration_cast<std::chrono::seconds>(report.step)).c_str());
  out += line;
  std::snprintf(line, sizeof line,
                "reserved %s cores -> %s recommended; %s GiB -> %s; saves %s core-hours and %s GiB-hours a month",
                formatFixed(t.reserved_cores, 1).c_str(), formatFixed(t.recommended_cores, 1).c_str(),
                formatFixed(t.reserved_gib, 1).c_str(), formatFixed(t.recommended_gib, 1).c_str(),
                formatFixed(t.core_hours_saved_per_month, 0).c_str(),
                formatFixed(t.gib_hours_saved_per_month, 0).c_str());
  out += line;
  if (t.money_saved_per_month) out += " (" + formatFixed(*t.money_saved_per_month, 2) + " a month)";
  out += "; " + std::to_string(t.redeploys) + " redeploys over the history\n\n";
  std::snprintf(line, sizeof line, "%-32s %5s %7s %8s %9s %9s %8s %9s %-6s %9s %12s %11s\n", "app", "tasks", "cpus",
                "-> cpus", "mem MiB", "-> mem", "cpu p95", "history", "conf.", "redeploys", "core-h/month",
                "GiB-h/month");
  out += line;
  for (const AppReport& app : report.apps) {
    const std::string name = app.env.empty() ? app.app_id : app.env + ":" + app.app_id;
    std::snprintf(line, sizeof line, "%-32s %5d %7s %8s %9s %9s %8s %8.1fd %-6s %9zu %12s %11s\n", name.c_str(),
                  app.tasks, formatRounded(app.cpus, 3).c_str(), formatRounded(app.recommended_cpus, 3).c_str(),
                  optionalText(app.mem_mib, 0).c_str(), optionalText(app.recommended_mem_mib, 0).c_str(),
                  formatFixed(app.cpu_p95, 2).c_str(), app.history_seconds / 86400, app.confidence_label.c_str(),
                  app.redeploys, formatFixed(app.core_hours_saved_per_month, 0).c_str(),
                  formatFixed(app.gib_hours_saved_per_month, 0).c_str());
    out += line;
    // A burstable app's limits, and what Marathon says of it when it is not
    // simply there.
    std::string limits;
    if (app.recommended_cpus_limit) limits += ", " + limitText(app.recommended_cpus_limit, -1) + " cpus";
    if (app.recommended_mem_limit_mib) limits += ", " + limitText(app.recommended_mem_limit_mib, 0) + " MiB";
    if (!limits.empty()) out.insert(out.size() - 1, "  limits -> " + limits.substr(2));
    if (!app.marathon.empty() && app.marathon != "live") out.insert(out.size() - 1, "  (" + app.marathon + ")");
  }
  return out;
}

}  // namespace rightsize::report
